"""The compliance report's contents, control by control: status, whether it is required,
the evidence it rests on and the reason it gives, plus the summary and the text form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kaizen import KaizenConfig
from kaizen.audit import (
    AuditTrail,
    CompliancePolicy,
    InMemoryAuditStore,
    generate_compliance_report,
)
from kaizen.audit.entry import REDACTED, AuditEntry
from kaizen.audit.store import ChainHead

KEY = b"k" * 32


class _GuardedStore(InMemoryAuditStore):
    """Stands for a store whose database refuses edits (PostgreSQL's triggers)."""

    def append_only_enforced(self) -> bool:
        return True

    def describe(self) -> str:
        return "guarded table"


def _controls(report: Any) -> dict[str, dict[str, Any]]:
    return {c["control"]: c for c in report.to_dict()["controls"]}


def _append_raw(store: InMemoryAuditStore, event_type: str, outcome: str, payload: Any) -> None:
    """A writer that bypassed AuditTrail.record (and so its redaction): the chain is valid,
    the payload is stored as given."""

    def build(seq: int, prev: str) -> AuditEntry:
        stamp = "2026-01-01T00:00:00.000000+00:00"
        draft = AuditEntry(seq, f"e{seq}", stamp, event_type, "w", "run", outcome, payload, prev)
        return AuditEntry(**{**draft.to_dict(), "hash": draft.compute_hash()})

    store.append(build, lambda head: ChainHead.compute_seal(head))


def test_a_compliant_setup_names_its_evidence() -> None:
    store = _GuardedStore()
    trail = AuditTrail(store, key=KEY)
    trail.record_config_change("ops", {"audit_enabled": True})
    trail.record_agent_run("a1", run_id="r1", outcome="ok", duration_ms=1.0)
    trail.record_agent_run("a2", run_id="r2", outcome="failed", duration_ms=2.0, error="boom")
    before = dt.datetime.now(dt.UTC).isoformat()
    report = generate_compliance_report(
        trail,
        KaizenConfig(audit_enabled=True, audit_retention_days=365),
        CompliancePolicy(require_keyed_hashes=True),
    )
    assert report.compliant and report.failures == ()
    assert report.store == "guarded table"
    assert before <= report.generated_at <= dt.datetime.now(dt.UTC).isoformat()
    stamps = [e.timestamp for e in trail.entries()]
    assert report.to_dict()["summary"] == {
        "entries": 3,
        "by_event_type": {"config_change": 1, "agent_run": 2},
        "by_outcome": {"ok": 2, "failed": 1},
        "first_entry": stamps[0],
        "last_entry": stamps[-1],
        "failed_required_controls": [],
    }
    assert _controls(report) == {
        "audit_enabled": {
            "control": "audit_enabled",
            "status": "pass",
            "required": True,
            "evidence": {"audit_enabled": True},
            "reason": "auditing is switched on in KaizenConfig",
        },
        "trail_integrity": {
            "control": "trail_integrity",
            "status": "pass",
            "required": True,
            "evidence": {"ok": True, "checked": 3, "head_seq": 3, "problems": []},
            "reason": "all 3 entries and links verify",
        },
        "append_only_storage": {
            "control": "append_only_storage",
            "status": "pass",
            "required": True,
            "evidence": {"store": "guarded table", "database_refuses_edits": True},
            "reason": "the database refuses UPDATE/DELETE/TRUNCATE on the trail",
        },
        "keyed_hashes": {
            "control": "keyed_hashes",
            "status": "pass",
            "required": True,
            "evidence": {"hmac": True},
            "reason": "entries are HMAC-chained with a secret key",
        },
        "retention": {
            "control": "retention",
            "status": "pass",
            "required": True,
            "evidence": {"configured_days": 365, "required_days": 365},
            "reason": "retention 365 days >= required 365",
        },
        "agent_runs_recorded": {
            "control": "agent_runs_recorded",
            "status": "pass",
            "required": True,
            "evidence": {"agent_runs": 2, "failed_entries_without_error": []},
            "reason": "2 agent run(s) recorded, every failure with its error",
        },
        "configuration_recorded": {
            "control": "configuration_recorded",
            "status": "pass",
            "required": True,
            "evidence": {"config_changes": 1},
            "reason": "1 configuration change(s) recorded",
        },
        "secrets_redacted": {
            "control": "secrets_redacted",
            "status": "pass",
            "required": True,
            "evidence": {"unredacted": []},
            "reason": "no secret-looking value is stored",
        },
    }
    assert report.to_text().splitlines()[1:] == [
        "store: guarded table",
        "  [PASS] audit_enabled: auditing is switched on in KaizenConfig",
        "  [PASS] trail_integrity: all 3 entries and links verify",
        "  [PASS] append_only_storage: the database refuses UPDATE/DELETE/TRUNCATE on the trail",
        "  [PASS] keyed_hashes: entries are HMAC-chained with a secret key",
        "  [PASS] retention: retention 365 days >= required 365",
        "  [PASS] agent_runs_recorded: 2 agent run(s) recorded, every failure with its error",
        "  [PASS] configuration_recorded: 1 configuration change(s) recorded",
        "  [PASS] secrets_redacted: no secret-looking value is stored",
    ]
    assert report.to_text().splitlines()[0] == (
        f"Compliance report ({report.generated_at}): COMPLIANT"
    )


def test_a_non_compliant_setup_says_why_for_each_control() -> None:
    store = InMemoryAuditStore()
    trail = AuditTrail(store)
    _append_raw(store, "agent_run", "failed", {"db": {"password": "pw"}})
    _append_raw(store, "agent_run", "ok", {"calls": [{"api_key": "k"}, {"token": REDACTED}]})
    _append_raw(store, "agent_run", "timeout", {"error": "", "secret": None})
    report = generate_compliance_report(
        trail,
        KaizenConfig(audit_enabled=False, audit_retention_days=30),
        CompliancePolicy(require_keyed_hashes=True),
    )
    controls = _controls(report)
    assert not report.compliant
    assert {name: (c["status"], c["required"]) for name, c in controls.items()} == {
        "audit_enabled": ("fail", True),
        "trail_integrity": ("pass", True),
        "append_only_storage": ("fail", True),
        "keyed_hashes": ("fail", True),
        "retention": ("fail", True),
        "agent_runs_recorded": ("fail", True),
        "configuration_recorded": ("fail", True),
        "secrets_redacted": ("fail", True),
    }
    assert [c.control for c in report.failures] == [
        name for name, c in controls.items() if c["status"] == "fail"
    ]
    assert report.to_dict()["summary"]["failed_required_controls"] == [
        c.control for c in report.failures
    ]
    reasons = {name: c["reason"] for name, c in controls.items()}
    assert reasons["audit_enabled"] == (
        "KaizenConfig.audit_enabled is false: activity is not required to be recorded"
    )
    assert reasons["append_only_storage"] == (
        "in-process memory does not refuse edits (only the hash chain detects them)"
    )
    assert reasons["keyed_hashes"] == (
        "plain SHA-256 chain: someone with write access could rebuild it consistently"
    )
    assert reasons["retention"] == "retention 30 days < required 365"
    assert reasons["agent_runs_recorded"] == "2 failed entries carry no error message"
    assert controls["agent_runs_recorded"]["evidence"] == {
        "agent_runs": 3,
        "failed_entries_without_error": [1, 3],
    }
    assert reasons["configuration_recorded"] == (
        "no configuration change is recorded: the settings in force are not evidenced"
    )
    assert controls["configuration_recorded"]["evidence"] == {"config_changes": 0}
    assert reasons["secrets_redacted"] == "2 secret value(s)"
    assert controls["secrets_redacted"]["evidence"] == {
        "unredacted": ["seq 1: db.password", "seq 2: calls[0].api_key"]
    }
    text = report.to_text()
    assert text.startswith(f"Compliance report ({report.generated_at}): NOT COMPLIANT\n")
    assert "  [FAIL] retention: retention 30 days < required 365" in text.splitlines()


def test_advisory_controls_do_not_decide_the_verdict() -> None:
    trail = AuditTrail()
    trail.record_config_change("ops", {})
    trail.record_agent_run("a", run_id="r", outcome="ok", duration_ms=1.0)
    policy = CompliancePolicy(
        min_retention_days=10, require_append_only_storage=False, require_agent_run_records=False
    )
    report = generate_compliance_report(
        trail, KaizenConfig(audit_enabled=True, audit_retention_days=10), policy
    )
    controls = _controls(report)
    assert report.compliant
    assert (
        controls["append_only_storage"]["status"],
        controls["append_only_storage"]["required"],
    ) == (
        "fail",
        False,
    )
    assert controls["keyed_hashes"]["required"] is False
    assert controls["agent_runs_recorded"]["required"] is False
    assert controls["retention"]["evidence"] == {"configured_days": 10, "required_days": 10}
    assert "  [FAIL] append_only_storage (advisory): " in report.to_text()


def test_integrity_reason_lists_the_first_three_problems() -> None:
    store = InMemoryAuditStore()
    trail = AuditTrail(store)
    for i in range(6):
        trail.record_agent_run(f"a{i}", run_id=f"r{i}", outcome="ok", duration_ms=1.0)
    for seq in (2, 3, 4, 5):
        store._tamper_replace(seq, outcome="failed")
    verification = trail.verify()
    report = generate_compliance_report(trail, KaizenConfig(audit_enabled=True))
    control = report.control("trail_integrity")
    assert (control.status, control.required) == ("fail", True)
    assert control.evidence == verification.to_dict()
    assert control.reason == "4 problem(s): " + "; ".join(str(p) for p in verification.problems[:3])


def test_a_missing_control_name_is_a_key_error_listing_the_controls() -> None:
    report = generate_compliance_report(AuditTrail(), KaizenConfig())
    with pytest.raises(KeyError, match=r"no control 'nope' \(controls: \['audit_enabled', "):
        report.control("nope")
    summary = report.to_dict()["summary"]
    assert (summary["entries"], summary["first_entry"], summary["last_entry"]) == (0, None, None)


def test_report_dict_carries_verdict_time_and_store() -> None:
    trail = AuditTrail(_GuardedStore())
    report = generate_compliance_report(trail, KaizenConfig(audit_enabled=True))
    data = report.to_dict()
    assert (data["compliant"], data["generated_at"], data["store"]) == (
        False,
        report.generated_at,
        "guarded table",
    )


def test_one_agent_run_is_enough_and_none_is_not() -> None:
    trail = AuditTrail()
    trail.record_config_change("ops", {})
    config = KaizenConfig(audit_enabled=True)
    assert generate_compliance_report(trail, config).control("agent_runs_recorded").status == (
        "fail"
    )
    trail.record_agent_run("a", run_id="r", outcome="ok", duration_ms=1.0)
    control = generate_compliance_report(trail, config).control("agent_runs_recorded")
    assert (control.status, control.reason) == (
        "pass",
        "1 agent run(s) recorded, every failure with its error",
    )


def test_evidence_lists_are_capped_at_twenty() -> None:
    store = InMemoryAuditStore()
    for _ in range(21):
        _append_raw(store, "agent_run", "failed", {"password": "pw"})
    report = generate_compliance_report(AuditTrail(store), KaizenConfig(audit_enabled=True))
    runs = report.control("agent_runs_recorded")
    assert runs.evidence["failed_entries_without_error"] == list(range(1, 21))
    assert runs.reason == "21 failed entries carry no error message"
    secrets = report.control("secrets_redacted")
    assert secrets.evidence["unredacted"] == [f"seq {i}: password" for i in range(1, 21)]
    assert secrets.reason == "21 secret value(s)"
