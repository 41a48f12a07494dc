"""Wrong credentials against the real servers: the typed error names the endpoint and the
server's refusal, never the password we sent (issue 10, item 12)."""

from __future__ import annotations

import traceback
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from kaizen.dataflow import (
    DatabaseConnectionError,
    DataFlowError,
    MongoDatabase,
    MySQLDatabase,
    PostgresDatabase,
    RedisDatabase,
)

WRONG = "Wr0ng-S3cr3t"


def _with_password(url: str, password: str, user: str | None = None) -> str:
    parts = urlsplit(str(url))
    netloc = f"{user or parts.username or 'default'}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _shown(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


@pytest.mark.requires_services("postgresql")
def test_postgres_wrong_password(postgres_test_db: Any) -> None:
    db = PostgresDatabase(_with_password(postgres_test_db.url, WRONG))
    with pytest.raises(DatabaseConnectionError, match="password authentication failed") as info:
        db.execute("SELECT 1")
    assert WRONG not in _shown(info.value) and WRONG not in repr(db)


@pytest.mark.requires_services("mysql")
def test_mysql_wrong_password(mysql_test_db: Any) -> None:
    db = MySQLDatabase(_with_password(mysql_test_db.url, WRONG))
    with pytest.raises(DatabaseConnectionError, match="Access denied") as info:
        db.execute("SELECT 1")
    assert WRONG not in _shown(info.value) and WRONG not in repr(db)


@pytest.mark.requires_services("redis")
def test_redis_password_the_server_does_not_accept(redis_url: str) -> None:
    db = RedisDatabase(_with_password(redis_url, WRONG, user="nobody"))
    with pytest.raises(DataFlowError) as info:
        db.command("GET", "k")
    assert WRONG not in _shown(info.value) and WRONG not in repr(db)


@pytest.mark.requires_services("mongodb")
def test_mongodb_url_with_password_in_errors(mongodb_service: Any) -> None:
    url = _with_password(mongodb_service.url, WRONG, user="admin")
    with MongoDatabase(url, "kzt_none", timeout_ms=2000) as db:
        try:
            db.run("count", "c")
        except DataFlowError as exc:  # a server that checks credentials refuses them
            assert WRONG not in _shown(exc)
        assert WRONG not in repr(db)
