"""MySQLQueryNode / MySQLDatabase against the real MySQL-wire server (MariaDB here)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kaizen import LocalRuntime, WorkflowBuilder
from kaizen.dataflow import (
    ConnectionLostError,
    IntegrityViolationError,
    MySQLDatabase,
    QueryError,
)
from tests.utils.pytest_services import ServiceDatabase

pytestmark = pytest.mark.requires_services("mysql")

TABLE = "items"  # in the test's own schema (mysql_test_db), dropped with it


def _create(db: MySQLDatabase, table: str) -> None:
    db.execute(
        f"CREATE TABLE `{table}` (id INT AUTO_INCREMENT PRIMARY KEY, "
        "name VARCHAR(200) NOT NULL UNIQUE, price DECIMAL(8,2), created DATETIME)"
    )


def test_typed_results_and_lastrowid(mysql_test_db: ServiceDatabase) -> None:
    dsn = mysql_test_db.url
    with MySQLDatabase(dsn) as db:
        _create(db, TABLE)
        first = db.execute(
            f"INSERT INTO `{TABLE}` (name, price, created) VALUES (%s, %s, %s)",
            ["gear", Decimal("3.10"), dt.datetime(2024, 1, 2, 3, 4, 5)],
        )
        row = db.execute(f"SELECT * FROM `{TABLE}` WHERE id = %s", [first.lastrowid]).first()
    assert isinstance(first.lastrowid, int) and first.rowcount == 1
    assert row == {
        "id": first.lastrowid,
        "name": "gear",
        "price": Decimal("3.10"),
        "created": dt.datetime(2024, 1, 2, 3, 4, 5),
    }


def test_injection_attempt_is_inert(mysql_test_db: ServiceDatabase) -> None:
    dsn = mysql_test_db.url
    attack = f"x'); DROP TABLE `{TABLE}`; -- "
    with MySQLDatabase(dsn) as db:
        _create(db, TABLE)
        db.execute(f"INSERT INTO `{TABLE}` (name) VALUES (%s)", [attack])
        found = db.execute(f"SELECT name FROM `{TABLE}` WHERE name = %s", ["' OR 1=1 -- "])
        stored = db.execute(f"SELECT name FROM `{TABLE}`")
    assert len(found) == 0
    assert [r["name"] for r in stored.rows] == [attack]


def test_transaction_rolls_back_on_failure(mysql_test_db: ServiceDatabase) -> None:
    dsn = mysql_test_db.url
    with MySQLDatabase(dsn) as db:
        _create(db, TABLE)
        db.execute(f"INSERT INTO `{TABLE}` (name) VALUES (%s)", ["taken"])
        with pytest.raises(IntegrityViolationError) as info:
            db.transaction(
                [
                    (f"INSERT INTO `{TABLE}` (name) VALUES (%s)", ["fresh"]),
                    (f"INSERT INTO `{TABLE}` (name) VALUES (%s)", ["taken"]),
                ]
            )
        names = {r["name"] for r in db.execute(f"SELECT name FROM `{TABLE}`").rows}
    assert info.value.code == "1062"
    assert names == {"taken"}


def test_bad_sql_is_a_query_error(mysql_test_db: ServiceDatabase) -> None:
    dsn = mysql_test_db.url
    with MySQLDatabase(dsn) as db:
        with pytest.raises(QueryError) as info:
            db.execute("SELEC 1")
        assert db.execute("SELECT 2 * %s AS n", [21]).scalar() == 42
    assert info.value.code == "1064" and "SELEC 1" in str(info.value)


def test_killed_connection_is_typed_and_the_next_call_reconnects(
    mysql_test_db: ServiceDatabase,
) -> None:
    dsn = mysql_test_db.url
    with MySQLDatabase(dsn) as db:
        conn_id = db.execute("SELECT CONNECTION_ID() AS id").scalar()
        with MySQLDatabase(dsn) as killer:
            killer.execute("KILL %s", [conn_id])
        with pytest.raises(ConnectionLostError):
            db.execute("SELECT 1")
        assert db.execute("SELECT CONNECTION_ID()").scalar() != conn_id


def test_node_reads_rows_into_a_workflow(mysql_test_db: ServiceDatabase) -> None:
    import kaizen.dataflow  # noqa: F401

    dsn = mysql_test_db.url

    with MySQLDatabase(dsn) as db:
        _create(db, TABLE)
        db.transaction([(f"INSERT INTO `{TABLE}` (name) VALUES (%s)", [n]) for n in ("b", "a")])
    wf = WorkflowBuilder()
    wf.add_node(
        "MySQLQueryNode",
        "read",
        {"connection": dsn, "query": f"SELECT name FROM `{TABLE}` WHERE name > %s"},
    )
    wf.add_node(
        "PythonCodeNode", "names", {"function": lambda rows: sorted(r["name"] for r in rows)}
    )
    wf.add_connection("read", "rows", "names", "rows")
    results, _ = LocalRuntime().execute(wf.build(), {"read": {"params": [""]}})
    assert results["names"]["result"] == ["a", "b"]


def test_a_statement_may_outlast_the_connect_timeout(mysql_test_db: ServiceDatabase) -> None:
    """The greeting and login are bounded by connect_timeout; statements are not."""
    with MySQLDatabase(mysql_test_db.url, connect_timeout=1) as db:
        slept = db.execute("SELECT SLEEP(2) AS s").first()
    assert slept == {"s": 0}
