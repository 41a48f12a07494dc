"""SharedMemoryPool: a team's history on one session, read whole, per agent or newest-n.

Why: the pool forwards `last_n` and metadata to the memory underneath and filters by
agent; each of those, sync and async, is what a team's agents rely on."""

from __future__ import annotations

import pytest

from kaizen.errors import ConfigurationError
from kaizen.memory import InMemoryConversationMemory, SharedMemoryPool


def make_pool() -> SharedMemoryPool:
    pool = SharedMemoryPool(InMemoryConversationMemory(max_turns=10), "team-a")
    pool.write("researcher", "fact 1", {"source": "paper"})
    pool.write("writer", "draft 1")
    pool.write("researcher", "fact 2")
    return pool


def test_team_id_is_kept_and_checked() -> None:
    assert SharedMemoryPool(InMemoryConversationMemory(), "team-a").team_id == "team-a"
    with pytest.raises(ConfigurationError) as info:
        SharedMemoryPool(InMemoryConversationMemory(), "")
    assert info.value.key == "session_id"


def test_pool_lives_in_the_team_session() -> None:
    memory = InMemoryConversationMemory()
    SharedMemoryPool(memory, "team-a").write("a1", "hello")
    assert [(t.role, t.content) for t in memory.get("team:team-a")] == [("a1", "hello")]


def test_write_keeps_metadata() -> None:
    pool = make_pool()
    assert [t.metadata for t in pool.read()] == [{"source": "paper"}, {}, {}]


def test_read_last_n_and_per_agent() -> None:
    pool = make_pool()
    assert [t.content for t in pool.read(last_n=2)] == ["draft 1", "fact 2"]
    assert [t.content for t in pool.read("researcher")] == ["fact 1", "fact 2"]
    assert [t.content for t in pool.read("researcher", last_n=2)] == ["fact 2"]
    assert pool.read("nobody") == []


async def test_aread_whole_last_n_and_per_agent() -> None:
    pool = make_pool()
    assert [t.content for t in await pool.aread()] == ["fact 1", "draft 1", "fact 2"]
    assert [t.content for t in await pool.aread(last_n=1)] == ["fact 2"]
    assert [t.content for t in await pool.aread("researcher", last_n=2)] == ["fact 2"]
    assert [t.content for t in await pool.aread("writer")] == ["draft 1"]


async def test_awrite_keeps_metadata() -> None:
    pool = SharedMemoryPool(InMemoryConversationMemory(), "team-b")
    turn = await pool.awrite("a1", "note", {"k": 1})
    assert turn.metadata == {"k": 1}
    assert [t.metadata for t in pool.read()] == [{"k": 1}]
