"""The PostgreSQL audit store when no database answers, on real loopback sockets (a closed
port, and a listener that never speaks): which typed error a read and a write raise, what
they say, and that the store's connect timeout is the one used."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from kaizen.audit import AuditTrail, AuditWriteError, PostgresAuditStore
from kaizen.audit.errors import AuditError


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts connections (the kernel's backlog) and never answers the startup packet."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_defaults() -> None:
    store = PostgresAuditStore("postgresql://u:p@127.0.0.1:9/db")
    assert (store.table, store.connect_timeout) == ("kaizen_audit", 10.0)


def test_a_read_and_a_write_fail_with_their_own_error(closed_port: int) -> None:
    store = PostgresAuditStore(f"postgresql://u:p@127.0.0.1:{closed_port}/db")
    with pytest.raises(AuditError) as read:
        store.entries()
    assert type(read.value) is AuditError
    assert str(read.value).startswith("cannot reach the audit trail: postgresql: cannot connect")
    with pytest.raises(AuditWriteError) as write:
        AuditTrail(store).record("e", actor="a", action="b")
    assert str(write.value).startswith("audit entry not written: postgresql: cannot connect")


def test_the_store_connect_timeout_is_used(silent_port: int) -> None:
    store = PostgresAuditStore(f"postgresql://u:p@127.0.0.1:{silent_port}/db", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(AuditError, match="cannot reach the audit trail"):
        store.head()
    assert time.monotonic() - started < 6, "the 10 s default was used instead of 1 s"
