"""Name-prefix guard, worker naming, the flush guard, port-holder detection."""

from __future__ import annotations

import os
import socket

import pytest

from tests.utils._services import isolation as iso
from tests.utils._services.ports import PortHolder, find_port_holder
from tests.utils._services.settings import load_settings


@pytest.mark.parametrize(
    "name", ["kailash_test", "postgres", "kzt", "kzt_X", "kzt_a;drop", "", "kzt_x\n", "kzt_x\r"]
)
def test_guard_refuses_names_the_toolkit_did_not_create(name: str) -> None:
    with pytest.raises(iso.RefusedCleanupError):
        iso.guard(name)


def test_guard_accepts_toolkit_names() -> None:
    assert iso.guard("kzt_gw0_abc123") == "kzt_gw0_abc123"
    assert iso.test_name().startswith("kzt_t_")


def test_drop_refuses_before_connecting() -> None:
    # port 1 is never a database: reaching a connect attempt would raise a different error
    s = load_settings({"KAIZEN_TEST_POSTGRES_PORT": "1", "KAIZEN_TEST_MYSQL_PORT": "1"})
    with pytest.raises(iso.RefusedCleanupError):
        iso.pg_drop_database(s["postgresql"], "kailash_test")
    with pytest.raises(iso.RefusedCleanupError):
        iso.mysql_drop_database(s["mysql"], "mysql")


def test_worker_names(monkeypatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    assert iso.worker_name("pytest-0123456789ab") == "kzt_gw3_456789ab"
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert iso.worker_name("run") == "kzt_main_run"


def test_redis_flush_refuses_an_unclaimed_db() -> None:
    class _Client:
        flushed = False

        def flushdb(self) -> None:
            self.flushed = True

    client = _Client()
    with pytest.raises(iso.RefusedCleanupError):
        iso.redis_flush(client, 1, claimed=False)
    assert not client.flushed
    iso.redis_flush(client, 1, claimed=True)
    assert client.flushed


def test_port_holder_is_this_process() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        holder = find_port_holder(listener.getsockname()[1])
    finally:
        listener.close()
    assert holder is not None
    if holder.pid is not None:  # visible to this user
        assert holder.pid == os.getpid() and "python" in (holder.name or "").lower()
        assert holder.describe().startswith(f"pid {os.getpid()} (")


def test_free_port_has_no_holder() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert find_port_holder(port) is None


def test_unidentified_holder_says_how_to_find_it() -> None:
    assert "ss -ltnp" in PortHolder(None, None, None).describe()
