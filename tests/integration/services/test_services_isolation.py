"""Isolation against real servers: a Redis db holding keys the toolkit did not write is never
claimed (nor flushed), and the PostgreSQL database pool drops everything it made."""

from __future__ import annotations

import time

import pytest
import redis

from tests.utils._services import isolation as iso
from tests.utils._services.settings import postgres_url

from .conftest import free_port


def test_a_redis_db_holding_foreign_keys_is_skipped_and_its_keys_kept(private_stack) -> None:
    """A private server: putting keys in every db of the run's shared one would disturb it."""
    stack = private_stack(KAIZEN_TEST_REDIS_PORT=str(free_port()))
    stack.ensure(["redis"])
    s = stack.settings["redis"]
    clients = {
        i: redis.Redis(host=s.host, port=s.port, db=i, socket_timeout=5)
        for i in iso.REDIS_DB_INDEXES
    }
    free = 7
    claim_key = f"redis@{s.endpoint}/{free}"
    try:
        for i, client in clients.items():
            if i != free:
                client.set("foreign:key", "theirs")
        index = iso.redis_claim_db(stack.registry, s, stack.member, stack.run_id)
        assert index == free
        assert stack.registry.read()["claims"][claim_key] == {
            "member": stack.member,
            "run": stack.run_id,
        }
        assert all(c.get("foreign:key") == b"theirs" for i, c in clients.items() if i != free)

        iso.redis_release_db(stack.registry, s, index, stack.member)
        assert claim_key not in stack.registry.read()["claims"]

        clients[free].set("foreign:key", "theirs")  # now every db holds foreign keys
        with pytest.raises(iso.RefusedCleanupError, match=r"no Redis db on .* is free"):
            iso.redis_claim_db(stack.registry, s, stack.member, stack.run_id)
        assert all(c.get("foreign:key") == b"theirs" for c in clients.values())
        assert not [k for k in stack.registry.read()["claims"] if k.startswith("redis@")]
    finally:
        for client in clients.values():
            client.close()


def _databases(s) -> set[str]:
    import psycopg2

    conn = psycopg2.connect(str(postgres_url(s)), connect_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def test_database_pool_refills_after_drops_and_leaves_nothing_behind(postgres_service) -> None:
    s = postgres_service.settings
    pool = iso.PgDatabasePool(s, size=1)
    try:
        first = pool.acquire(timeout_s=120)
        second = pool.acquire(timeout_s=120)  # made after the first was handed out
        pool.release(first)
        third = pool.acquire(timeout_s=120)  # the worker goes on after a drop
        assert len({first, second, third}) == 3
        assert all(name.startswith("kzt_t_") for name in (first, second, third))
        assert {second, third} <= _databases(s)
        pool.release(second)
        pool.release(third)
        assert pool.wait_full(timeout_s=120)
    finally:
        started = time.monotonic()
        pool.close(timeout_s=120)
        closing = time.monotonic() - started
    # close() returned before its join timeout: the worker thread ended, it was not abandoned
    assert closing < 120
    assert not {first, second, third} & _databases(s)
