"""ErrorSimulator: every fault is real (sockets, signals, HTTP) on loopback and is undone.

These run in the unit tier against throwaway loopback servers the tests start themselves;
tests/integration/toolkit runs the same faults against the real services."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psutil
import pytest

from tests.utils.integration_helpers import (
    ErrorSimulator,
    FaultError,
    LLMOutputCorrupter,
    wait_for_condition,
)


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()
    stop.set()
    thread.join(5)
    server.close()


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


def _round_trip(address: tuple[str, int], payload: bytes = b"ping", timeout: float = 10) -> bytes:
    with socket.create_connection(address, timeout=timeout) as client:
        client.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = client.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


@pytest.fixture
def sim() -> Iterator[ErrorSimulator]:
    simulator = ErrorSimulator()
    yield simulator
    simulator.restore_all()


# --- the TCP proxy --------------------------------------------------------------------------


def test_proxy_forwards_both_ways(sim: ErrorSimulator, echo_server: tuple[str, int]) -> None:
    proxy = sim.tcp_proxy(*echo_server)
    assert _round_trip(proxy.address, b"hello through the proxy") == b"hello through the proxy"
    assert proxy.connections == 1


def test_latency_is_added(sim: ErrorSimulator, echo_server: tuple[str, int]) -> None:
    direct_started = time.perf_counter()
    _round_trip(echo_server)
    direct = time.perf_counter() - direct_started
    proxy = sim.add_latency(*echo_server, seconds=0.2)
    started = time.perf_counter()
    assert _round_trip(proxy.address) == b"ping"
    assert time.perf_counter() - started >= 0.4 > direct  # 0.2 s each way


def test_drop_connections_cuts_live_sockets(
    sim: ErrorSimulator, echo_server: tuple[str, int]
) -> None:
    proxy = sim.tcp_proxy(*echo_server)
    client = socket.create_connection(proxy.address, timeout=10)
    client.sendall(b"a")
    assert client.recv(1) == b"a"
    assert proxy.drop_connections() == 2  # client side and server side
    with pytest.raises((ConnectionError, OSError)):
        client.sendall(b"b")
        if not client.recv(1):
            raise ConnectionResetError("closed")
    client.close()


def test_refuse_new_and_drop_after_bytes(sim: ErrorSimulator, echo_server: tuple[str, int]) -> None:
    proxy = sim.tcp_proxy(*echo_server)
    proxy.drop_after_bytes = 3
    assert _round_trip(proxy.address, b"abcdef") == b"abc"
    proxy.drop_after_bytes = None
    proxy.refuse_new = True
    try:
        answer = _round_trip(proxy.address, b"xyz")
    except ConnectionError:  # reset instead of a clean close: refused either way
        answer = b""
    assert answer == b""
    assert proxy.connections == 2


def test_proxy_is_stopped_on_restore(echo_server: tuple[str, int]) -> None:
    sim = ErrorSimulator()
    proxy = sim.tcp_proxy(*echo_server)
    assert sim.active == [f"tcp proxy :{proxy.port}"]
    sim.restore_all()
    assert sim.active == []
    with pytest.raises(OSError):
        socket.create_connection(proxy.address, timeout=2).close()


def test_proxy_only_forwards_to_loopback(sim: ErrorSimulator) -> None:
    with pytest.raises(FaultError, match="only forward to loopback"):
        sim.tcp_proxy("0.0.0.0", 5432)


# --- ports ----------------------------------------------------------------------------------


def test_hold_port_blocks_it_until_restored() -> None:
    sim = ErrorSimulator()
    port = sim.hold_port()
    other = socket.socket()
    with pytest.raises(OSError):
        other.bind(("127.0.0.1", port))
    other.close()
    with pytest.raises(FaultError, match=f"cannot hold 127.0.0.1:{port}"):
        sim.hold_port(port)
    sim.restore_all()
    again = socket.socket()
    again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    again.bind(("127.0.0.1", port))
    again.close()


# --- processes ------------------------------------------------------------------------------


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    yield proc
    proc.kill()
    proc.wait(10)


def test_pause_stops_and_restore_continues(child: subprocess.Popen[bytes]) -> None:
    sim = ErrorSimulator()
    status = type("Status", (), {"pid": child.pid, "service": "fake", "backend": "local"})()
    assert sim.pause_service(status) == child.pid
    wait_for_condition(
        lambda: psutil.Process(child.pid).status() == psutil.STATUS_STOPPED, timeout=10
    )
    sim.restore_all()
    wait_for_condition(
        lambda: psutil.Process(child.pid).status() != psutil.STATUS_STOPPED, timeout=10
    )


def test_resume_early_removes_the_undo(child: subprocess.Popen[bytes]) -> None:
    sim = ErrorSimulator()
    sim.pause_service(child.pid)
    sim.resume_service(child.pid)
    assert sim.active == []
    wait_for_condition(
        lambda: psutil.Process(child.pid).status() != psutil.STATUS_STOPPED, timeout=10
    )


def test_stop_service_terminates_and_restart_runs_on_restore(
    child: subprocess.Popen[bytes],
) -> None:
    restarted = []
    sim = ErrorSimulator()
    sim.stop_service(child.pid, restart=lambda: restarted.append(True))
    assert child.poll() is not None
    sim.restore_all()
    assert restarted == [True]


def test_refuses_services_it_did_not_start(sim: ErrorSimulator) -> None:
    foreign = type("Status", (), {"pid": None, "service": "postgresql", "backend": "running"})()
    with pytest.raises(FaultError, match="postgresql \\(backend running\\) has no process"):
        sim.pause_service(foreign)


def test_refuses_a_pid_that_is_neither_recorded_nor_a_child(sim: ErrorSimulator) -> None:
    """The refusal comes before any signal is sent. The foreign process is a sacrificial
    orphan of this test's own (a `sleep` whose parent shell has exited), never a real one
    such as PID 1: a broken check would pause only it."""
    import subprocess

    import psutil

    out = subprocess.run(
        ["sh", "-c", "sleep 120 >/dev/null 2>&1 & echo $!"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    orphan = psutil.Process(int(out.stdout))
    try:
        assert orphan.name() == "sleep"
        with pytest.raises(FaultError, match=f"refusing to signal pid {orphan.pid}: it is neither"):
            sim.pause_service(orphan.pid)
        assert sim.active == []
        assert orphan.status() != psutil.STATUS_STOPPED
    finally:
        orphan.kill()  # the Process object re-checks its identity (create time) first


def test_failed_undo_is_reported() -> None:
    sim = ErrorSimulator()
    sim._push("broken undo", lambda: 1 / 0)
    with pytest.raises(FaultError, match="broken undo: ZeroDivisionError"):
        sim.restore_all()
    assert sim.active == []


def test_context_manager_restores(echo_server: tuple[str, int]) -> None:
    with ErrorSimulator() as sim:
        proxy = sim.tcp_proxy(*echo_server)
        assert _round_trip(proxy.address) == b"ping"
    assert sim.active == []


# --- the LLM output corrupter ---------------------------------------------------------------


class _Upstream(BaseHTTPRequestHandler):
    """A loopback stand-in for the Ollama HTTP API shape (unit tier: no real LLM here)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/api/chat":
            payload = json.dumps({"message": {"role": "assistant", "content": '{"a": "xyz"}'}})
        elif body.get("stream"):
            parts = ['{"a"', ': "x', 'yz"}']
            lines = [json.dumps({"response": p, "done": False}) for p in parts]
            lines.append(json.dumps({"response": "", "done": True}))
            payload = "\n".join(lines) + "\n"
        else:
            payload = json.dumps({"response": '{"answer": "forty two"}', "done": True})
        data = payload.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        data = b'{"models": []}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_generate_answers_are_corrupted(sim: ErrorSimulator, upstream: str) -> None:
    import httpx

    corrupter = sim.malformed_llm_output(upstream)
    reply = httpx.post(corrupter.url + "/api/generate", json={"prompt": "p"}, timeout=10).json()
    assert reply["response"] == '{"answer": '  # half of the real text: invalid JSON
    with pytest.raises(ValueError):
        json.loads(reply["response"])
    assert corrupter.corrupted == 1


