"""While a unit test runs, `socket.connect`/`connect_ex` to anything but loopback or a unix
socket, or to an Ollama (real LLM) port, is a tier violation that names the call; the
test fails even if the caller swallowed the error."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING

import pytest

from . import violations

if TYPE_CHECKING:
    # typeshed's names for what socket.socket.connect takes (the C base class, the
    # address union), so the wrappers below have exactly the patched methods' types
    from _socket import _Address
    from _socket import socket as _CSocket

STANDARD_OLLAMA_PORT = 11434


def ollama_ports() -> set[int]:
    """The standard port, the toolkit's configured one and `KAIZEN_OLLAMA_URL`'s."""
    ports = {STANDARD_OLLAMA_PORT}
    with contextlib.suppress(Exception):
        from tests.utils._services.settings import load_settings

        ports.add(load_settings()["ollama"].port)
    url = os.environ.get("KAIZEN_OLLAMA_URL")
    if url:
        from urllib.parse import urlparse

        with contextlib.suppress(ValueError):
            port = urlparse(url).port
            if port:
                ports.add(port)
    return ports


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class SocketGuard:
    """Wraps socket.connect/connect_ex while a unit test runs."""

    def __init__(self, llm_ports: Iterable[int]) -> None:
        self.llm_ports = frozenset(llm_ports)
        self._saved: dict[str, Callable[..., object]] = {}

    @classmethod
    def from_config(cls, config: pytest.Config) -> SocketGuard:
        """One guard per session: the LLM ports are read once."""
        guard = config.stash.get(_GUARD_KEY, None)
        if guard is None:
            guard = config.stash[_GUARD_KEY] = cls(ollama_ports())
        return guard

    def _check(self, sock: _CSocket, address: _Address, call: str) -> None:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        if not isinstance(address, tuple) or len(address) < 2:
            return
        host, port = str(address[0]), address[1]
        shown = f"socket.{call}({(host, port)!r})"
        if not is_loopback(host):
            reason = "unit tests may not open non-loopback sockets (no network, no services)"
        elif port in self.llm_ports:
            reason = (
                f"port {port} is an Ollama (real LLM) port; unit tests use "
                "tests.utils.mock_providers.MockLLMProvider"
            )
        else:
            return
        raise violations.violation(
            f"{shown} in unit test {violations.current.nodeid}: {reason}; "
            "move it to tests/integration"
        )

    def install(self) -> None:
        guard = self
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex

        def connect(sock: _CSocket, address: _Address) -> None:
            guard._check(sock, address, "connect")
            return original_connect(sock, address)

        def connect_ex(sock: _CSocket, address: _Address) -> int:
            guard._check(sock, address, "connect_ex")
            return original_connect_ex(sock, address)

        self._saved = {"connect": original_connect, "connect_ex": original_connect_ex}
        # patching the class for the test's duration is the guard's job
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

    def uninstall(self) -> None:
        for name, value in self._saved.items():
            setattr(socket.socket, name, value)
        self._saved = {}


_GUARD_KEY = pytest.StashKey[SocketGuard]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    if violations.current.tier != "unit":
        return (yield)
    guard = SocketGuard.from_config(item.config)
    guard.install()
    try:
        return (yield)
    finally:
        guard.uninstall()
