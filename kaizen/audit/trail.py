"""`AuditTrail`: record what agents, workflows and configuration did, and prove later that
nobody changed the record.

Each entry stores the hash of the one before it; the store keeps the last hash in a head
row written in the same transaction and sealed (an HMAC with the trail's key). `verify()`
recomputes every hash, link and the seal, so it can name an edited entry (its hash no
longer matches its content), a deleted one (a gap in the sequence, or a tail shorter than
the head), a reordered one (its link points at an entry that now stands elsewhere) and a
head rewritten to hide a deleted tail.

What no store can prove on its own: that an old, genuinely sealed head was not put back
after the entries behind it were deleted. Record `head_digest()` somewhere the database's
writers cannot reach and pass it back as `verify(expected_head=...)` (or the count you
know as `verify(min_entries=...)`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kaizen.audit.entry import GENESIS_HASH, AuditEntry, redact, utc_iso
from kaizen.audit.errors import AuditIntegrityError
from kaizen.audit.store import AuditStore, ChainHead, InMemoryAuditStore
from kaizen.errors import ConfigurationError

ProblemKind = Literal[
    "edited", "deleted", "reordered", "broken_link", "truncated", "forged_head", "missing"
]

AGENT_RUN = "agent_run"
WORKFLOW_EXECUTION = "workflow_execution"
CONFIG_CHANGE = "config_change"
COORDINATION = "coordination"


@dataclass(frozen=True, slots=True)
class AuditProblem:
    kind: ProblemKind
    seq: int | None
    entry_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "trail"
        return f"{self.kind} at {where}: {self.message}"


@dataclass(frozen=True, slots=True)
class VerificationReport:
    ok: bool
    checked: int
    head_seq: int
    problems: tuple[AuditProblem, ...] = field(default_factory=tuple)

    def raise_if_broken(self) -> None:
        if not self.ok:
            raise AuditIntegrityError(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_seq": self.head_seq,
            "problems": [
                {"kind": p.kind, "seq": p.seq, "entry_id": p.entry_id, "message": p.message}
                for p in self.problems
            ],
        }


class AuditTrail:
    """Append-only, hash-chained record. `key` (bytes) makes the hashes HMACs, so an
    attacker who can write the database still cannot forge a consistent chain."""

    def __init__(self, store: AuditStore | None = None, *, key: bytes | None = None) -> None:
        self.store: AuditStore = store if store is not None else InMemoryAuditStore()
        self.key = key

    @property
    def keyed(self) -> bool:
        return bool(self.key)

    def __repr__(self) -> str:
        return f"AuditTrail({self.store.describe()}, keyed={self.keyed})"

    # -- writing ------------------------------------------------------------------------------

    def record(
        self,
        event_type: str,
        *,
        actor: str,
        action: str,
        outcome: str = "ok",
        payload: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry (secret-looking payload keys are redacted before hashing)."""
        for name, value in (
            ("event_type", event_type),
            ("actor", actor),
            ("action", action),
            ("outcome", outcome),
        ):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        clean = redact(dict(payload or {}))
        entry_id = uuid.uuid4().hex
        timestamp = utc_iso(dt.datetime.now(dt.UTC))

        def build(seq: int, prev_hash: str) -> AuditEntry:
            draft = AuditEntry(
                seq, entry_id, timestamp, event_type, actor, action, outcome, clean, prev_hash
            )
            return AuditEntry(
                seq,
                entry_id,
                timestamp,
                event_type,
                actor,
                action,
                outcome,
                clean,
                prev_hash,
                draft.compute_hash(self.key),
            )

        return self.store.append(build, self._seal)

    def _seal(self, head: ChainHead) -> str:
        return head.compute_seal(self.key)

    async def arecord(self, event_type: str, **kwargs: Any) -> AuditEntry:
        """`record` off the event loop (stores do blocking I/O)."""
        return await asyncio.to_thread(self.record, event_type, **kwargs)

    def record_agent_run(
        self,
        agent_id: str,
        *,
        run_id: str,
        outcome: str,
        duration_ms: float,
        details: Mapping[str, Any] | None = None,
        error: BaseException | str | None = None,
    ) -> AuditEntry:
        payload: dict[str, Any] = {"run_id": run_id, "duration_ms": round(duration_ms, 3)}
        payload.update(details or {})
        if error is not None:
            payload["error"] = (
                f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
            )
        return self.record(
            AGENT_RUN, actor=agent_id, action="run", outcome=outcome, payload=payload
        )

    def record_config_change(
        self, actor: str, changes: Mapping[str, Any], *, action: str = "configure"
    ) -> AuditEntry:
        return self.record(CONFIG_CHANGE, actor=actor, action=action, payload=dict(changes))

    # -- reading ------------------------------------------------------------------------------

    def entries(self, event_type: str | None = None) -> list[AuditEntry]:
        found = self.store.entries()
        return found if event_type is None else [e for e in found if e.event_type == event_type]

    def head_digest(self) -> str:
        """The current head as `"<seq>:<hash>"` (one row read). Keep it outside the
        database, e.g. in a ticket or another system's log: it is what proves later that
        no tail was cut off, which the database alone cannot."""
        return self.store.head().digest

    def verify(
        self, *, min_entries: int | None = None, expected_head: str | None = None
    ) -> VerificationReport:
        """Recompute every hash, link and the head's seal; name each problem. Never raises
        on tampering: call `raise_if_broken()` on the report for that.

        `min_entries`: the trail must hold at least this many entries. `expected_head`: a
        `head_digest()` taken earlier; its entry must still be in the chain. Either names a
        truncation hidden behind a replayed head."""
        wanted = _parse_expectations(min_entries, expected_head)
        missing = self.store.missing()
        if missing:
            problems = [
                AuditProblem(
                    "missing",
                    None,
                    None,
                    f"missing from {self.store.describe()}: {', '.join(missing)}. The trail "
                    "was dropped or never written here (a dropped trail is not an empty one: "
                    "restore it from a backup, or check the store's table name)",
                ),
                *_expectation_problems([], *wanted),
            ]
            return VerificationReport(False, 0, 0, tuple(problems))
        entries = self.store.entries()
        head = self.store.head()
        problems = []
        by_hash = {e.hash: e for e in entries}
        previous: AuditEntry | None = None
        for entry in entries:
            expected_seq = 1 if previous is None else previous.seq + 1
            expected_prev = GENESIS_HASH if previous is None else previous.hash
            if entry.compute_hash(self.key) != entry.hash:
                problems.append(
                    AuditProblem(
                        "edited",
                        entry.seq,
                        entry.entry_id,
                        f"entry {entry.entry_id} ({entry.event_type} by {entry.actor}) no longer "
                        "matches its recorded hash",
                    )
                )
            if entry.prev_hash != expected_prev:
                origin = by_hash.get(entry.prev_hash)
                if origin is not None:
                    problems.append(
                        AuditProblem(
                            "reordered",
                            entry.seq,
                            entry.entry_id,
                            f"entry {entry.entry_id} was written after seq {origin.seq} "
                            f"({origin.entry_id}) but now stands at seq {entry.seq}",
                        )
                    )
                elif entry.seq != expected_seq:
                    gap = f"{expected_seq}..{entry.seq - 1}"
                    problems.append(
                        AuditProblem(
                            "deleted",
                            expected_seq,
                            None,
                            f"entries at seq {gap} are missing (seq {entry.seq} links to a hash "
                            "no remaining entry has)",
                        )
                    )
                else:
                    problems.append(
                        AuditProblem(
                            "broken_link",
                            entry.seq,
                            entry.entry_id,
                            f"entry {entry.entry_id} links to a hash no entry has: seq "
                            f"{expected_seq - 1} was edited and re-hashed, or replaced",
                        )
                    )
            elif entry.seq != expected_seq:
                problems.append(
                    AuditProblem(
                        "reordered",
                        entry.seq,
                        entry.entry_id,
                        f"entry {entry.entry_id} links correctly but is numbered {entry.seq}, "
                        f"expected {expected_seq}",
                    )
                )
            previous = entry
        last_hash = previous.hash if previous is not None else GENESIS_HASH
        if head.count != len(entries) or head.hash != last_hash:
            last_seq = previous.seq if previous is not None else 0
            kind: ProblemKind = "truncated" if head.count > len(entries) else "broken_link"
            problems.append(
                AuditProblem(
                    kind,
                    head.seq,
                    None,
                    f"the head records {head.count} entries ending at seq {head.seq}, the table "
                    f"holds {len(entries)} ending at seq {last_seq}"
                    + (
                        f": entries after seq {last_seq} were deleted"
                        if kind == "truncated"
                        else ""
                    ),
                )
            )
        problems.extend(self._head_seal_problems(head))
        problems.extend(_expectation_problems(entries, *wanted))
        return VerificationReport(not problems, len(entries), head.seq, tuple(problems))

    def _head_seal_problems(self, head: ChainHead) -> list[AuditProblem]:
        """An unsealed genesis head is the one state that needs no proof (nothing written)."""
        if head.is_genesis and not head.seal:
            return []
        if head.seal == head.compute_seal(self.key):
            return []
        why = (
            "it was rewritten outside kaizen (this is how a deleted tail is hidden), or the "
            "trail is verified with a different key than it was written with"
            if self.keyed
            else "it was rewritten outside kaizen; without a key a careful forger can "
            "recompute the seal, so pass key= to AuditTrail or verify(expected_head=...)"
        )
        state = "carries no seal" if not head.seal else "carries a seal that does not match"
        return [
            AuditProblem(
                "forged_head",
                head.seq,
                None,
                f"the head row (seq {head.seq}, count {head.count}) {state}: {why}",
            )
        ]