def test_streamed_and_chat_answers_are_corrupted(upstream: str) -> None:
    import httpx

    with ErrorSimulator() as sim:
        corrupter = sim.malformed_llm_output(upstream, corrupt=lambda text: text.upper() + "}}")
        lines = httpx.post(
            corrupter.url + "/api/generate", json={"stream": True}, timeout=10
        ).text.splitlines()
        parts = [json.loads(line)["response"] for line in lines]
        assert "".join(parts) == '{"A": "XYZ"}}}'
        chat = httpx.post(corrupter.url + "/api/chat", json={}, timeout=10).json()
        assert chat["message"]["content"] == '{"A": "XYZ"}}}'
        assert httpx.get(corrupter.url + "/api/tags", timeout=10).json() == {"models": []}
    with pytest.raises(httpx.TransportError):
        httpx.get(corrupter.url + "/api/tags", timeout=2)


def test_corrupter_only_fronts_loopback() -> None:
    with pytest.raises(FaultError, match="loopback"):
        LLMOutputCorrupter("http://0.0.0.0:11434")


def test_stop_service_uses_the_stop_signal_the_stack_recorded() -> None:
    """PostgreSQL is recorded with SIGINT (fast shutdown); SIGTERM would wait for clients."""
    import signal

    from tests.utils._services.registry import ProcessRecord
    from tests.utils.integration_helpers import _stop_signal_for

    def record(pid: int, sig: int) -> ProcessRecord:
        return ProcessRecord(
            "postgresql", "127.0.0.1:1", "local", pid, None, "run", "r", "now", 1.0, stop_signal=sig
        )

    records = [record(11, int(signal.SIGTERM)), record(22, int(signal.SIGINT))]
    assert _stop_signal_for(22, records) == signal.SIGINT
    assert _stop_signal_for(11, records) == signal.SIGTERM
    assert _stop_signal_for(33, records) == signal.SIGTERM  # not ours to know: the default
