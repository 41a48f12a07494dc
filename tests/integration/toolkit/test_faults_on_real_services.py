"""ErrorSimulator and the database fixtures against the real PostgreSQL, MySQL and Redis."""

from __future__ import annotations

import os

import pytest

from tests.utils import test_fixtures as tf
from tests.utils._services.ports import find_port_holder
from tests.utils.integration_helpers import (
    ErrorSimulator,
    FaultError,
    wait_for_condition,
    wait_for_condition_async,
)


@pytest.fixture
def sim():
    simulator = ErrorSimulator()
    yield simulator
    simulator.restore_all()


def test_dropped_connections_break_a_real_postgres_session(sim, postgres_service) -> None:
    import psycopg2

    proxy = sim.tcp_proxy(postgres_service.host, postgres_service.port)
    settings = postgres_service.settings
    conn = psycopg2.connect(
        host="127.0.0.1",
        port=proxy.port,
        dbname=settings.database,
        user=settings.user,
        password=settings.password,
        connect_timeout=10,
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
        assert proxy.drop_connections() >= 2
        with pytest.raises(psycopg2.OperationalError), conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        conn.close()


def test_paused_redis_stops_answering_until_restored(sim, redis_service) -> None:
    import redis

    if redis_service.pid is None:
        with pytest.raises(FaultError, match="has no process the toolkit started"):
            sim.pause_service(redis_service)
        return
    client = redis.Redis.from_url(redis_service.url, socket_timeout=1.0)
    assert client.ping()
    sim.pause_service(redis_service)
    with pytest.raises(redis.exceptions.TimeoutError):
        client.ping()
    sim.restore_all()
    fresh = redis.Redis.from_url(redis_service.url, socket_timeout=5.0)
    assert wait_for_condition(fresh.ping, timeout=30, ignore=(redis.exceptions.RedisError,))


async def test_wait_for_a_real_redis_key(redis_service) -> None:
    import asyncio

    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_service.url)
    key = tf.isolated_redis_prefix("wait") + "ready"
    try:
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, lambda: asyncio.ensure_future(client.set(key, "1")))
        assert await wait_for_condition_async(lambda: client.get(key), timeout=10) == b"1"
    finally:
        await client.delete(key)
        await client.aclose()


def test_held_port_is_reported_with_our_pid(sim) -> None:
    port = sim.hold_port()
    holder = find_port_holder(port)
    assert holder is not None and holder.pid == os.getpid()


@pytest.mark.parametrize(
    ("fixture", "dialect", "db_class"),
    [
        ("postgres_service", "postgresql", "PostgresDatabase"),
        ("mysql_service", "mysql", "MySQLDatabase"),
    ],
)
def test_seeded_tables_are_isolated_and_dropped(
    request, fixture: str, dialect: str, db_class: str
) -> None:
    import kaizen.dataflow as dataflow

    status = request.getfixturevalue(fixture)
    with getattr(dataflow, db_class)(status.url) as db:
        with (
            tf.seeded_table(db, tf.TICKETS_TABLE, dialect) as a,
            tf.seeded_table(db, tf.TICKETS_TABLE, dialect) as b,
        ):
            assert a != b
            db.execute(f"DELETE FROM {a}")
            count = db.execute(f"SELECT COUNT(*) AS n FROM {b}").scalar()
            assert count == len(tf.TICKETS_TABLE.rows)
            hostile = db.execute(f"SELECT body FROM {b} WHERE id = %s", [4]).scalar()
            assert "DROP TABLE" in hostile  # stored as data, never executed
        remaining = db.execute(
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name IN (%s, %s)",
            [a, b],
        ).scalar()
        assert remaining == 0
