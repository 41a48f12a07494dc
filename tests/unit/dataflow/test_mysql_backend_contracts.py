"""MySQL backend contracts that need no server: DSN parsing, which driver errors count as a
lost connection, how driver errors become typed errors, and the result shape. A closed
loopback port stands in for an unreachable server."""

from __future__ import annotations

import socket
from typing import Any

import pymysql
import pytest

from kaizen.dataflow import (
    ConnectionLostError,
    DatabaseConnectionError,
    IntegrityViolationError,
    InvalidConnectionError,
    MySQLDatabase,
    QueryError,
)
from kaizen.dataflow.mysql import _connect_kwargs
from tests.utils._services.ports import free_port


class _Conn:
    """Only the attribute `_is_broken` reads from a PyMySQL connection."""

    def __init__(self, open_: bool) -> None:
        self.open = open_


class _Cursor:
    """The attributes `_result` reads from a PyMySQL cursor, as the driver sets them."""

    def __init__(
        self, description: Any, rows: list[tuple[Any, ...]], rowcount: int, lastrowid: int
    ) -> None:
        self.description = description
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


def _db() -> MySQLDatabase:
    return MySQLDatabase("mysql://u:pw@127.0.0.1:3306/shop")


def test_dsn_parts_and_defaults() -> None:
    assert _connect_kwargs("mysql+pymysql://a%40b:p%3Aw@db.local/Xshop") == {
        "host": "db.local",
        "port": 3306,
        "user": "a@b",
        "password": "p:w",
        "database": "Xshop",
    }
    assert _connect_kwargs("mysql://h") == {
        "host": "h",
        "port": 3306,
        "user": "",
        "password": "",
        "database": None,
    }


@pytest.mark.parametrize("dsn", ["mysql:///shop", "postgres://h/db", "mysql+psycopg://h/db"])
def test_bad_scheme_or_missing_host_is_refused(dsn: str) -> None:
    with pytest.raises(InvalidConnectionError) as info:
        MySQLDatabase.check_dsn(dsn)
    scheme = dsn.partition(":")[0]
    assert str(info.value) == (
        f"mysql: connection scheme: got scheme {scheme.lower()!r}; write "
        "mysql://user:password@host:port/database"
    )
    assert (info.value.database, info.value.part) == ("mysql", "scheme")


def test_bad_port_is_refused_naming_only_the_port() -> None:
    with pytest.raises(InvalidConnectionError) as info:
        MySQLDatabase.check_dsn("mysql://user:secret@h:abc/db")
    assert str(info.value) == (
        "mysql: connection port: 'abc' is not a port number (0-65535); write "
        "mysql://user:password@host:3306/database"  # the example is not redacted
    )
    assert "secret" not in str(info.value)
    assert (info.value.database, info.value.part) == ("mysql", "port")


def test_unreachable_server_is_a_connection_error() -> None:
    port = free_port()
    db = MySQLDatabase(f"mysql://u:pw@127.0.0.1:{port}/db", connect_timeout=2)
    with pytest.raises(DatabaseConnectionError) as info:
        db.execute("SELECT 1")
    assert type(info.value) is DatabaseConnectionError
    assert str(info.value).startswith("mysql: cannot connect: Can't connect to MySQL server")
    assert str(info.value).endswith(f"(at 127.0.0.1:{port})")
    assert (info.value.database, info.value.endpoint) == ("mysql", f"127.0.0.1:{port}")
    assert isinstance(info.value.__cause__, pymysql.err.OperationalError)


@pytest.mark.parametrize(
    ("exc", "open_", "broken"),
    [
        (pymysql.err.OperationalError(2013, "Lost connection"), True, True),
        (pymysql.err.OperationalError(2006, "gone away"), True, True),
        (pymysql.err.OperationalError(1205, "Lock wait timeout"), True, False),
        (pymysql.err.OperationalError(), True, False),
        (pymysql.err.OperationalError(), False, True),
        (pymysql.err.OperationalError("text first", 2013), True, False),
        (pymysql.err.InterfaceError(), True, True),
        (pymysql.err.ProgrammingError(1064, "syntax"), False, True),
    ],
)
def test_which_errors_mean_the_connection_is_broken(
    exc: BaseException, open_: bool, broken: bool
) -> None:
    assert _db()._is_broken(_Conn(open_), exc) is broken


def test_lost_connection_is_typed_with_the_driver_text() -> None:
    err = _db()._translate(pymysql.err.OperationalError("server closed"), "SELECT 1", True)
    assert type(err) is ConnectionLostError
    assert str(err) == (
        "mysql: connection lost during the statement (server closed); the transaction was "
        "not committed (at 127.0.0.1:3306)"
    )
    assert (err.database, err.endpoint) == ("mysql", "127.0.0.1:3306")


def test_lost_connection_without_driver_text_names_the_error_class() -> None:
    err = _db()._translate(pymysql.err.InterfaceError(), "SELECT 1", True)
    assert "during the statement (InterfaceError);" in str(err)


def test_rejected_statement_is_a_query_error_with_code_and_query() -> None:
    err = _db()._translate(pymysql.err.ProgrammingError(1064, "bad syntax"), "SELEC 1", False)
    assert type(err) is QueryError
    assert str(err) == "mysql: bad syntax [1064]; query: SELEC 1"
    assert (err.database, err.query, err.code) == ("mysql", "SELEC 1", "1064")


def test_constraint_violation_is_an_integrity_error() -> None:
    exc = pymysql.err.IntegrityError(1062, "Duplicate entry")
    err = _db()._translate(exc, "INSERT x", False)
    assert type(err) is IntegrityViolationError and err.code == "1062"


def test_query_error_without_driver_args() -> None:
    err = _db()._translate(pymysql.err.ProgrammingError(), "SELECT 1", False)
    assert type(err) is QueryError
    assert (err.code, str(err)) == (None, "mysql: ProgrammingError; query: SELECT 1")


def test_result_of_a_statement_without_rows() -> None:
    result = _db()._result(_Cursor(None, [], 0, 0))
    assert (result.columns, result.rows, result.rowcount, result.lastrowid) == ((), (), 0, None)
    assert _db()._result(_Cursor(None, [], -1, 7)).rowcount == 0
    assert _db()._result(_Cursor(None, [], 3, 7)).lastrowid == 7


def test_result_of_a_statement_with_rows() -> None:
    description = (("id", 3), ("name", 253))
    result = _db()._result(_Cursor(description, [(1, "a"), (2, "b")], 2, 9))
    assert result.columns == ("id", "name")
    assert result.rows == ({"id": 1, "name": "a"}, {"id": 2, "name": "b"})
    assert (result.rowcount, result.lastrowid) == (2, 9)


def test_server_that_accepts_and_never_greets_is_a_connection_error() -> None:
    """PyMySQL's own connect_timeout covers only the TCP connect; without a bound on the
    greeting this call would never return (the tier's timeout would end the test)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the connect; nothing ever answers
        port = silent.getsockname()[1]
        db = MySQLDatabase(f"mysql://u:pw@127.0.0.1:{port}/db", connect_timeout=1)
        with pytest.raises(DatabaseConnectionError) as info:
            db.execute("SELECT 1")
    assert "timed out" in str(info.value)
    assert str(info.value).endswith(f"(at 127.0.0.1:{port})")
    assert db._conn is None
