"""Conversation memory in Redis: one list per session, trimmed and expired atomically."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from kaizen.memory.conversation import ConversationMemory, Turn, check_session, check_turn
from kaizen.memory.errors import MemoryStoreError


class RedisConversationMemory(ConversationMemory):
    """RPUSH + LTRIM + EXPIRE in one MULTI/EXEC, so limits hold even with many writers."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "kaizen:memory:",
        max_turns: int = 50,
        ttl_seconds: float | None = None,
    ) -> None:
        super().__init__(max_turns=max_turns, ttl_seconds=ttl_seconds)
        from kaizen.dataflow.redis import RedisDatabase

        self.prefix = prefix
        self._db = RedisDatabase(url)

    def _key(self, session_id: str) -> str:
        return self.prefix + check_session(session_id)

    def _guard(self, call: Any, what: str) -> Any:
        from kaizen.dataflow.errors import DataFlowError

        try:
            return call()
        except DataFlowError as exc:
            raise MemoryStoreError(f"redis memory could not {what}: {exc}") from exc

    def add(
        self, session_id: str, role: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn:
        check_turn(role, content)
        key = self._key(session_id)
        turn = Turn(role, content, dict(metadata or {}), time.time())
        commands: list[tuple[str, list[Any]]] = [
            ("RPUSH", [key, json.dumps(turn.to_dict(), default=str)]),
            ("LTRIM", [key, -self.max_turns, -1]),
        ]
        if self.ttl_seconds is not None:
            commands.append(("PEXPIRE", [key, int(self.ttl_seconds * 1000)]))
        self._guard(lambda: self._db.transaction(commands), "add a turn")
        return turn

    def get(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        n = self._check_last_n(last_n)
        key = self._key(session_id)
        raw = self._guard(lambda: self._db.command("LRANGE", key, -n, -1), "read turns")
        return [Turn.from_dict(json.loads(item)) for item in raw]

    def clear(self, session_id: str) -> None:
        key = self._key(session_id)
        self._guard(lambda: self._db.command("DEL", key), "clear a session")

    def close(self) -> None:
        self._db.close()
