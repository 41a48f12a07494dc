"""Hash chain, tamper detection and compliance logic on the in-process store."""

from __future__ import annotations

import itertools

import pytest

from kaizen import KaizenConfig
from kaizen.audit import (
    AGENT_RUN,
    AuditIntegrityError,
    AuditTrail,
    CompliancePolicy,
    InMemoryAuditStore,
    generate_compliance_report,
)
from kaizen.audit.entry import REDACTED
from kaizen.audit.store import ChainHead
from kaizen.errors import ConfigurationError


def _trail(n: int = 5, key: bytes | None = None) -> tuple[AuditTrail, InMemoryAuditStore]:
    store = InMemoryAuditStore()
    trail = AuditTrail(store, key=key)
    trail.record_config_change("kaizen", {"audit_enabled": True})
    for i in range(n - 1):
        trail.record_agent_run(f"a{i}", run_id=f"r{i}", outcome="ok", duration_ms=1.0)
    return trail, store


def test_chain_links_every_entry() -> None:
    trail, _ = _trail()
    entries = trail.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    report = trail.verify()
    assert report.ok and report.checked == 5 and report.problems == ()


def test_edit_is_named() -> None:
    trail, store = _trail()
    store._tamper_replace(3, outcome="failed")
    report = trail.verify()
    assert not report.ok
    assert [(p.kind, p.seq) for p in report.problems] == [("edited", 3)]
    with pytest.raises(AuditIntegrityError, match="edited at seq 3"):
        report.raise_if_broken()


def test_edit_with_recomputed_hash_breaks_the_next_link() -> None:
    trail, store = _trail()
    victim = next(e for e in store.entries() if e.seq == 2)
    forged = victim.__class__(**{**victim.to_dict(), "outcome": "failed"})
    store._tamper_replace(2, outcome="failed", hash=forged.compute_hash())
    kinds = [(p.kind, p.seq) for p in trail.verify().problems]
    assert kinds == [("broken_link", 3)]


def test_keyed_chain_cannot_be_rebuilt_without_the_key() -> None:
    trail, store = _trail(key=b"k" * 32)
    victim = next(e for e in store.entries() if e.seq == 2)
    forged = victim.__class__(**{**victim.to_dict(), "outcome": "failed"})
    store._tamper_replace(2, outcome="failed", hash=forged.compute_hash())  # unkeyed hash
    assert ("edited", 2) in [(p.kind, p.seq) for p in trail.verify().problems]


def test_deletion_in_the_middle_is_named() -> None:
    trail, store = _trail()
    store._tamper_delete(3)
    problems = trail.verify().problems
    assert ("deleted", 3) in [(p.kind, p.seq) for p in problems]
    assert "seq 3..3" in str(problems[0])


def test_deleted_tail_is_caught_by_the_head() -> None:
    trail, store = _trail()
    store._tamper_delete(5)
    problems = trail.verify().problems
    assert [(p.kind, p.seq) for p in problems] == [("truncated", 5)]
    assert "after seq 4" in problems[0].message


def test_reorder_is_named() -> None:
    trail, store = _trail()
    store._tamper_replace(2, seq=99)
    store._tamper_replace(3, seq=2)
    store._tamper_replace(99, seq=3)
    kinds = {(p.kind, p.seq) for p in trail.verify().problems}
    assert ("reordered", 2) in kinds and ("reordered", 3) in kinds


def test_secrets_are_redacted_before_hashing() -> None:
    trail = AuditTrail()
    entry = trail.record(
        "x", actor="a", action="b", payload={"api_key": "sk-1", "n": {"password": "p"}}
    )
    assert entry.payload == {"api_key": REDACTED, "n": {"password": REDACTED}}


def test_record_validates_fields() -> None:
    with pytest.raises(ValueError, match="actor"):
        AuditTrail().record("x", actor="", action="b")


def test_compliance_report_passes_only_with_evidence() -> None:
    trail, _ = _trail()
    config = KaizenConfig(audit_enabled=True, audit_retention_days=400)
    report = generate_compliance_report(
        trail, config, CompliancePolicy(require_append_only_storage=False)
    )
    assert report.compliant, report.to_text()
    assert report.control("agent_runs_recorded").evidence["agent_runs"] == 4
    assert report.control("append_only_storage").status == "fail"  # advisory here
    assert "COMPLIANT" in report.to_text()


def test_non_compliant_setup_says_why() -> None:
    store = InMemoryAuditStore()
    trail = AuditTrail(store)
    trail.record(AGENT_RUN, actor="a", action="run", outcome="failed")  # no error given
    store._tamper_replace(1, actor="someone-else")
    report = generate_compliance_report(trail, KaizenConfig(audit_retention_days=30))
    assert not report.compliant
    failed = {c.control for c in report.failures}
    assert failed == {
        "audit_enabled",
        "trail_integrity",
        "append_only_storage",
        "retention",
        "agent_runs_recorded",
        "configuration_recorded",
    }
    assert "30 days < required 365" in report.control("retention").reason
    assert "NOT COMPLIANT" in report.to_text()
    assert report.to_dict()["summary"]["failed_required_controls"]


def test_empty_trail_is_not_compliant() -> None:
    report = generate_compliance_report(AuditTrail(), KaizenConfig(audit_enabled=True))
    assert not report.compliant
    assert report.control("agent_runs_recorded").reason == "no agent run is recorded in the trail"


# -- head authentication and outside expectations (issue 10, item 9) -------------------------


def _cut_tail(store: InMemoryAuditStore, keep: int) -> None:
    for seq in [e.seq for e in store.entries() if e.seq > keep]:
        store._tamper_delete(seq)


