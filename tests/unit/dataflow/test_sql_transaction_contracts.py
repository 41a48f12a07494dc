"""The shared SQL transaction logic (`SQLDatabase.transaction`) through a scripted backend:
which statement a driver error is blamed on, rollback versus discarding the connection,
chained causes; plus DSN checks, error defaults and PostgreSQL connect failures that need
no server (a closed loopback port, an unparsable DSN, a missing driver)."""

from __future__ import annotations

import sys
from typing import Any

import psycopg2
import pytest

from kaizen.dataflow import (
    DatabaseConnectionError,
    DataFlowError,
    InvalidConnectionError,
    MissingDriverError,
    MySQLDatabase,
    ParameterError,
    PostgresDatabase,
    UnsafeQueryError,
)
from kaizen.dataflow._sql import SQLDatabase, endpoint_of
from kaizen.dataflow.postgres import connect_postgres
from kaizen.dataflow.result import QueryResult
from tests.utils._services.ports import free_port


class DriverError(Exception):
    """The scripted driver's error; `broken` says whether it kills the connection."""

    def __init__(self, text: str, *, broken: bool = False) -> None:
        super().__init__(text)
        self.broken = broken


class Translated(Exception):
    def __init__(self, query: str, broken: bool) -> None:
        super().__init__(query)
        self.query, self.broken = query, broken


class Cursor:
    def __init__(self, fail: dict[str, BaseException]) -> None:
        self.fail = fail

    def execute(self, query: str, params: Any) -> None:
        if "execute" in self.fail:
            raise self.fail["execute"]

    def close(self) -> None:
        pass


class Conn:
    """A connection whose cursor(), commit() and close() fail as scripted."""

    def __init__(self, fail: dict[str, BaseException]) -> None:
        self.fail = fail
        self.rollbacks = 0
        self.closed = False

    def cursor(self) -> Cursor:
        if "cursor" in self.fail:
            raise self.fail["cursor"]
        return Cursor(self.fail)

    def commit(self) -> None:
        if "commit" in self.fail:
            raise self.fail["commit"]

    def rollback(self) -> None:
        self.rollbacks += 1

    def close(self) -> None:
        self.closed = True
        if "close" in self.fail:
            raise self.fail["close"]


class Scripted(SQLDatabase):
    name = "scripted"

    def __init__(self, **fail: BaseException) -> None:
        super().__init__("scripted://127.0.0.1:1/db")
        self.fail = fail
        self.conns: list[Conn] = []

    def _connect(self) -> Conn:
        self.conns.append(Conn(self.fail))
        return self.conns[-1]

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (DriverError,)

    def _is_broken(self, conn: Any, exc: BaseException) -> bool:
        return bool(getattr(exc, "broken", False))

    def _translate(self, exc: BaseException, query: str, broken: bool) -> Exception:
        return Translated(query, broken)

    def _result(self, cursor: Any) -> QueryResult:
        return QueryResult((), (), 0)


def test_error_before_the_first_statement_is_blamed_on_it() -> None:
    exc = DriverError("no cursor")
    db = Scripted(cursor=exc)
    with pytest.raises(Translated) as info:
        db.transaction([("SELECT 1", [5]), ("SELECT 2", None)])
    assert (info.value.query, info.value.broken) == ("SELECT 1", False)
    assert info.value.__cause__ is exc
    assert db.conns[0].rollbacks == 1


def test_failed_commit_is_blamed_on_commit() -> None:
    with pytest.raises(Translated) as info:
        Scripted(commit=DriverError("disk full")).execute("UPDATE t SET v = 1")
    assert info.value.query == "COMMIT"


def test_broken_connection_is_discarded_not_rolled_back() -> None:
    db = Scripted(execute=DriverError("gone", broken=True))
    with pytest.raises(Translated) as info:
        db.execute("SELECT 1")
    assert info.value.broken is True
    assert (db.conns[0].rollbacks, db.conns[0].closed) == (0, True)
    with pytest.raises(Translated):
        db.execute("SELECT 1")
    assert len(db.conns) == 2


