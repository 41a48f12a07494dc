"""PostgresDatabase against the real PostgreSQL: a rejected statement's error carries the
server's first message line (its `ERROR:` severity included), the SQLSTATE and the query,
and a statement without rows reports its affected-row count."""

from __future__ import annotations

import pytest

from kaizen.dataflow import PostgresDatabase, QueryError
from tests.utils.pytest_services import ServiceDatabase

pytestmark = pytest.mark.requires_services("postgresql")


def test_rejected_statement_message_is_the_first_server_line(
    postgres_test_db: ServiceDatabase,
) -> None:
    with PostgresDatabase(postgres_test_db.url) as db, pytest.raises(QueryError) as info:
        db.execute("SELECT nope FROM missing_table")
    assert type(info.value) is QueryError
    assert str(info.value) == (
        'postgresql: ERROR:  relation "missing_table" does not exist [42P01]; '
        "query: SELECT nope FROM missing_table"
    )
    assert (info.value.database, info.value.code) == ("postgresql", "42P01")


def test_statement_without_rows_reports_rowcount(postgres_test_db: ServiceDatabase) -> None:
    with PostgresDatabase(postgres_test_db.url) as db:
        created = db.execute("CREATE TABLE t (v int)")
        none = db.execute("UPDATE t SET v = 1")
        db.execute("INSERT INTO t VALUES (1), (2)")
        two = db.execute("UPDATE t SET v = v + 1")
    assert (created.columns, created.rows, created.rowcount) == ((), (), 0)
    assert (none.rowcount, two.rowcount, two.columns) == (0, 2, ())


def test_node_outputs_describe_the_last_statement(postgres_test_db: ServiceDatabase) -> None:
    from kaizen.dataflow.postgres import PostgresQueryNode

    node = PostgresQueryNode(
        "q",
        {
            "connection": postgres_test_db.url,
            "statements": ["CREATE TABLE n (v int)", "SELECT %s::int AS v, %s::text AS w"],
        },
    )
    out = node.run(params=[None, [7, "x"]])
    assert set(out) == {"rows", "columns", "rowcount", "lastrowid", "result", "results"}
    assert (out["rows"], out["columns"], out["rowcount"], out["lastrowid"]) == (
        [{"v": 7, "w": "x"}],
        ["v", "w"],
        1,
        None,
    )
    assert out["result"] is out["results"][-1] and len(out["results"]) == 2
    assert out["results"][0].rowcount == 0
