"""The PostgreSQL memory backends' table handling (shared by conversation and semantic
memory): each instance uses the table it names, a dropped table is created again on next
use, and a failed drop says so.

Why: the table name is the isolation between applications sharing a database, and `drop`
is how tests and decommissioning remove it; both are only visible on the real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaizen.dataflow.postgres import PostgresDatabase
from kaizen.errors import ConfigurationError
from kaizen.memory import MemoryStoreError, PostgresConversationMemory, PostgresVectorStore
from tests.utils.pytest_services import ServiceDatabase

pytestmark = pytest.mark.requires_services("postgresql")


@pytest.fixture
def sql(postgres_test_db: ServiceDatabase) -> Iterator[PostgresDatabase]:
    """Direct SQL on the test's own database, to look at what the backends wrote."""
    db = PostgresDatabase(postgres_test_db.url)
    yield db
    db.close()


def tables(sql: PostgresDatabase) -> list[str]:
    (result,) = sql.transaction(
        [
            (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' ORDER BY table_name",
                None,
            )
        ]
    )
    return [r["table_name"] for r in result.rows]


def test_each_instance_uses_the_table_it_names(
    postgres_test_db: ServiceDatabase, sql: PostgresDatabase
) -> None:
    a = PostgresConversationMemory(postgres_test_db.url, table="kaizen_conv_a")
    b = PostgresConversationMemory(postgres_test_db.url, table="kaizen_conv_b")
    vectors = PostgresVectorStore(postgres_test_db.url, table="kaizen_vec_a")
    try:
        a.add("s", "user", "for a")
        assert b.get("s") == []
        vectors.add("x", "east", [1.0, 0.0], {})
        assert tables(sql) == ["kaizen_conv_a", "kaizen_conv_b", "kaizen_vec_a"]
        (rows,) = sql.transaction([("SELECT session_id, content FROM kaizen_conv_a", None)])
        assert [dict(r) for r in rows.rows] == [{"session_id": "s", "content": "for a"}]
        assert [t.content for t in a.get("s")] == ["for a"]
    finally:
        a.drop()
        b.drop()
        vectors.drop()
        a.close()
        b.close()
    assert tables(sql) == []


def test_default_table_names(postgres_test_db: ServiceDatabase, sql: PostgresDatabase) -> None:
    mem = PostgresConversationMemory(postgres_test_db.url)
    vectors = PostgresVectorStore(postgres_test_db.url)
    try:
        mem.add("s", "user", "x")
        vectors.add("x", "east", [1.0, 0.0], {})
        assert tables(sql) == ["kaizen_conversation_memory", "kaizen_semantic_memory"]
    finally:
        mem.drop()
        mem.close()
        vectors.drop()


@pytest.mark.parametrize("bad", ["Memory", "1table", "a-b", "t; DROP TABLE x", "t" * 52, ""])
def test_table_names_are_validated(postgres_test_db: ServiceDatabase, bad: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        PostgresConversationMemory(postgres_test_db.url, table=bad)
    assert info.value.key == "table"


def test_a_dropped_table_is_created_again_on_next_use(
    postgres_test_db: ServiceDatabase, sql: PostgresDatabase
) -> None:
    mem = PostgresConversationMemory(postgres_test_db.url, table="kaizen_conv_again")
    vectors = PostgresVectorStore(postgres_test_db.url, table="kaizen_vec_again")
    try:
        mem.add("s", "user", "before")
        vectors.add("x", "east", [1.0, 0.0, 0.0], {})
        mem.drop()
        vectors.drop()
        assert tables(sql) == []
        mem.add("s", "user", "after")
        assert [t.content for t in mem.get("s")] == ["after"]
        vectors.add("y", "flat", [1.0, 0.0], {})  # a new table: any dimension again
        assert vectors.count() == 1
    finally:
        mem.drop()
        mem.close()
        vectors.drop()


def test_a_failed_drop_names_the_operation(
    postgres_test_db: ServiceDatabase, sql: PostgresDatabase
) -> None:
    """A view built on the table blocks DROP TABLE (without CASCADE)."""
    mem = PostgresConversationMemory(postgres_test_db.url, table="kaizen_conv_viewed")
    vectors = PostgresVectorStore(postgres_test_db.url, table="kaizen_vec_viewed")
    try:
        mem.add("s", "user", "x")
        vectors.add("x", "east", [1.0, 0.0], {})
        sql.transaction(
            [
                ("CREATE VIEW conv_view AS SELECT content FROM kaizen_conv_viewed", None),
                ("CREATE VIEW vec_view AS SELECT text FROM kaizen_vec_viewed", None),
            ]
        )
        with pytest.raises(
            MemoryStoreError, match=r"^postgresql memory could not drop the table: "
        ):
            mem.drop()
        with pytest.raises(
            MemoryStoreError, match=r"^postgresql semantic memory could not drop the table: "
        ):
            vectors.drop()
        assert [t.content for t in mem.get("s")] == ["x"]
    finally:
        sql.transaction([("DROP VIEW IF EXISTS conv_view, vec_view", None)])
        mem.drop()
        mem.close()
        vectors.drop()
