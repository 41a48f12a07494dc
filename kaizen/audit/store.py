"""Where entries live. A store appends atomically (prev-hash read, entry write and head
update in one transaction) and reports whether the storage itself refuses edits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from kaizen.audit.entry import GENESIS_HASH, AuditEntry


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last committed position: a truncated tail cannot hide from this."""

    seq: int
    hash: str
    count: int


class AuditStore(Protocol):
    def append(self, build: Callable[[int, str], AuditEntry]) -> AuditEntry:
        """Call `build(seq, prev_hash)` inside the write transaction and store its entry."""
        ...

    def entries(self) -> list[AuditEntry]: ...

    def head(self) -> ChainHead: ...

    def append_only_enforced(self) -> bool: ...

    def describe(self) -> str: ...


class InMemoryAuditStore:
    """For unit tests and single-process tools: nothing stops edits, and the report says so."""

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []
        self._head = ChainHead(0, GENESIS_HASH, 0)
        self._lock = threading.Lock()

    def append(self, build: Callable[[int, str], AuditEntry]) -> AuditEntry:
        with self._lock:
            entry = build(self._head.seq + 1, self._head.hash)
            self._entries.append(entry)
            self._head = ChainHead(entry.seq, entry.hash, self._head.count + 1)
            return entry

    def entries(self) -> list[AuditEntry]:
        with self._lock:
            return sorted(self._entries, key=lambda e: e.seq)

    def head(self) -> ChainHead:
        return self._head

    def append_only_enforced(self) -> bool:
        return False

    def describe(self) -> str:
        return "in-process memory"

    # Tampering hooks, so unit tests can prove verify() catches each kind.
    def _tamper_replace(self, at_seq: int, **changes: Any) -> None:
        self._entries = [replace(e, **changes) if e.seq == at_seq else e for e in self._entries]

    def _tamper_delete(self, at_seq: int) -> None:
        self._entries = [e for e in self._entries if e.seq != at_seq]
