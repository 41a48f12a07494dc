"""InMemoryConversationMemory (and the ConversationMemory interface it implements):
timestamps, the default limit, clearing, live-session counting and the async reads.

Why: these are what callers observe of the in-process backend beyond plain add/get; the
default of 50 turns is part of the interface every backend inherits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kaizen.memory import ConversationMemory, InMemoryConversationMemory, Turn


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_turn_timestamp_is_the_clock_at_write() -> None:
    clock = FakeClock(1234.5)
    mem = InMemoryConversationMemory(clock=clock)
    turn = mem.add("s", "user", "hi", {"k": "v"})
    assert turn == Turn("user", "hi", {"k": "v"}, 1234.5)
    clock.now = 1300.0
    mem.add("s", "assistant", "hello")
    assert [t.timestamp for t in mem.get("s")] == [1234.5, 1300.0]


def test_default_limit_is_50_turns() -> None:
    mem = InMemoryConversationMemory()
    assert mem.max_turns == 50
    for i in range(51):
        mem.add("s", "user", f"m{i}")
    turns = mem.get("s")
    assert len(turns) == 50
    assert turns[0].content == "m1" and turns[-1].content == "m50"


class ListMemory(ConversationMemory):
    """A minimal backend that relies on the interface's defaults."""

    def __init__(self) -> None:
        super().__init__()
        self.turns: list[Turn] = []

    def add(
        self, session_id: str, role: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn:
        turn = Turn(role, content, dict(metadata or {}), 0.0)
        self.turns.append(turn)
        return turn

    def get(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        return self.turns[-self._check_last_n(last_n) :]

    def clear(self, session_id: str) -> None:
        self.turns.clear()


def test_interface_defaults_to_50_turns_and_no_ttl() -> None:
    mem = ListMemory()
    assert (mem.max_turns, mem.ttl_seconds) == (50, None)
    for i in range(60):
        mem.add("s", "user", f"m{i}")
    assert len(mem.get("s")) == 50


def test_clearing_an_unknown_session_is_a_no_op() -> None:
    mem = InMemoryConversationMemory()
    mem.add("kept", "user", "x")
    mem.clear("never-written")
    mem.clear("kept")
    mem.clear("kept")
    assert mem.get("kept") == [] and mem.session_count() == 0


def test_session_count_counts_live_sessions_only() -> None:
    clock = FakeClock()
    mem = InMemoryConversationMemory(ttl_seconds=10, clock=clock)
    assert mem.session_count() == 0
    mem.add("old", "user", "x")
    assert mem.session_count() == 1
    clock.now += 5
    mem.add("new", "user", "y")
    mem.add("new", "user", "z")
    assert mem.session_count() == 2
    clock.now += 5  # "old" is now 10 s past its last write: expired
    assert mem.session_count() == 1
    assert mem.get("old") == [] and [t.content for t in mem.get("new")] == ["y", "z"]


async def test_async_twins_honour_last_n() -> None:
    mem = InMemoryConversationMemory(max_turns=5)
    for i in range(3):
        await mem.aadd("s", "user", f"m{i}", {"i": i})
    assert [t.content for t in await mem.aget("s", last_n=2)] == ["m1", "m2"]
    assert [t.content for t in await mem.aget("s", 1)] == ["m2"]
    assert [t.metadata for t in await mem.aget("s")] == [{"i": 0}, {"i": 1}, {"i": 2}]
