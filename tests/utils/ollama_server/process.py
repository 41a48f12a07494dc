"""Start and stop the server as a child process: PID recorded, readiness from its ready line.

Used by this project's tests and benchmarks, and usable by the service stack: the server
prints its ready line only once the model is warm and the port listens, so waiting for that
line (with a deadline) is an honest readiness check. Each server is recorded in the toolkit's
state file (before the spawn, like the stack's own servers), so a starter killed by SIGKILL
leaves a server the next run's reap stops by its verified identity.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.utils._services.ports import free_port

from . import READY_PREFIX, REPO_ROOT, server_command

START_DEADLINE_S = 120.0
STOP_DEADLINE_S = 20.0


@dataclass
class RunningServer:
    """A started server process: its URL, PID, log and how long it took to be ready."""

    url: str
    port: int
    process: subprocess.Popen[str]
    log_path: Path
    ready_s: float
    _record: Any = field(default=None, repr=False)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_server(
    log_dir: Path, *, embeddings: bool = True, port: int | None = None
) -> RunningServer:
    """Start a server and wait (with a deadline) for its ready line; raise with its log."""
    port = port or free_port()
    log_path = log_dir / f"ollama-server-{port}.log"
    argv = server_command("127.0.0.1", port, embeddings=embeddings)
    started = time.perf_counter()
    record = _own_record(port)
    try:
        with log_path.open("w") as log:
            process = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
    except BaseException:
        record.forget()
        raise
    record.spawned(process.pid, argv)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    server = RunningServer(f"http://127.0.0.1:{port}", port, process, log_path, 0.0, record)
    deadline = started + START_DEADLINE_S
    while time.perf_counter() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if line.startswith(READY_PREFIX):
            server.ready_s = time.perf_counter() - started
            return server
    stop_server(server)
    raise RuntimeError(
        f"local Ollama-API server (pid {process.pid}) not ready within {START_DEADLINE_S:.0f} s "
        f"(exit code {process.returncode}); log:\n{server.log_tail()}"
    )


def stop_server(server: RunningServer) -> int:
    """SIGTERM the PID, SIGKILL after a deadline; returns the exit code."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_DEADLINE_S)
    if server._record is not None:
        server._record.forget()
    return int(process.returncode)


def _own_record(port: int) -> Any:
    from tests.utils._services.registry import OwnRecord
    from tests.utils._services.settings import load_settings

    return OwnRecord(load_settings().state_dir, "ollama-server", f"127.0.0.1:{port}")
