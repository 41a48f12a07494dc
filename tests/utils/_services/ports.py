"""Who holds a TCP port: so an occupied port yields an error naming the holder."""

from __future__ import annotations

import socket
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


def free_port() -> int:
    """A loopback port nothing listens on at this moment (the kernel's pick). Another
    process may take it before it is used: for private stacks and closed-port tests, where
    a clash fails loud (the port is refused or found held), never silently."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_port_holder(port: int, host: str = "127.0.0.1") -> PortHolder | None:
    """The process listening on `port` (any address that covers `host`), or None if free."""
    import psutil

    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        conns = []
    pids: list[int | None] = []
    for conn in conns:
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or conn.laddr.port != port:
            continue
        if conn.laddr.ip not in (host, "0.0.0.0", "::", "::ffff:" + host, "::1"):
            continue
        pids.append(conn.pid)
    if pids:
        pid = _owner(pids, port)
        if pid is None:
            return PortHolder(None, None, None)
        try:
            proc = psutil.Process(pid)
            cmdline = " ".join(proc.cmdline())[:200]
            return PortHolder(pid, proc.name(), cmdline or None)
        except psutil.Error:
            return PortHolder(pid, None, None)
    if _port_in_use(host, port):
        return PortHolder(None, None, None)
    return None


def _owner(pids: list[int | None], port: int) -> int | None:
    """The listener's owner: psutil names one process per socket, and a process forking
    (any thread of the holder starting a subprocess) holds a copy of every descriptor until
    its exec, under the parent's command line; so climb while the parent listens too."""
    import psutil

    pid = next((p for p in pids if p is not None), None)
    while pid is not None:
        try:
            parent = psutil.Process(pid).parent()
            if parent is None or not any(
                c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                for c in parent.net_connections(kind="tcp")
            ):
                return pid
        except psutil.Error:
            return pid
        pid = parent.pid
    return None


def _port_in_use(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False
