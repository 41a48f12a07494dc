"""Conversation memory in PostgreSQL: one row per turn; trimming and expiry happen in the
same transaction as the insert, so limits hold under concurrent writers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kaizen.memory._postgres import PostgresTableMixin
from kaizen.memory.conversation import ConversationMemory, Turn, check_session, check_turn


class PostgresConversationMemory(PostgresTableMixin, ConversationMemory):
    _label = "postgresql memory"

    def __init__(
        self,
        dsn: str,
        *,
        table: str = "kaizen_conversation_memory",
        max_turns: int = 50,
        ttl_seconds: float | None = None,
    ) -> None:
        super().__init__(max_turns=max_turns, ttl_seconds=ttl_seconds)
        self._open_table(dsn, table)

    def _schema(self, table: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table} (id bigserial PRIMARY KEY, "
            "session_id text NOT NULL, role text NOT NULL, content text NOT NULL,"
            " metadata text NOT NULL, created_at double precision NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {table}_session ON {table} (session_id, id)",
        ]

    def _expiry(self) -> str:
        # A session expires ttl seconds after its newest turn (the server's clock decides).
        if self.ttl_seconds is None:
            return "false"
        return (
            f"(SELECT max(created_at) FROM {self.table} WHERE session_id = %(s)s) "
            f"<= extract(epoch FROM clock_timestamp()) - {float(self.ttl_seconds)!r}"
        )

    def add(
        self, session_id: str, role: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn:
        check_session(session_id)
        check_turn(role, content)
        t = self.table
        params = {
            "s": session_id,
            "r": role,
            "c": content,
            "m": json.dumps(dict(metadata or {}), default=str),
            "n": self.max_turns,
        }
        results = self._run(
            [
                (f"DELETE FROM {t} WHERE session_id = %(s)s AND {self._expiry()}", params),
                (
                    f"INSERT INTO {t} (session_id, role, content, metadata, created_at) "
                    "VALUES (%(s)s, %(r)s, %(c)s, %(m)s, extract(epoch FROM clock_timestamp())) "
                    "RETURNING created_at",
                    params,
                ),
                (
                    f"DELETE FROM {t} WHERE session_id = %(s)s AND id NOT IN (SELECT id FROM {t} "
                    "WHERE session_id = %(s)s ORDER BY id DESC LIMIT %(n)s)",
                    params,
                ),
            ],
            "add a turn",
        )
        return Turn(role, content, dict(metadata or {}), float(results[1].scalar()))

    def get(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        check_session(session_id)
        n = self._check_last_n(last_n)
        t = self.table
        (result,) = self._run(
            [
                (
                    f"SELECT role, content, metadata, created_at FROM {t} WHERE session_id = "
                    f"%(s)s AND NOT {self._expiry()} ORDER BY id DESC LIMIT %(n)s",
                    {"s": session_id, "n": n},
                )
            ],
            "read turns",
        )
        return [
            Turn(r["role"], r["content"], json.loads(r["metadata"]), float(r["created_at"]))
            for r in reversed(result.rows)
        ]

    def clear(self, session_id: str) -> None:
        check_session(session_id)
        self._run([(f"DELETE FROM {self.table} WHERE session_id = %s", [session_id])], "clear")
