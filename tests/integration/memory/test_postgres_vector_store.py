"""PostgresVectorStore against the real PostgreSQL, with hand-made vectors (no model).

Why: the cosine is computed in SQL, so scores, ranking, the dimension check on add and on
search, the stored text and metadata, and the errors naming the failed operation must be
checked on the real database."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from kaizen.memory import (
    EmbeddingDimensionError,
    MemoryMatch,
    MemoryStoreError,
    PostgresVectorStore,
)
from tests.utils.pytest_services import ServiceDatabase

pytestmark = pytest.mark.requires_services("postgresql")

TABLE = "kaizen_vectors_test"
MISMATCH = f"table {TABLE}: embedding has 2 dimensions, the store holds 3; "


def test_search_returns_text_metadata_and_exact_scores(postgres_test_db: ServiceDatabase) -> None:
    store = PostgresVectorStore(postgres_test_db.url, table=TABLE)
    try:
        assert store.search([1.0, 0.0, 0.0], k=3) == []  # empty: any dimension
        store.add("east", "go east", [1.0, 0.0, 0.0], {"dir": "e", "n": [1]})
        store.add("north", "go north", [0.0, 1.0, 0.0], {})
        store.add("mixed", "mostly north", [3.0, 4.0, 0.0], {"dir": "ne"})
        assert store.search([2.0, 0.0, 0.0], k=3) == [
            MemoryMatch("east", "go east", pytest.approx(1.0, abs=1e-12), {"dir": "e", "n": [1]}),
            MemoryMatch("mixed", "mostly north", pytest.approx(0.6, abs=1e-12), {"dir": "ne"}),
            MemoryMatch("north", "go north", pytest.approx(0.0, abs=1e-12), {}),
        ]
        assert [m.id for m in store.search([0.0, 1.0, 0.0], k=2)] == ["north", "mixed"]
        assert store.count() == 3
    finally:
        store.drop()


def test_metadata_that_is_not_json_is_stored_as_text(postgres_test_db: ServiceDatabase) -> None:
    store = PostgresVectorStore(postgres_test_db.url, table=TABLE)
    try:
        store.add("a", "dated", [1.0, 0.0], {"when": datetime(2024, 1, 2, 3, 4, 5)})
        (match,) = store.search([1.0, 0.0], k=1)
        assert match.metadata == {"when": "2024-01-02 03:04:05"}
    finally:
        store.drop()


def test_other_dimensions_refused_on_add_and_search(postgres_test_db: ServiceDatabase) -> None:
    store = PostgresVectorStore(postgres_test_db.url, table=TABLE)
    try:
        store.add("x", "east", [1.0, 0.0, 0.0], {})
        with pytest.raises(EmbeddingDimensionError, match="^" + re.escape(MISMATCH)) as info:
            store.add("y", "flat", [1.0, 0.0], {})
        assert (info.value.expected, info.value.got) == (3, 2)
        with pytest.raises(EmbeddingDimensionError, match="^" + re.escape(MISMATCH)) as info:
            store.search([1.0, 0.0], k=1)
        assert (info.value.expected, info.value.got) == (3, 2)
        assert store.count() == 1
    finally:
        store.drop()


def test_failed_writes_and_searches_name_the_operation(
    postgres_test_db: ServiceDatabase,
) -> None:
    store = PostgresVectorStore(postgres_test_db.url, table=TABLE)
    try:
        store.add("x", "east", [1.0, 0.0], {})
        with pytest.raises(
            MemoryStoreError, match=r"^postgresql semantic memory could not store an embedding: "
        ):
            store.add("x", "again", [0.0, 1.0], {})  # the id is taken
        with pytest.raises(
            MemoryStoreError, match=r"^postgresql semantic memory could not search: "
        ):
            store.search([1.0, 0.0], k=-1)  # LIMIT -1
        assert store.count() == 1
    finally:
        store.drop()


def test_reads_name_the_operation_when_the_table_is_gone(
    postgres_test_db: ServiceDatabase,
) -> None:
    store = PostgresVectorStore(postgres_test_db.url, table=TABLE)
    other = PostgresVectorStore(postgres_test_db.url, table=TABLE)
    try:
        assert store.count() == 0
        other.drop()  # another user decommissions the table
        with pytest.raises(
            MemoryStoreError, match=r"^postgresql semantic memory could not count: "
        ):
            store.count()
        with pytest.raises(MemoryStoreError, match=r"^postgresql semantic memory could not read: "):
            store.add("x", "east", [1.0, 0.0], {})
        with pytest.raises(MemoryStoreError, match=r"^postgresql semantic memory could not read: "):
            store.search([1.0, 0.0], k=1)
    finally:
        store.close()
