"""Contracts that need no server: the typed errors' attributes and texts, the result's dict
form, SQL/MongoDB node config and input checks (refused before any connection), and the
PostgreSQL error translation from driver exceptions."""

from __future__ import annotations

import socket
import threading
import time
from decimal import Decimal
from typing import Any

import psycopg2
import pytest
from bson import ObjectId

from kaizen.dataflow import (
    ConnectionLostError,
    DatabaseConnectionError,
    IntegrityViolationError,
    InvalidConnectionError,
    MissingDriverError,
    MySQLDatabase,
    ParameterError,
    PostgresDatabase,
    QueryError,
    UnsafeQueryError,
)
from kaizen.dataflow.mongodb import MongoDBNode, _plain
from kaizen.dataflow.mysql import MySQLQueryNode
from kaizen.dataflow.postgres import _first_line
from kaizen.dataflow.result import QueryResult
from kaizen.errors import WorkflowValidationError
from tests.utils._services.ports import free_port

PG = "postgresql://u:pw@127.0.0.1:5432/shop"


class _PgConn:
    """Only the attribute `_is_broken` reads from a psycopg2 connection."""

    def __init__(self, closed: int) -> None:
        self.closed = closed


class _PgCursor:
    """The attributes `_result` reads for a statement without a result set."""

    description = None

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


def test_missing_driver_error_names_module_and_extra() -> None:
    err = MissingDriverError("mysql", "pymysql", "mysql")
    assert (err.database, err.module, err.extra) == ("mysql", "pymysql", "mysql")
    assert str(err) == "mysql: driver 'pymysql' is not installed; pip install 'kaizen[mysql]'"


def test_invalid_connection_and_parameter_errors_carry_the_database() -> None:
    bad = InvalidConnectionError("no host", database="redis", part="host")
    assert (bad.database, bad.part, str(bad)) == (
        "redis",
        "host",
        "redis: connection host: no host",
    )
    param = ParameterError("NUL", database="postgresql", statement=2, param="0")
    assert param.database == "postgresql"
    assert str(param) == "postgresql: statement 2, param 0: NUL"


def test_query_error_text_with_and_without_code() -> None:
    coded = QueryError("bad", database="mysql", query="SELEC 1", code="1064")
    plain = QueryError("bad", database="mysql", query="SELEC 1", code=None)
    assert (coded.database, coded.query, coded.code) == ("mysql", "SELEC 1", "1064")
    assert str(coded) == "mysql: bad [1064]; query: SELEC 1"
    assert str(plain) == "mysql: bad; query: SELEC 1"


def test_result_dict_form() -> None:
    result = QueryResult(("id",), ({"id": 1},), 1, 5)
    assert result.to_dict() == {
        "columns": ["id"],
        "rows": [{"id": 1}],
        "rowcount": 1,
        "lastrowid": 5,
    }


def test_sql_database_repr_names_class_and_endpoint() -> None:
    assert repr(MySQLDatabase("mysql://u:pw@127.0.0.1:3306/db")) == "MySQLDatabase(127.0.0.1:3306)"


def test_sql_node_needs_exactly_one_of_query_or_statements() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        MySQLQueryNode("q", {"connection": "mysql://h/db"})
    assert str(info.value).startswith("node 'q' (MySQLQueryNode): give exactly one of 'query'")


@pytest.mark.parametrize("connection", [5, ""])
def test_sql_node_connection_must_be_a_dsn_string(connection: Any) -> None:
    with pytest.raises(WorkflowValidationError) as info:
        MySQLQueryNode("q", {"connection": connection, "query": "SELECT 1"})
    assert str(info.value) == "node 'q' (MySQLQueryNode): 'connection' must be a DSN string"


def test_sql_node_database_is_per_run_with_the_configured_timeout() -> None:
    dsn = "mysql://u:pw@127.0.0.1:3306/db"
    timed = MySQLQueryNode("q", {"connection": dsn, "query": "SELECT 1", "connect_timeout": 3})
    db = timed._database()
    assert (db.connect_timeout, db.persistent, db.dsn) == (3, False, dsn)
    assert (
        MySQLQueryNode("q", {"connection": dsn, "query": "SELECT 1"})._database().connect_timeout
        == 10.0
    )


@pytest.mark.parametrize("params", [5, "ab"])
def test_sql_node_statements_params_must_be_a_list(params: Any) -> None:
    dsn = f"mysql://u:pw@127.0.0.1:{free_port()}/db"
    node = MySQLQueryNode("q", {"connection": dsn, "statements": ["SELECT %s", "SELECT %s"]})
    with pytest.raises(UnsafeQueryError) as info:
        node.run(params=params)
    assert str(info.value) == (
        "node 'q': with 'statements', params must be a list with one entry per statement, "
        f"got {type(params).__name__}"
    )