def test_tail_cut_with_head_rewritten_is_caught_with_the_key() -> None:
    """The attacker deletes seq 4-5 and rewrites the head to match seq 3, sealing it the
    only way they can (without the key)."""
    trail, store = _trail(key=b"k" * 32)
    last_kept = store.entries()[2]
    forged = ChainHead(3, last_kept.hash, 3)
    _cut_tail(store, 3)
    store._tamper_head(seq=3, hash=last_kept.hash, count=3, seal=forged.compute_seal())
    report = trail.verify()
    assert not report.ok and report.checked == 3
    assert [(p.kind, p.seq) for p in report.problems] == [("forged_head", 3)]
    assert "different key" in report.problems[0].message


def test_head_rewritten_without_its_seal_is_caught_unkeyed() -> None:
    trail, store = _trail()
    last_kept = store.entries()[2]
    _cut_tail(store, 3)
    store._tamper_head(seq=3, hash=last_kept.hash, count=3)  # old seal left in place
    assert [(p.kind, p.seq) for p in trail.verify().problems] == [("forged_head", 3)]


def test_replayed_genuine_head_is_named_by_outside_expectations() -> None:
    """A head saved while the trail had 3 entries is put back after 4-5 are deleted: its
    seal is genuine, so only what was recorded elsewhere can name the truncation."""
    trail, store = _trail(3, key=b"k" * 32)
    old_head = store.head()
    trail.record_agent_run("late", run_id="r4", outcome="ok", duration_ms=1.0)
    trail.record_agent_run("late", run_id="r5", outcome="ok", duration_ms=1.0)
    recorded = trail.head_digest()
    assert recorded == f"5:{store.entries()[-1].hash}"
    assert trail.verify(min_entries=5, expected_head=recorded).ok
    _cut_tail(store, 3)
    store._tamper_head(**{f: getattr(old_head, f) for f in ("seq", "hash", "count", "seal")})
    assert trail.verify().ok  # the documented limit of a store on its own
    by_count = trail.verify(min_entries=5).problems
    assert [(p.kind, p.seq) for p in by_count] == [("truncated", 4)]
    assert "holds 3 entries" in by_count[0].message and "at least 5" in by_count[0].message
    by_digest = trail.verify(expected_head=recorded).problems
    assert [(p.kind, p.seq) for p in by_digest] == [("truncated", 5)]
    assert recorded.split(":")[1][:16] in by_digest[0].message
    assert "after seq 3 were deleted" in by_digest[0].message


def test_expected_head_of_a_rewritten_chain_is_named() -> None:
    trail, store = _trail()
    recorded = trail.head_digest()
    store._tamper_replace(5, hash="f" * 64)
    problems = trail.verify(expected_head=recorded).problems
    assert ("edited", 5) in [(p.kind, p.seq) for p in problems]
    assert any("recorded elsewhere" in p.message for p in problems)


def test_expectations_are_validated() -> None:
    trail, _ = _trail(2)
    for bad in ("5", "x:" + "0" * 64, "1:" + "g" * 64, "1:abc"):
        with pytest.raises(ConfigurationError, match=r"expected_head.*head_digest"):
            trail.verify(expected_head=bad)
    for bad_n in (-1, True, 2.0):
        with pytest.raises(ConfigurationError, match="min_entries"):
            trail.verify(min_entries=bad_n)  # type: ignore[arg-type]
    assert trail.verify(expected_head=f"0:{'0' * 64}").ok  # genesis is always in the chain


class _DroppedStore(InMemoryAuditStore):
    def missing(self) -> tuple[str, ...]:
        return ("table t", "table t_head")

    def entries(self) -> list:
        raise AssertionError("a dropped store must not be read")


def test_missing_storage_is_a_failure_naming_it() -> None:
    trail = AuditTrail(_DroppedStore())
    report = trail.verify(min_entries=2)
    assert not report.ok
    assert [p.kind for p in report.problems] == ["missing", "truncated"]
    assert "table t, table t_head" in report.problems[0].message
    compliance = generate_compliance_report(trail, KaizenConfig(audit_enabled=True))
    assert "trail_integrity" in {c.control for c in compliance.failures}


# -- what the convenience recorders write ----------------------------------------------------


def test_agent_run_entry_records_outcome_timing_and_the_error() -> None:
    trail = AuditTrail()
    entry = trail.record_agent_run(
        "agent-1",
        run_id="r1",
        outcome="failed",
        duration_ms=12.34567,
        details={"steps": 2},
        error=ValueError("boom"),
    )
    assert (entry.event_type, entry.actor, entry.action, entry.outcome) == (
        AGENT_RUN,
        "agent-1",
        "run",
        "failed",
    )
    assert entry.payload == {
        "run_id": "r1",
        "duration_ms": 12.346,
        "steps": 2,
        "error": "ValueError: boom",
    }
    text = trail.record_agent_run("a", run_id="r2", outcome="failed", duration_ms=1, error="why")
    assert text.payload["error"] == "why"  # a message is recorded as given
    ok = trail.record_agent_run("a", run_id="r3", outcome="ok", duration_ms=1)
    assert "error" not in ok.payload


def test_config_change_entry() -> None:
    trail = AuditTrail()
    entry = trail.record_config_change("ops", {"audit_enabled": True})
    assert (entry.event_type, entry.actor, entry.action) == ("config_change", "ops", "configure")
    assert entry.payload == {"audit_enabled": True}
    assert trail.record_config_change("ops", {}, action="reset").action == "reset"
    assert repr(trail) == "AuditTrail(in-process memory, keyed=False)"
