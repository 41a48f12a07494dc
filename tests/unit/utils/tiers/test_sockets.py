"""`_tiers.sockets`: unit tests reach loopback and unix sockets only, never an Ollama (real
LLM) port; the test fails even when the caller swallowed the error."""

from __future__ import annotations

import pytest

from tests.unit.utils.tiers._project import write
from tests.utils._services.settings import load_settings
from tests.utils._tiers import violations
from tests.utils._tiers.sockets import SocketGuard, is_loopback, ollama_ports
from tests.utils._tiers.violations import TierViolation

OLLAMA_PORT = load_settings()["ollama"].port


def test_unit_tests_cannot_open_non_loopback_sockets(project: pytest.Pytester) -> None:
    """0.0.0.0 is not a loopback address, so the guard refuses it; were the guard broken,
    the connects would still stay on this machine (closed local ports), never leave it."""
    write(
        project,
        "tests/unit/test_net.py",
        """
        import asyncio
        import socket

        def test_create_connection():
            socket.create_connection(("0.0.0.0", 9), timeout=1)

        def test_swallowed():
            try:
                socket.create_connection(("0.0.0.0", 19), timeout=1)
            except BaseException:
                pass

        async def test_asyncio():
            await asyncio.wait_for(asyncio.open_connection("0.0.0.0", 29), 5)

        def test_connect_ex():
            s = socket.socket()
            try:
                s.connect_ex(("0.0.0.0", 39))
            finally:
                s.close()
        """,
    )
    result = project.runpytest_inprocess()
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*socket.connect(('0.0.0.0', 9)) in unit test*may not open non-loopback*",
        ]
    )
    result.stdout.fnmatch_lines(["*socket.connect(('0.0.0.0', 19))*"])
    result.stdout.fnmatch_lines(["*socket.connect_ex(('0.0.0.0', 39))*"])


def test_loopback_and_unix_sockets_are_allowed(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/unit/test_loopback.py",
        """
        import socket

        def test_loopback_round_trip():
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen()
            client = socket.create_connection(server.getsockname(), timeout=5)
            conn, _ = server.accept()
            client.sendall(b"ping")
            assert conn.recv(4) == b"ping"
            for s in (conn, client, server):
                s.close()

        def test_unix_socketpair():
            a, b = socket.socketpair()
            a.sendall(b"x")
            assert b.recv(1) == b"x"
            a.close(); b.close()
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=2)


def test_unit_tests_cannot_reach_the_llm_port(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/unit/test_llm.py",
        f"""
        import socket

        def test_reach_llm():
            socket.create_connection(("127.0.0.1", {OLLAMA_PORT}), timeout=1)
        """,
    )
    result = project.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*socket.connect(('127.0.0.1', {OLLAMA_PORT}))*Ollama (real LLM) port*"]
    )


def test_integration_tests_are_not_socket_guarded(project: pytest.Pytester) -> None:
    write(
        project,
        "tests/integration/test_sock.py",
        """
        import socket

        def test_connect_ex_reaches_the_os():
            s = socket.socket()
            s.settimeout(1)
            try:
                assert isinstance(s.connect_ex(("127.0.0.1", 9)), int)
            finally:
                s.close()
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=1)


def test_guard_is_removed_after_the_test() -> None:
    import socket

    assert socket.socket.connect.__name__ == "connect"
    assert socket.socket.connect.__qualname__.startswith("SocketGuard")  # active in unit
    with pytest.raises(TierViolation):
        socket.create_connection(("0.0.0.0", 1), timeout=1)
    violations.current.violations.clear()  # this test expected the violation


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.5.5.5", True),
        ("::1", True),
        ("localhost", True),
        ("::", False),
        ("example.com", False),
        ("0.0.0.0", False),
    ],
)
def test_loopback_detection(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_ollama_ports_include_the_configured_and_env_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_OLLAMA_URL", "http://127.0.0.1:23456")
    assert {11434, OLLAMA_PORT, 23456} <= ollama_ports()
    monkeypatch.setenv("KAIZEN_OLLAMA_URL", "http://127.0.0.1:notaport")
    assert 11434 in ollama_ports()


def test_one_guard_per_session(request: pytest.FixtureRequest) -> None:
    assert SocketGuard.from_config(request.config) is SocketGuard.from_config(request.config)
