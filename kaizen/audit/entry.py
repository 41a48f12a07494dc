"""One audit entry and its hash. The hash covers everything except the storage position
(`seq`), so moving an entry breaks the chain link instead of its own hash, which lets
`verify()` tell "reordered" from "edited"."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kaizen._redact import redact as redact_text

GENESIS_HASH = "0" * 64
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|credential|private[_-]?key", re.I)
REDACTED = "***redacted***"


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces); non-JSON values become strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def redact(value: Any) -> Any:
    """Secret-looking keys keep their name, lose their value, and a connection URL's
    password is hidden in any string (an error quoting a DSN): the trail must not leak."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _SECRET_KEY.search(str(k)) and v is not None else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What happened (`event_type`, `action`, `outcome`), who did it (`actor`), details
    (`payload`, already redacted), and the chain (`prev_hash`, `hash`)."""

    seq: int
    entry_id: str
    timestamp: str
    event_type: str
    actor: str
    action: str
    outcome: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    def content(self) -> str:
        return canonical_json(
            {
                "entry_id": self.entry_id,
                "timestamp": self.timestamp,
                "event_type": self.event_type,
                "actor": self.actor,
                "action": self.action,
                "outcome": self.outcome,
                "payload": self.payload,
                "prev_hash": self.prev_hash,
            }
        )

    def compute_hash(self, key: bytes | None = None) -> str:
        data = self.content().encode()
        if key:
            return hmac.new(key, data, hashlib.sha256).hexdigest()
        return hashlib.sha256(data).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_id": self.entry_id,
            "timestamp": self.timestamp,
            "event_type": self.event_type,
            "actor": self.actor,
            "action": self.action,
            "outcome": self.outcome,
            "payload": dict(self.payload),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
