"""A team's shared memory pool: every agent writes under its own id, every agent reads
the whole team's history. Built on any `ConversationMemory`, so the limits are the same."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kaizen.memory.conversation import ConversationMemory, Turn, check_session


class SharedMemoryPool:
    def __init__(self, memory: ConversationMemory, team_id: str) -> None:
        self.memory = memory
        self.team_id = check_session(team_id)
        self._session = f"team:{team_id}"

    def write(self, agent_id: str, content: str, metadata: Mapping[str, Any] | None = None) -> Turn:
        return self.memory.add(self._session, agent_id, content, metadata)

    async def awrite(
        self, agent_id: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn:
        return await self.memory.aadd(self._session, agent_id, content, metadata)

    def read(self, agent_id: str | None = None, last_n: int | None = None) -> list[Turn]:
        """The team's newest turns (optionally only one agent's)."""
        turns = self.memory.get(self._session, last_n)
        return turns if agent_id is None else [t for t in turns if t.role == agent_id]

    async def aread(self, agent_id: str | None = None, last_n: int | None = None) -> list[Turn]:
        turns = await self.memory.aget(self._session, last_n)
        return turns if agent_id is None else [t for t in turns if t.role == agent_id]

    def clear(self) -> None:
        self.memory.clear(self._session)