def _parse_expectations(
    min_entries: int | None, expected_head: str | None
) -> tuple[int | None, tuple[int, str] | None]:
    if min_entries is not None and (
        isinstance(min_entries, bool) or not isinstance(min_entries, int) or min_entries < 0
    ):
        raise ConfigurationError(
            "min_entries", f"must be a non-negative int or None, got {min_entries!r}"
        )
    if expected_head is None:
        return min_entries, None
    seq_text, sep, digest = str(expected_head).partition(":")
    if not (sep and seq_text.isdigit() and len(digest) == 64) or digest.strip("0123456789abcdef"):
        raise ConfigurationError(
            "expected_head",
            f"must be a digest from AuditTrail.head_digest(), '<seq>:<64 hex>', got "
            f"{expected_head!r}",
        )
    return min_entries, (int(seq_text), digest)


def _expectation_problems(
    entries: list[AuditEntry], min_entries: int | None, expected: tuple[int, str] | None
) -> list[AuditProblem]:
    """Compare with what is known from outside the store, so a truncation whose head was
    replayed (or whose tables were dropped) is still named with what was expected."""
    problems: list[AuditProblem] = []
    last_seq = entries[-1].seq if entries else 0
    if min_entries is not None and len(entries) < min_entries:
        problems.append(
            AuditProblem(
                "truncated",
                last_seq + 1 if entries else None,
                None,
                f"the trail holds {len(entries)} entries (ending at seq {last_seq}), at least "
                f"{min_entries} were expected (verify(min_entries={min_entries})): entries "
                "were deleted",
            )
        )
    if expected is not None:
        seq, digest = expected
        if seq == 0:
            at: AuditEntry | None = None
            found = GENESIS_HASH
        else:
            at = next((e for e in entries if e.seq == seq), None)
            found = at.hash if at is not None else ""
        if seq > last_seq and at is None:
            problems.append(
                AuditProblem(
                    "truncated",
                    seq,
                    None,
                    f"the head recorded elsewhere ({seq}:{digest[:16]}...) is not in the "
                    f"trail, which ends at seq {last_seq}: entries after seq {last_seq} "
                    "were deleted",
                )
            )
        elif found != digest:
            problems.append(
                AuditProblem(
                    "truncated" if at is None and seq else "edited",
                    seq,
                    at.entry_id if at is not None else None,
                    f"the head recorded elsewhere ({seq}:{digest[:16]}...) does not match "
                    + (
                        f"entry seq {seq} ({found[:16]}...): the chain was rewritten up to it"
                        if found
                        else f"any entry: seq {seq} is missing"
                    ),
                )
            )
    return problems
