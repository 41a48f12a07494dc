"""Name-prefix guard, worker naming, the flush guard, port-holder detection."""

from __future__ import annotations

import os
import socket

import psutil
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


def test_worker_names_keep_only_safe_characters_of_the_run_id(monkeypatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert iso.worker_name("Run-A.b_c/D-e") == "kzt_gw1_runabcde"  # last 8 of 'runabcde'
    assert iso.worker_name("x-y") == "kzt_gw1_xy"


def test_redis_flush_refuses_an_unclaimed_db() -> None:
    class _Client:
        flushed = False

        def flushdb(self) -> None:
            self.flushed = True

    client = _Client()
    with pytest.raises(iso.RefusedCleanupError, match="redis db 1 was never claimed"):
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
        # the name the OS shows for this process: "python", or a launcher's (mutmut's) name
        assert holder.pid == os.getpid() and holder.name == psutil.Process().name()
        assert holder.describe().startswith(f"pid {os.getpid()} (")


def test_free_port_has_no_holder() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert find_port_holder(port) is None


def test_unidentified_holder_says_how_to_find_it() -> None:
    assert "ss -ltnp" in PortHolder(None, None, None).describe()
