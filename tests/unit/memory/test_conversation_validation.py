"""Conversation-memory argument checks: the limits, session ids, turns and `last_n`.

Why: every backend shares these checks, so a bad value must fail the same way everywhere,
as a ConfigurationError whose key names the argument and whose message says what is
allowed; the boundaries (1 turn, 200-character ids) must be accepted."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen.errors import ConfigurationError
from kaizen.memory import InMemoryConversationMemory


@pytest.mark.parametrize("bad", [0, -3, True, 2.0, "5", None])
def test_max_turns_must_be_a_positive_integer(bad: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        InMemoryConversationMemory(max_turns=bad)
    assert info.value.key == "max_turns"
    assert str(info.value) == f"max_turns: must be a positive integer, got {bad!r}"


def test_one_turn_is_a_valid_limit() -> None:
    mem = InMemoryConversationMemory(max_turns=1)
    mem.add("s", "user", "old")
    mem.add("s", "user", "new")
    assert [t.content for t in mem.get("s")] == ["new"]


@pytest.mark.parametrize("bad", [0, -1, 0.0, True, False, "10", float("nan"), float("inf")])
def test_ttl_must_be_positive_finite_seconds(bad: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        InMemoryConversationMemory(ttl_seconds=bad)
    assert info.value.key == "ttl_seconds"
    assert str(info.value) == (
        f"ttl_seconds: must be a positive number of seconds or None, got {bad!r}"
    )


@pytest.mark.parametrize("ttl", [None, 1, 0.25])
def test_valid_ttls_are_kept(ttl: float | None) -> None:
    assert InMemoryConversationMemory(ttl_seconds=ttl).ttl_seconds == ttl


@pytest.mark.parametrize("bad", ["", "x" * 201, 7, None])
def test_session_id_checked_on_every_operation(bad: Any) -> None:
    mem = InMemoryConversationMemory()
    message = f"session_id: must be a non-empty string of at most 200 characters, got {bad!r}"
    for call in (
        lambda: mem.add(bad, "user", "x"),
        lambda: mem.get(bad),
        lambda: mem.clear(bad),
    ):
        with pytest.raises(ConfigurationError) as info:
            call()
        assert info.value.key == "session_id"
        assert str(info.value) == message


def test_session_id_of_200_characters_is_accepted() -> None:
    mem = InMemoryConversationMemory()
    sid = "s" * 200
    mem.add(sid, "user", "x")
    assert [t.content for t in mem.get(sid)] == ["x"]


@pytest.mark.parametrize("bad", ["", None, 3])
def test_role_must_be_a_non_empty_string(bad: Any) -> None:
    mem = InMemoryConversationMemory()
    with pytest.raises(ConfigurationError) as info:
        mem.add("s", bad, "x")
    assert info.value.key == "role"
    assert str(info.value) == f"role: must be a non-empty string, got {bad!r}"
    assert mem.get("s") == []


@pytest.mark.parametrize(("bad", "type_name"), [(3, "int"), (None, "NoneType"), (b"x", "bytes")])
def test_content_must_be_a_string(bad: Any, type_name: str) -> None:
    mem = InMemoryConversationMemory()
    with pytest.raises(ConfigurationError) as info:
        mem.add("s", "user", bad)
    assert info.value.key == "content"
    assert str(info.value) == f"content: must be a string, got {type_name}"


def test_empty_content_is_a_valid_turn() -> None:
    mem = InMemoryConversationMemory()
    mem.add("s", "user", "")
    assert [t.content for t in mem.get("s")] == [""]


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_last_n_must_be_a_positive_integer(bad: Any) -> None:
    mem = InMemoryConversationMemory()
    mem.add("s", "user", "x")
    with pytest.raises(ConfigurationError) as info:
        mem.get("s", last_n=bad)
    assert info.value.key == "last_n"
    assert str(info.value) == f"last_n: must be a positive integer, got {bad!r}"


def test_last_n_above_the_limit_returns_the_kept_turns() -> None:
    mem = InMemoryConversationMemory(max_turns=2)
    for i in range(4):
        mem.add("s", "user", f"m{i}")
    assert [t.content for t in mem.get("s", last_n=10)] == ["m2", "m3"]
    assert [t.content for t in mem.get("s", last_n=1)] == ["m3"]
