"""PostgresConversationMemory against the real PostgreSQL: the turns `add` returns, the
stored metadata and timestamps, its default limit, and errors that say which operation
failed.

Why: `add` answers with the row's server timestamp and `get` must give back the same turns;
metadata that is not JSON is stored as text rather than failing the write."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal

import pytest

from kaizen.memory import MemoryStoreError, PostgresConversationMemory, Turn
from tests.utils.pytest_services import ServiceDatabase

pytestmark = pytest.mark.requires_services("postgresql")


def test_add_returns_the_stored_turn(postgres_test_db: ServiceDatabase) -> None:
    mem = PostgresConversationMemory(postgres_test_db.url)
    try:
        before = time.time()
        first = mem.add("s", "user", "question", {"k": "v", "n": [1, 2]})
        second = mem.add("s", "assistant", "answer")
        after = time.time()
        assert first == Turn("user", "question", {"k": "v", "n": [1, 2]}, first.timestamp)
        assert second == Turn("assistant", "answer", {}, second.timestamp)
        # the server's clock, on this machine: within the calls, allowing clock rounding
        assert before - 1 <= first.timestamp <= second.timestamp <= after + 1
        assert mem.get("s") == [first, second]
        assert mem.get("s", last_n=1) == [second]
    finally:
        mem.drop()
        mem.close()


def test_metadata_that_is_not_json_is_stored_as_text(postgres_test_db: ServiceDatabase) -> None:
    mem = PostgresConversationMemory(postgres_test_db.url)
    try:
        meta = {"when": datetime(2024, 1, 2, 3, 4, 5), "price": Decimal("1.50")}
        turn = mem.add("s", "user", "x", meta)
        assert turn.metadata == meta
        assert [t.metadata for t in mem.get("s")] == [
            {"when": "2024-01-02 03:04:05", "price": "1.50"}
        ]
    finally:
        mem.drop()
        mem.close()


def test_default_limit_is_50_turns(postgres_test_db: ServiceDatabase) -> None:
    mem = PostgresConversationMemory(postgres_test_db.url)
    try:
        assert mem.max_turns == 50
        for i in range(51):
            mem.add("s", "user", f"m{i}")
        turns = mem.get("s", last_n=50)
        assert len(turns) == 50 and turns[0].content == "m1" and turns[-1].content == "m50"
    finally:
        mem.drop()
        mem.close()


def test_failures_name_the_operation(postgres_test_db: ServiceDatabase) -> None:
    """The table is dropped by another user after this one created it: each operation
    reports itself (the table is created once per instance, not before every statement)."""
    table = "kaizen_conv_dropped"
    mem = PostgresConversationMemory(postgres_test_db.url, table=table)
    other = PostgresConversationMemory(postgres_test_db.url, table=table)
    try:
        mem.add("s", "user", "x")
        other.drop()
        with pytest.raises(MemoryStoreError, match=r"^postgresql memory could not add a turn: "):
            mem.add("s", "user", "y")
        with pytest.raises(MemoryStoreError, match=r"^postgresql memory could not read turns: "):
            mem.get("s")
        with pytest.raises(MemoryStoreError, match=r"^postgresql memory could not clear: "):
            mem.clear("s")
    finally:
        other.drop()
        other.close()
        mem.close()
