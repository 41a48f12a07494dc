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
