"""Who holds a TCP port: so an occupied port yields an error naming the holder."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PortHolder:
    pid: int | None
    name: str | None
    cmdline: str | None

    def describe(self) -> str:
        if self.pid is None:
            return "an unidentified process (not visible to this user; try `ss -ltnp`)"
        cmd = f": {self.cmdline}" if self.cmdline else ""
        return f"pid {self.pid} ({self.name or '?'}){cmd}"


def find_port_holder(port: int, host: str = "127.0.0.1") -> PortHolder | None:
    """The process listening on `port` (any address that covers `host`), or None if free."""
    import psutil

    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        conns = []
    for conn in conns:
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or conn.laddr.port != port:
            continue
        if conn.laddr.ip not in (host, "0.0.0.0", "::", "::ffff:" + host, "::1"):
            continue
        if conn.pid is None:
            return PortHolder(None, None, None)
        try:
            proc = psutil.Process(conn.pid)
            cmdline = " ".join(proc.cmdline())[:200]
            return PortHolder(conn.pid, proc.name(), cmdline or None)
        except psutil.Error:
            return PortHolder(conn.pid, None, None)
    if _port_in_use(host, port):
        return PortHolder(None, None, None)
    return None


def _port_in_use(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False
