"""PostgresQueryNode / PostgresDatabase against the real PostgreSQL of the test stack."""

from __future__ import annotations

import datetime as dt
import socket
from decimal import Decimal

import psycopg2
import pytest

from kaizen import LocalRuntime, WorkflowBuilder
from kaizen.dataflow import (
    ConnectionLostError,
    DatabaseConnectionError,
    IntegrityViolationError,
    ParameterError,
    PostgresDatabase,
    QueryError,
    UnsafeQueryError,
)
from tests.utils.pytest_services import ServiceDatabase

pytestmark = pytest.mark.requires_services("postgresql")

TABLE = "items"  # in the test's own database (postgres_test_db), dropped with it


def _create(db: PostgresDatabase, table: str) -> None:
    db.execute(
        f'CREATE TABLE "{table}" (id serial PRIMARY KEY, name text UNIQUE NOT NULL, '
        "price numeric(8,2), active boolean, created timestamptz DEFAULT now(), "
        "extra jsonb)"
    )


def test_typed_results_round_trip(postgres_test_db: ServiceDatabase) -> None:
    dsn = postgres_test_db.url
    with PostgresDatabase(dsn) as db:
        _create(db, TABLE)
        inserted = db.execute(
            f'INSERT INTO "{TABLE}" (name, price, active, extra) VALUES (%s, %s, %s, %s) '
            "RETURNING id",
            ["widget", Decimal("9.50"), True, '{"k": [1, 2]}'],
        )
        assert inserted.columns == ("id",) and isinstance(inserted.scalar(), int)
        row = db.execute(f'SELECT * FROM "{TABLE}" WHERE name = %(n)s', {"n": "widget"}).first()
    assert row is not None
    assert row["price"] == Decimal("9.50") and isinstance(row["price"], Decimal)
    assert row["active"] is True
    assert isinstance(row["created"], dt.datetime) and row["created"].tzinfo is not None
    assert row["extra"] == {"k": [1, 2]}


def test_injection_attempt_is_inert(postgres_test_db: ServiceDatabase) -> None:
    dsn = postgres_test_db.url
    attack = "x'); DROP TABLE \"" + TABLE + '"; --'
    with PostgresDatabase(dsn) as db:
        _create(db, TABLE)
        db.execute(f'INSERT INTO "{TABLE}" (name) VALUES (%s)', [attack])
        found = db.execute(f'SELECT name FROM "{TABLE}" WHERE name = %s', ["' OR '1'='1"])
        stored = db.execute(f'SELECT name FROM "{TABLE}"')
    assert len(found) == 0
    assert [r["name"] for r in stored.rows] == [attack]  # stored literally; table survived


def test_transaction_is_all_or_nothing(postgres_test_db: ServiceDatabase) -> None:
    dsn = postgres_test_db.url
    with PostgresDatabase(dsn) as db:
        _create(db, TABLE)
        db.execute(f'INSERT INTO "{TABLE}" (name) VALUES (%s)', ["taken"])
        with pytest.raises(IntegrityViolationError) as info:
            db.transaction(
                [
                    (f'INSERT INTO "{TABLE}" (name) VALUES (%s)', ["fresh"]),
                    (f'INSERT INTO "{TABLE}" (name) VALUES (%s)', ["taken"]),
                ]
            )
        names = {r["name"] for r in db.execute(f'SELECT name FROM "{TABLE}"').rows}
    assert info.value.code == "23505"
    assert names == {"taken"}  # "fresh" was rolled back with the failing statement


def test_bad_sql_is_a_query_error_with_sqlstate(postgres_test_db: ServiceDatabase) -> None:
    dsn = postgres_test_db.url
    with PostgresDatabase(dsn) as db:
        with pytest.raises(QueryError) as syntax:
            db.execute("SELEC 1")
        with pytest.raises(QueryError) as missing:
            db.execute('SELECT * FROM "kzt_k5_no_such_table"')
        assert db.execute("SELECT 41 + %s AS n", [1]).scalar() == 42  # connection still usable
    assert syntax.value.code == "42601" and "SELEC 1" in str(syntax.value)
    assert missing.value.code == "42P01"


