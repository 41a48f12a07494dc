"""Redis through the available backend: worker db index, FLUSHDB isolation."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_local_start_finds_the_server_outside_path_and_records_what_it_ran(
    tmp_path, monkeypatch
) -> None:
    """Debian puts redis-server in /usr/bin: a PATH without it (a venv-only PATH in CI)
    must still start the local rung."""
    import dataclasses

    from tests.utils._services.catalog import redis as catalog_redis
    from tests.utils._services.polling import poll
    from tests.utils._services.ports import free_port
    from tests.utils._services.settings import load_settings

    if not Path("/usr/bin/redis-server").exists():
        pytest.skip("redis-server is not in /usr/bin here")
    s = dataclasses.replace(load_settings()["redis"], port=free_port())
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    started = catalog_redis.start_local(s, tmp_path, timeout_s=30)
    try:
        assert started.command[0] == "/usr/bin/redis-server"
        assert started.base_dir == tmp_path and started.log_path.parent == tmp_path
        client = redis.Redis(host=s.host, port=s.port, socket_timeout=5)
        try:
            assert poll(lambda: _pings(client), 30)
        finally:
            client.close()
    finally:
        started.terminate()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
