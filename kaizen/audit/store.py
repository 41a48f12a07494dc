"""Where entries live. A store appends atomically (prev-hash read, entry write and head
update in one transaction) and reports whether the storage itself refuses edits."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from kaizen.audit.entry import GENESIS_HASH, AuditEntry, canonical_json


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last committed position. `seal` authenticates it (an HMAC with the trail's key),
    so whoever deletes the tail cannot rewrite the head to match without the key."""

    seq: int
    hash: str
    count: int
    seal: str = ""

    @property
    def digest(self) -> str:
        """`"<seq>:<hash>"`: record it elsewhere, pass it back to `verify(expected_head=)`."""
        return f"{self.seq}:{self.hash}"

    @property
    def is_genesis(self) -> bool:
        return self.seq == 0 and self.count == 0 and self.hash == GENESIS_HASH

    def compute_seal(self, key: bytes | None = None) -> str:
        data = canonical_json(
            {"kaizen_audit_head": 1, "seq": self.seq, "hash": self.hash, "count": self.count}
        ).encode()
        if key:
            return hmac.new(key, data, hashlib.sha256).hexdigest()
        return hashlib.sha256(data).hexdigest()


Seal = Callable[[ChainHead], str]


class AuditStore(Protocol):
    def append(self, build: Callable[[int, str], AuditEntry], seal: Seal) -> AuditEntry:
        """Call `build(seq, prev_hash)` inside the write transaction, store its entry and
        the new head with `seal(head)` as its seal."""
        ...

    def entries(self) -> list[AuditEntry]: ...

    def head(self) -> ChainHead: ...

    def missing(self) -> tuple[str, ...]:
        """Names of storage parts that do not exist (a dropped table is not an empty trail)."""
        ...

    def append_only_enforced(self) -> bool: ...

    def describe(self) -> str: ...


class InMemoryAuditStore:
    """For unit tests and single-process tools: nothing stops edits, and the report says so."""

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []
        self._head = ChainHead(0, GENESIS_HASH, 0)
        self._lock = threading.Lock()

    def append(self, build: Callable[[int, str], AuditEntry], seal: Seal) -> AuditEntry:
        with self._lock:
            entry = build(self._head.seq + 1, self._head.hash)
            head = ChainHead(entry.seq, entry.hash, self._head.count + 1)
            self._entries.append(entry)
            self._head = replace(head, seal=seal(head))
            return entry

    def entries(self) -> list[AuditEntry]:
        with self._lock:
            return sorted(self._entries, key=lambda e: e.seq)

    def head(self) -> ChainHead:
        return self._head

    def missing(self) -> tuple[str, ...]:
        return ()

    def append_only_enforced(self) -> bool:
        return False

    def describe(self) -> str:
        return "in-process memory"

    # Tampering hooks, so unit tests can prove verify() catches each kind.
    def _tamper_replace(self, at_seq: int, **changes: Any) -> None:
        self._entries = [replace(e, **changes) if e.seq == at_seq else e for e in self._entries]

    def _tamper_delete(self, at_seq: int) -> None:
        self._entries = [e for e in self._entries if e.seq != at_seq]

    def _tamper_head(self, **changes: Any) -> None:
        self._head = replace(self._head, **changes)
