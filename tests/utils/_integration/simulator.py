"""`ErrorSimulator`: real faults (signals to the service processes the toolkit started,
held ports, the loopback proxies), each undone after the test."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .proxies import (
    CorruptFn,
    FaultError,
    LLMOutputCorrupter,
    TcpFaultProxy,
    _corrupt_truncate,
    _loopback_only,
)

if TYPE_CHECKING:
    from tests.utils._services.identity import ProcessIdentity
    from tests.utils._services.registry import ProcessRecord


def _status_pid(service: object) -> int:
    """The PID to fault, proven ours: a server the stack recorded (identity verified) or a
    descendant of this process. Anything else is refused, never signalled."""
    pid = getattr(service, "pid", None) if not isinstance(service, int) else service
    if pid is None:
        name = getattr(service, "service", service)
        backend = getattr(service, "backend", "?")
        raise FaultError(
            f"{name} (backend {backend}) has no process the toolkit started; refusing to "
            "signal a server somebody else runs"
        )
    pid = int(pid)
    import psutil

    from tests.utils._services.identity import Verdict
    from tests.utils._services.stack import default_stack

    for record in default_stack().registry.records().values():
        if record.pid == pid:
            verdict, why = record.verdict()
            if verdict is Verdict.SAME:
                return pid
            raise FaultError(f"refusing to signal pid {pid}: {why}")
    with contextlib.suppress(psutil.Error):
        if any(c.pid == pid for c in psutil.Process().children(recursive=True)):
            return pid
    raise FaultError(
        f"refusing to signal pid {pid}: it is neither a server the stack recorded nor a "
        "child of this process"
    )


def _stop_signal_for(pid: int, records: Iterable[ProcessRecord] | None = None) -> int:
    """The stop signal the service stack recorded for `pid`, else SIGTERM."""
    if records is None:
        from tests.utils._services.stack import default_stack

        records = default_stack().registry.records().values()
    for record in records:
        if record.pid == pid:
            return int(record.stop_signal)
    return int(signal.SIGTERM)


class ErrorSimulator:
    """Injects real faults; `restore_all()` (run after every IntegrationTestSuite test)
    undoes them in reverse order, and reports every undo that failed."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], object]]] = []  # results are ignored

    def __enter__(self) -> ErrorSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore_all()

    @property
    def active(self) -> list[str]:
        return [label for label, _ in self._undo]

    def _push(self, label: str, undo: Callable[[], object]) -> None:
        self._undo.append((label, undo))

    def restore_all(self) -> None:
        failures = []
        while self._undo:
            label, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:
                failures.append(f"{label}: {type(exc).__name__}: {exc}")
        if failures:
            raise FaultError("could not undo fault(s): " + "; ".join(failures))

    # -- processes -------------------------------------------------------------------------

    def pause_service(self, service: object) -> int:
        """SIGSTOP the service's process (a `ServiceStatus` or a PID we started): it keeps
        its port but answers nothing, like a hung server. Undone with SIGCONT."""
        pid = _status_pid(service)
        ident = _identity(pid)
        os.kill(pid, signal.SIGSTOP)
        self._push(f"pause pid {pid}", lambda: _signal_if_same(ident, signal.SIGCONT))
        return pid

    def resume_service(self, service: object) -> None:
        pid = _status_pid(service)
        _signal_if_same(_identity(pid), signal.SIGCONT)
        self._undo = [(lbl, u) for lbl, u in self._undo if lbl != f"pause pid {pid}"]

    def stop_service(
        self, service: object, *, restart: Callable[[], object], timeout: float = 30.0
    ) -> int:
        """Stop the service's process with its own stop signal and wait until it is gone;
        `restart` (e.g. the service plugin's ensure) brings it back when the fault is undone.

        The signal is the one the stack recorded when it started the server (PostgreSQL's is
        SIGINT, a fast shutdown: its SIGTERM waits for every client to disconnect)."""
        import psutil

        pid = _status_pid(service)
        proc = psutil.Process(pid)
        proc.send_signal(_stop_signal_for(pid))
        proc.wait(timeout)
        self._push(f"stop pid {pid}", lambda: restart())
        return pid

    # -- ports and connections ---------------------------------------------------------------

    def hold_port(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Bind and listen on `port` so nobody else can (a foreign holder); returns it."""
        _loopback_only(host)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            from tests.utils._services.ports import find_port_holder

            holder = find_port_holder(port, host)
            who = holder.describe() if holder else "unknown"
            raise FaultError(f"cannot hold {host}:{port}: {exc}; held by {who}") from None
        sock.listen(8)
        held = sock.getsockname()[1]
        self._push(f"hold port {held}", sock.close)
        return int(held)

    def tcp_proxy(
        self, target_host: str, target_port: int, *, latency: float = 0.0
    ) -> TcpFaultProxy:
        """A started loopback proxy to the target; point the client at `proxy.port`."""
        proxy = TcpFaultProxy(target_host, target_port, latency=latency).start()
        self._push(f"tcp proxy :{proxy.port}", proxy.stop)
        return proxy

    def add_latency(self, target_host: str, target_port: int, seconds: float) -> TcpFaultProxy:
        return self.tcp_proxy(target_host, target_port, latency=seconds)

    # -- the LLM ---------------------------------------------------------------------------

    def malformed_llm_output(
        self, upstream: str, corrupt: CorruptFn = _corrupt_truncate
    ) -> LLMOutputCorrupter:
        """A proxy whose `.url` serves the real model's answers, corrupted."""
        corrupter = LLMOutputCorrupter(upstream, corrupt).start()
        self._push(f"llm corrupter {corrupter.url}", corrupter.stop)
        return corrupter


def _identity(pid: int) -> ProcessIdentity | None:
    from tests.utils._services.identity import identify

    return identify(pid)


def _signal_if_same(identity: ProcessIdentity | None, sig: signal.Signals) -> None:
    """Signal the process only while it is still the one we faulted (a PID may be reused)."""
    from tests.utils._services.identity import Verdict, verify

    if identity is not None and verify(identity)[0] is Verdict.SAME:
        with contextlib.suppress(ProcessLookupError):
            os.kill(identity.pid, sig)
