"""RedisConversationMemory against the real Redis: the keys, values and expiry it writes,
its defaults, and errors that say which operation failed.

Why: other processes read these keys (and operators inspect them), so the key name, the
stored JSON and the PEXPIRE in milliseconds are part of the contract, beyond what the
cross-backend tests check through `get`."""

from __future__ import annotations

import json
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from kaizen.memory import MemoryStoreError, RedisConversationMemory, Turn

pytestmark = pytest.mark.requires_services("redis")


def test_default_key_prefix_and_stored_json(redis_url: str, redis_clean: Any) -> None:
    mem = RedisConversationMemory(redis_url)
    try:
        before = time.time()
        turn = mem.add("s1", "user", "hello", {"n": 1})
        after = time.time()
    finally:
        mem.close()
    assert before <= turn.timestamp <= after
    assert redis_clean.keys("*") == ["kaizen:memory:s1"]
    (raw,) = redis_clean.lrange("kaizen:memory:s1", 0, -1)
    assert json.loads(raw) == {
        "role": "user",
        "content": "hello",
        "metadata": {"n": 1},
        "timestamp": turn.timestamp,
    }


def test_custom_prefix_separates_memories(redis_url: str, redis_clean: Any) -> None:
    a = RedisConversationMemory(redis_url, prefix="app-a:")
    b = RedisConversationMemory(redis_url)
    try:
        a.add("s", "user", "for a")
        assert b.get("s") == []
        assert [t.content for t in a.get("s")] == ["for a"]
    finally:
        a.close()
        b.close()
    assert sorted(redis_clean.keys("*")) == ["app-a:s"]


def test_get_returns_the_turns_as_written(redis_url: str) -> None:
    mem = RedisConversationMemory(redis_url)
    try:
        first = mem.add("s", "user", "q", {"k": "v"})
        second = mem.add("s", "assistant", "a")
        assert mem.get("s") == [first, second]
        assert first.timestamp <= second.timestamp
        assert first == Turn("user", "q", {"k": "v"}, first.timestamp) and first.timestamp > 0
    finally:
        mem.close()


def test_default_limit_is_50_turns(redis_url: str, redis_clean: Any) -> None:
    mem = RedisConversationMemory(redis_url)
    try:
        for i in range(51):
            mem.add("s", "user", f"m{i}")
        turns = mem.get("s")
    finally:
        mem.close()
    assert len(turns) == 50 and turns[0].content == "m1" and turns[-1].content == "m50"
    assert redis_clean.llen("kaizen:memory:s") == 50


@pytest.mark.parametrize(("ttl", "ms"), [(100, 100_000), (2.5, 2_500)])
def test_ttl_is_set_in_milliseconds(redis_url: str, redis_clean: Any, ttl: float, ms: int) -> None:
    mem = RedisConversationMemory(redis_url, ttl_seconds=ttl)
    try:
        mem.add("s", "user", "x")
        assert ms - 1_000 < redis_clean.pttl("kaizen:memory:s") <= ms
        mem.add("s", "user", "y")  # every write restarts the clock
        assert ms - 1_000 < redis_clean.pttl("kaizen:memory:s") <= ms
    finally:
        mem.close()


def test_without_ttl_the_session_never_expires(redis_url: str, redis_clean: Any) -> None:
    mem = RedisConversationMemory(redis_url)
    try:
        mem.add("s", "user", "x")
    finally:
        mem.close()
    assert redis_clean.pttl("kaizen:memory:s") == -1


def test_metadata_that_is_not_json_is_stored_as_text(redis_url: str) -> None:
    mem = RedisConversationMemory(redis_url)
    try:
        mem.add("s", "user", "x", {"when": datetime(2024, 1, 2, 3, 4, 5), "price": Decimal("1.50")})
        (turn,) = mem.get("s")
    finally:
        mem.close()
    assert turn.metadata == {"when": "2024-01-02 03:04:05", "price": "1.50"}


def test_failures_name_the_operation(redis_url: str, redis_clean: Any) -> None:
    """A database index the server does not have: every command is refused."""
    databases = int(redis_clean.config_get("databases")["databases"])
    base = redis_url.rsplit("/", 1)[0]
    mem = RedisConversationMemory(f"{base}/{databases}")
    try:
        with pytest.raises(MemoryStoreError, match=r"^redis memory could not add a turn: "):
            mem.add("s", "user", "x")
        with pytest.raises(MemoryStoreError, match=r"^redis memory could not read turns: "):
            mem.get("s")
        with pytest.raises(MemoryStoreError, match=r"^redis memory could not clear a session: "):
            mem.clear("s")
    finally:
        mem.close()