def test_unadaptable_value_is_a_parameter_error_and_rolls_back() -> None:
    exc = ValueError("cannot adapt")
    db = Scripted(cursor=exc)
    with pytest.raises(ParameterError) as info:
        db.transaction([("SELECT %s", [object()]), ("SELECT 2", None)])
    assert (info.value.database, info.value.statement) == ("scripted", 1)
    assert info.value.__cause__ is exc
    assert (db.conns[0].rollbacks, db.conns[0].closed) == (1, False)
    with pytest.raises(ParameterError):
        db.execute("SELECT 1")
    assert len(db.conns) == 1


def test_close_survives_a_failing_driver_close() -> None:
    db = Scripted(close=DriverError("already closed"))
    db.execute("SELECT 1")
    db.close()
    assert db.conns[0].closed


def test_empty_query_is_refused_naming_the_backend() -> None:
    with pytest.raises(UnsafeQueryError) as info:
        MySQLDatabase("mysql://u:pw@127.0.0.1:1/db").execute("  ")
    assert info.value.database == "mysql"


@pytest.mark.parametrize("dsn", ["  ", 5])
def test_dsn_must_be_a_non_empty_string(dsn: Any) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        MySQLDatabase(dsn)
    assert type(info.value) is UnsafeQueryError
    assert str(info.value) == f"connection must be a non-empty DSN string, got {dsn!r}"


def test_defaults() -> None:
    assert MySQLDatabase("mysql://h/db").connect_timeout == 10.0
    assert endpoint_of("host=db port=5432 dbname=x") == "<dsn>"
    plain = DataFlowError("plain text")
    assert (plain.database, str(plain)) == ("", "plain text")


def test_connection_error_keeps_the_endpoint() -> None:
    err = DatabaseConnectionError("down", database="mysql", endpoint="h:1")
    assert (err.endpoint, str(err)) == ("h:1", "mysql: down (at h:1)")


def test_connect_postgres_names_the_endpoint_of_the_dsn() -> None:
    port = free_port()
    with pytest.raises(DatabaseConnectionError) as info:
        connect_postgres(f"postgresql://u:pw@127.0.0.1:{port}/db", connect_timeout=2)
    assert (info.value.database, info.value.endpoint) == ("postgresql", f"127.0.0.1:{port}")


def test_unparsable_postgres_dsn_is_an_invalid_connection() -> None:
    with pytest.raises(InvalidConnectionError) as info:
        connect_postgres("bogus")
    assert (info.value.database, info.value.part) == ("postgresql", "dsn")
    assert isinstance(info.value.__cause__, psycopg2.ProgrammingError)
    assert str(info.value).startswith("postgresql: connection dsn: ")
    assert str(info.value).endswith(
        "; write postgresql://user:password@host:5432/db or 'host=... port=... dbname=...'"
    )


def test_nul_byte_message_says_how_to_fix_it() -> None:
    with pytest.raises(ParameterError) as info:
        PostgresDatabase("postgresql://u:pw@127.0.0.1:1/db").execute("SELECT %s", ["a\x00"])
    assert str(info.value).startswith(
        "postgresql: statement 1, param 0: text holds a NUL byte (0x00), which PostgreSQL "
        "cannot store in text; strip it"
    )


def test_missing_psycopg2_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    with pytest.raises(MissingDriverError) as info:
        PostgresDatabase("postgresql://u:pw@127.0.0.1:1/db").execute("SELECT 1")
    assert (info.value.database, info.value.module, info.value.extra) == (
        "postgresql",
        "psycopg2",
        "postgres",
    )
    assert str(info.value) == (
        "postgresql: driver 'psycopg2' is not installed; pip install 'kaizen[postgres]'"
    )