def test_lost_connection_is_typed_and_the_next_call_reconnects(
    postgres_test_db: ServiceDatabase,
) -> None:
    dsn = postgres_test_db.url
    with PostgresDatabase(dsn) as db:
        pid = db.execute("SELECT pg_backend_pid() AS pid").scalar()
        killer = psycopg2.connect(dsn, connect_timeout=10)
        try:
            with killer, killer.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(%s)", [pid])
                assert cur.fetchone()[0] is True
        finally:
            killer.close()
        with pytest.raises(ConnectionLostError) as info:
            db.execute("SELECT 1")
        assert db.execute("SELECT pg_backend_pid()").scalar() != pid
    assert "not committed" in str(info.value)


def test_unreachable_server_names_the_endpoint_not_the_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dsn = f"postgresql://test_user:s3cret@127.0.0.1:{port}/db"
    with pytest.raises(DatabaseConnectionError) as info:
        PostgresDatabase(dsn, connect_timeout=3).execute("SELECT 1")
    assert f"127.0.0.1:{port}" in str(info.value) and "s3cret" not in str(info.value)


def test_string_params_are_refused_before_sending(postgres_test_db: ServiceDatabase) -> None:
    dsn = postgres_test_db.url
    with PostgresDatabase(dsn) as db, pytest.raises(UnsafeQueryError, match="sequence"):
        db.execute("SELECT %s", "1; DROP TABLE x")  # type: ignore[arg-type]


def test_node_composes_with_a_workflow(postgres_test_db: ServiceDatabase) -> None:
    import kaizen.dataflow  # noqa: F401  (registers the node types)

    dsn = postgres_test_db.url

    with PostgresDatabase(dsn) as db:
        _create(db, TABLE)
    wf = WorkflowBuilder()
    wf.add_node(
        "PostgresQueryNode",
        "write",
        {
            "connection": dsn,
            "statements": [
                f'INSERT INTO "{TABLE}" (name, price) VALUES (%s, %s)',
                f'SELECT name, price FROM "{TABLE}" ORDER BY id',
            ],
        },
    )
    wf.add_node("PythonCodeNode", "total", {"function": lambda rows: sum(r["price"] for r in rows)})
    wf.add_connection("write", "rows", "total", "rows")
    results, _ = LocalRuntime().execute(
        wf.build(), {"write": {"params": [["a", Decimal("1.25")], None]}}
    )
    assert results["write"]["rowcount"] == 1
    assert results["total"]["result"] == Decimal("1.25")


def test_nul_byte_param_is_typed_and_nothing_is_committed(
    postgres_test_db: ServiceDatabase,
) -> None:
    """A NUL byte was a raw ValueError from psycopg2, raised after the earlier statements of
    the transaction had run, and the next call on the connection committed them."""
    with PostgresDatabase(postgres_test_db.url) as db:
        _create(db, TABLE)
        insert = f'INSERT INTO "{TABLE}" (name) VALUES (%s)'
        with pytest.raises(ParameterError, match=r"statement 2, param 0: .*NUL byte") as info:
            db.transaction([(insert, ["first"]), (insert, ["a\x00b"])])
        assert (info.value.statement, info.value.param) == (2, "0")
        assert db.execute(f'SELECT count(*) FROM "{TABLE}"').scalar() == 0
        with pytest.raises(ParameterError, match=r"param 'tags'\[1\]"):
            db.execute("SELECT %(tags)s", {"tags": ["ok", "x\x00"]})


def test_params_that_do_not_fit_roll_back(postgres_test_db: ServiceDatabase) -> None:
    """psycopg2 raises a bare TypeError for a params/placeholder mismatch: now typed, and the
    open transaction is rolled back instead of being committed by the next call."""
    with PostgresDatabase(postgres_test_db.url) as db:
        _create(db, TABLE)
        insert = f'INSERT INTO "{TABLE}" (name) VALUES (%s)'
        with pytest.raises(ParameterError, match="statement 2: not all arguments converted"):
            db.transaction([(insert, ["first"]), ("SELECT %s", [1, 2])])
        assert db.execute(f'SELECT count(*) FROM "{TABLE}"').scalar() == 0
