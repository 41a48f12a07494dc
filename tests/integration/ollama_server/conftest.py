"""A real local Ollama-API server process for this directory's tests.

These tests are about the server itself, so they start their own instance on a free
loopback port (never the stack's 11435, which may be a real Ollama) and stop it by PID.
Readiness is the server's own "ready" line (printed only once the model is warm), polled
with a deadline. When the server cannot run here the tests skip with the reason, and fail
under CI=true or --require-services.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import tests.utils.ollama_server as local

START_DEADLINE_S = 120.0
EMBED_DEADLINE_S = 240.0
STOP_DEADLINE_S = 20.0


@dataclass
class RunningServer:
    """A started server process: its URL, PID, log and how long it took to be ready."""

    url: str
    port: int
    process: subprocess.Popen[str]
    log_path: Path
    ready_s: float

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _required(config: pytest.Config) -> bool:
    return os.environ.get("CI") == "true" or bool(config.getoption("--require-services", False))


def start_server(log_dir: Path, *, embeddings: bool = True) -> RunningServer:
    """Start a server and wait (with a deadline) for its ready line; fail with its log."""
    port = free_port()
    log_path = log_dir / f"ollama-server-{port}.log"
    argv = local.server_command("127.0.0.1", port, embeddings=embeddings)
    started = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            argv,
            cwd=local.REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    server = RunningServer(f"http://127.0.0.1:{port}", port, process, log_path, 0.0)
    deadline = started + START_DEADLINE_S
    while time.perf_counter() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if line.startswith(local.READY_PREFIX):
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
    return int(process.returncode)


@pytest.fixture(scope="session")
def ollama_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    ok, reason = local.is_available()
    if not ok:
        if _required(request.config):
            pytest.fail(f"local Ollama-API server required but unavailable: {reason}")
        pytest.skip(f"local Ollama-API server unavailable: {reason}")
    server = start_server(tmp_path_factory.mktemp("ollama-server"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def base_url(ollama_server: RunningServer) -> str:
    return ollama_server.url


@pytest.fixture(scope="session")
def embed_model(request: pytest.FixtureRequest, ollama_server: RunningServer) -> str:
    """The embedding model's name, once the server lists it (it loads after the LLM)."""
    from tests.utils.ollama_server.embeddings import missing_dependency

    missing = missing_dependency()
    if missing is not None:
        if _required(request.config):
            pytest.fail(f"embedding model required but unavailable: {missing}")
        pytest.skip(f"embedding model unavailable: {missing}")
    deadline = time.perf_counter() + EMBED_DEADLINE_S
    delay = 0.1
    while time.perf_counter() < deadline:
        names = [m["name"] for m in httpx.get(f"{ollama_server.url}/api/tags").json()["models"]]
        if local.EMBED_MODEL in names:
            return local.EMBED_MODEL
        if ollama_server.process.poll() is not None:
            break
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    pytest.fail(
        f"{local.EMBED_MODEL} not listed within {EMBED_DEADLINE_S:.0f} s; server log:\n"
        f"{ollama_server.log_tail()}"
    )
