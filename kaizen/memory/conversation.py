"""Conversation memory: per-session turns with the same limits on every backend.

Limits: `max_turns` keeps only the newest turns of a session; `ttl_seconds` expires a
session that many seconds after its last write (Redis EXPIRE semantics, reproduced by the
other backends).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kaizen.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    timestamp: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "content": self.content,
            "metadata": dict(self.metadata),
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Turn:
        return cls(data["role"], data["content"], data.get("metadata") or {}, data["timestamp"])


def check_limits(max_turns: Any, ttl_seconds: Any) -> None:
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns <= 0:
        raise ConfigurationError("max_turns", f"must be a positive integer, got {max_turns!r}")
    if ttl_seconds is not None and (
        isinstance(ttl_seconds, bool)
        or not isinstance(ttl_seconds, int | float)
        or not math.isfinite(ttl_seconds)
        or ttl_seconds <= 0
    ):
        raise ConfigurationError(
            "ttl_seconds", f"must be a positive number of seconds or None, got {ttl_seconds!r}"
        )


def check_session(session_id: Any) -> str:
    if not isinstance(session_id, str) or not session_id or len(session_id) > 200:
        raise ConfigurationError(
            "session_id",
            f"must be a non-empty string of at most 200 characters, got {session_id!r}",
        )
    return session_id


def check_turn(role: Any, content: Any) -> None:
    if not isinstance(role, str) or not role:
        raise ConfigurationError("role", f"must be a non-empty string, got {role!r}")
    if not isinstance(content, str):
        raise ConfigurationError("content", f"must be a string, got {type(content).__name__}")


class ConversationMemory(ABC):
    """The one interface: `add`, `get`, `clear` (and async twins that run off the loop)."""

    def __init__(self, *, max_turns: int = 50, ttl_seconds: float | None = None) -> None:
        check_limits(max_turns, ttl_seconds)
        self.max_turns = max_turns
        self.ttl_seconds = ttl_seconds

    @abstractmethod
    def add(
        self, session_id: str, role: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn: ...

    @abstractmethod
    def get(self, session_id: str, last_n: int | None = None) -> list[Turn]: ...

    @abstractmethod
    def clear(self, session_id: str) -> None: ...

    def close(self) -> None:  # noqa: B027 - backends without connections need nothing
        """Release connections."""

    async def aadd(
        self, session_id: str, role: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn:
        return await asyncio.to_thread(self.add, session_id, role, content, metadata)

    async def aget(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        return await asyncio.to_thread(self.get, session_id, last_n)

    def _check_last_n(self, last_n: int | None) -> int:
        if last_n is None:
            return self.max_turns
        if isinstance(last_n, bool) or not isinstance(last_n, int) or last_n <= 0:
            raise ConfigurationError("last_n", f"must be a positive integer, got {last_n!r}")
        return min(last_n, self.max_turns)


class InMemoryConversationMemory(ConversationMemory):
    """A bounded buffer per session in this process. `clock` is injectable for TTL tests."""

    def __init__(
        self,
        *,
        max_turns: int = 50,
        ttl_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(max_turns=max_turns, ttl_seconds=ttl_seconds)
        self._clock = clock
        self._sessions: dict[str, tuple[deque[Turn], float]] = {}
        self._lock = threading.Lock()

    def _live(self, session_id: str) -> deque[Turn] | None:
        found = self._sessions.get(session_id)
        if found is None:
            return None
        turns, last_write = found
        if self.ttl_seconds is not None and self._clock() - last_write >= self.ttl_seconds:
            del self._sessions[session_id]
            return None
        return turns

    def add(
        self, session_id: str, role: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn:
        check_session(session_id)
        check_turn(role, content)
        now = self._clock()
        turn = Turn(role, content, dict(metadata or {}), now)
        with self._lock:
            turns = self._live(session_id)
            if turns is None:
                turns = deque(maxlen=self.max_turns)
            turns.append(turn)
            self._sessions[session_id] = (turns, now)
        return turn

    def get(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        check_session(session_id)
        n = self._check_last_n(last_n)
        with self._lock:
            turns = self._live(session_id)
            return list(turns)[-n:] if turns else []

    def clear(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(check_session(session_id), None)

    def session_count(self) -> int:
        with self._lock:
            return sum(1 for s in list(self._sessions) if self._live(s) is not None)
