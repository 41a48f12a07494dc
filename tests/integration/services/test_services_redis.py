"""Redis through the available backend: worker db index, FLUSHDB isolation."""

from __future__ import annotations

import redis

from tests.utils import get_redis_url
from tests.utils._services import isolation as iso


def test_ping_and_version(redis_service) -> None:
    assert redis_service.healthy and redis_service.version.startswith("Redis")
    client = redis.Redis.from_url(get_redis_url(), socket_timeout=5)
    try:
        assert client.ping() is True
    finally:
        client.close()


def test_worker_client_uses_its_own_claimed_db_index(redis_client, services_stack) -> None:
    index = redis_client.connection_pool.connection_kwargs["db"]
    assert index in iso.REDIS_DB_INDEXES
    claims = services_stack.registry.read()["claims"]
    key = f"redis@{redis_client.connection_pool.connection_kwargs['host']}:"
    mine = [
        k for k, v in claims.items() if k.startswith(key) and v["member"] == services_stack.member
    ]
    assert mine == [f"{key}{redis_client.connection_pool.connection_kwargs['port']}/{index}"]
    redis_client.set("kzt:probe", "1")
    assert redis_client.get("kzt:probe") == "1"


def test_redis_clean_flushes_before_the_test(redis_client, redis_clean) -> None:
    assert redis_clean.dbsize() == 0
    redis_clean.set("a", "b")
    assert redis_clean.dbsize() == 1


def test_redis_clean_flushed_after_previous_test(redis_clean) -> None:
    assert redis_clean.get("a") is None
