"""Real-service fixtures shared by this package's integration and e2e tests.

Endpoints come from the toolkit's one source of truth (tests/utils/services.env plus
environment overrides); nothing here hard-codes a port. A service that cannot be reached
skips the test with the precise reason, or fails it under CI=true / --require-services.
Every table, key and collection a test creates carries a unique `kzt_` prefix and is
removed afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.utils._services.settings import load_settings, mysql_url, postgres_url


def _must_have(request: pytest.FixtureRequest) -> bool:
    try:
        required = bool(request.config.getoption("--require-services"))
    except ValueError:
        required = False
    return required or os.environ.get("CI", "").lower() == "true"


def _unavailable(request: pytest.FixtureRequest, service: str, reason: str) -> None:
    message = f"{service} not reachable: {reason}"
    if _must_have(request):
        pytest.fail(f"{message} (services are required under CI=true / --require-services)")
    pytest.skip(message)


def unique_name(kind: str = "t") -> str:
    return f"kzt_k5{kind}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def pg_dsn(request: pytest.FixtureRequest) -> str:
    import psycopg2

    dsn = postgres_url(load_settings()["postgresql"])
    try:
        psycopg2.connect(dsn, connect_timeout=5).close()
    except psycopg2.Error as exc:
        _unavailable(request, "postgresql", str(exc).strip().splitlines()[0])
    return dsn


@pytest.fixture(scope="session")
def mysql_dsn(request: pytest.FixtureRequest) -> str:
    import pymysql

    s = load_settings()["mysql"]
    try:
        pymysql.connect(
            host=s.host,
            port=s.port,
            user=s.user,
            password=s.password or "",
            database=s.database,
            connect_timeout=5,
        ).close()
    except pymysql.err.Error as exc:
        _unavailable(request, "mysql", str(exc))
    return mysql_url(s)


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    import redis

    s = load_settings()["redis"]
    url = f"redis://{s.host}:{s.port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5)
        client.ping()
        client.close()
    except redis.exceptions.RedisError as exc:
        _unavailable(request, "redis", str(exc))
    return url


@pytest.fixture(scope="session")
def mongo_url(request: pytest.FixtureRequest) -> str:
    import pymongo

    s = load_settings()["mongodb"]
    url = f"mongodb://{s.host}:{s.port}/?directConnection=true"
    try:
        client: Any = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
        client.admin.command("ping")
        client.close()
    except pymongo.errors.PyMongoError as exc:
        _unavailable(request, "mongodb", str(exc).split(",")[0])
    return url


@pytest.fixture(scope="session")
def mongo_db_name() -> str:
    return load_settings()["mongodb"].database or "kailash_test"


@pytest.fixture(scope="session")
def ollama_endpoint(request: pytest.FixtureRequest) -> dict[str, str]:
    """Base URL plus the served chat and embedding models, after checking both are listed."""
    import httpx

    s = load_settings()["ollama"]
    base = f"http://{s.host}:{s.port}"
    try:
        tags = httpx.get(f"{base}/api/tags", timeout=10).json()
    except (httpx.HTTPError, ValueError) as exc:
        _unavailable(request, "ollama", f"{base}: {exc}")
    names = {m.get("name") for m in tags.get("models", [])} | {
        m.get("model") for m in tags.get("models", [])
    }
    for model in (s.model, s.embed_model):
        if model not in names and f"{model}:latest" not in names:
            _unavailable(request, "ollama", f"model {model!r} not listed by {base} ({names})")
    return {"base_url": base, "model": s.model or "", "embed_model": s.embed_model or ""}


@pytest.fixture
def pg_table(pg_dsn: str) -> Iterator[str]:
    """A unique table name, dropped after the test (with anything that depends on it)."""
    import psycopg2

    name = unique_name("pg")
    yield name
    conn = psycopg2.connect(pg_dsn, connect_timeout=10)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    finally:
        conn.close()


@pytest.fixture
def mysql_table(mysql_dsn: str) -> Iterator[str]:
    from kaizen.dataflow import MySQLDatabase

    name = unique_name("my")
    yield name
    with MySQLDatabase(mysql_dsn) as db:
        db.execute(f"DROP TABLE IF EXISTS `{name}`")


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    import redis

    prefix = unique_name("rd") + ":"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def mongo_collection(mongo_url: str, mongo_db_name: str) -> Iterator[str]:
    import pymongo

    name = unique_name("mg")
    yield name
    client: Any = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    try:
        client[mongo_db_name].drop_collection(name)
    finally:
        client.close()