def test_first_line_of_a_driver_error() -> None:
    assert _first_line(psycopg2.OperationalError("could not connect\n\tIs the server up?")) == (
        "could not connect"
    )
    assert _first_line(psycopg2.OperationalError()) == "OperationalError"


@pytest.mark.parametrize(
    ("closed", "exc", "broken"),
    [
        (1, psycopg2.OperationalError("x"), True),
        (0, psycopg2.InterfaceError("x"), True),
        (0, psycopg2.OperationalError("x"), False),
    ],
)
def test_which_postgres_errors_mean_a_broken_connection(
    closed: int, exc: BaseException, broken: bool
) -> None:
    assert PostgresDatabase(PG)._is_broken(_PgConn(closed), exc) is broken


def test_postgres_lost_connection_is_typed() -> None:
    exc = psycopg2.OperationalError("server closed the connection unexpectedly\n\tdetail")
    err = PostgresDatabase(PG)._translate(exc, "SELECT 1", True)
    assert type(err) is ConnectionLostError
    assert str(err) == (
        "postgresql: connection lost during the statement (server closed the connection "
        "unexpectedly); the transaction was not committed (at 127.0.0.1:5432)"
    )
    assert (err.database, err.endpoint) == ("postgresql", "127.0.0.1:5432")


def test_postgres_rejection_is_a_query_error() -> None:
    err = PostgresDatabase(PG)._translate(psycopg2.ProgrammingError("bad\nLINE 1"), "Q", False)
    assert type(err) is QueryError
    assert (str(err), err.database, err.code) == ("postgresql: bad; query: Q", "postgresql", None)
    integrity = PostgresDatabase(PG)._translate(psycopg2.IntegrityError("dup"), "Q", False)
    assert type(integrity) is IntegrityViolationError


def test_postgres_result_without_rows() -> None:
    result = PostgresDatabase(PG)._result(_PgCursor(-1))
    assert (result.columns, result.rows, result.rowcount) == ((), (), 0)
    assert PostgresDatabase(PG)._result(_PgCursor(4)).rowcount == 4


def test_postgres_nul_byte_is_refused_naming_the_database() -> None:
    db = PostgresDatabase(f"postgresql://u:pw@127.0.0.1:{free_port()}/db")
    with pytest.raises(ParameterError) as info:
        db.execute("SELECT %(a)s", {"a": "x\x00y"})
    assert (info.value.database, info.value.statement, info.value.param) == (
        "postgresql",
        1,
        "'a'",
    )


def test_mongo_object_ids_become_strings() -> None:
    oid = ObjectId()
    assert _plain({"_id": oid, "tags": (oid, 1)}) == {"_id": str(oid), "tags": [str(oid), 1]}


def test_mongo_transaction_node_needs_no_collection() -> None:
    node = MongoDBNode(
        "tx", {"connection": "mongodb://127.0.0.1:1", "database": "d", "operation": "transaction"}
    )
    assert node.config["operation"] == "transaction"
    with pytest.raises(WorkflowValidationError, match="'collection' is required for find"):
        MongoDBNode(
            "f", {"connection": "mongodb://127.0.0.1:1", "database": "d", "operation": "find"}
        )


def test_mongo_node_unknown_operation_lists_the_known_ones() -> None:
    from kaizen.dataflow.mongodb import OPERATIONS

    with pytest.raises(WorkflowValidationError) as info:
        MongoDBNode("m", {"connection": "mongodb://h", "database": "d", "operation": "eval"})
    assert str(info.value) == (
        f"node 'm' (MongoDBNode): operation must be one of {', '.join(OPERATIONS)} or "
        "'transaction', got 'eval'"
    )


def test_postgres_nul_byte_names_a_non_string_key_by_its_text() -> None:
    db = PostgresDatabase(f"postgresql://u:pw@127.0.0.1:{free_port()}/db")
    with pytest.raises(ParameterError) as info:
        db.execute("SELECT 1", {Decimal(1): "x\x00y"})
    assert info.value.param == "1"


def test_postgres_connect_timeout_bounds_a_silent_server() -> None:
    """libpq's connect_timeout covers the startup handshake: a listener that never answers
    fails within the configured 1 s (the default would wait 10 s)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        db = PostgresDatabase(f"postgresql://u:pw@127.0.0.1:{port}/db", connect_timeout=1)
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                db.execute("SELECT 1")
            except Exception as exc:  # asserted below
                outcome.append(exc)

        worker = threading.Thread(target=call, daemon=True)
        started = time.monotonic()
        worker.start()
        worker.join(6)
        assert not worker.is_alive(), "connect_timeout was not applied"
    assert time.monotonic() - started < 6
    assert len(outcome) == 1 and isinstance(outcome[0], DatabaseConnectionError)
