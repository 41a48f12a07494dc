"""`generate_compliance_report()`: each control is computed from evidence (the trail's
own entries, its verification, the store's database-level guards and the configuration).
Nothing is assumed compliant: a control without evidence fails and says why."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kaizen.audit.entry import REDACTED, is_secret_key, utc_iso
from kaizen.audit.trail import AGENT_RUN, CONFIG_CHANGE, AuditTrail

if TYPE_CHECKING:
    from kaizen.config import KaizenConfig

Status = Literal["pass", "fail"]


@dataclass(frozen=True, slots=True)
class CompliancePolicy:
    """What "compliant" means for this report. Defaults follow common audit baselines."""

    min_retention_days: int = 365
    require_append_only_storage: bool = True
    require_keyed_hashes: bool = False
    require_agent_run_records: bool = True


@dataclass(frozen=True, slots=True)
class ControlResult:
    control: str
    status: Status
    required: bool
    evidence: Mapping[str, Any]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "status": self.status,
            "required": self.required,
            "evidence": dict(self.evidence),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    compliant: bool
    generated_at: str
    store: str
    controls: tuple[ControlResult, ...]
    summary: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> tuple[ControlResult, ...]:
        return tuple(c for c in self.controls if c.status == "fail" and c.required)

    def control(self, name: str) -> ControlResult:
        for result in self.controls:
            if result.control == name:
                return result
        raise KeyError(f"no control {name!r} (controls: {[c.control for c in self.controls]})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "compliant": self.compliant,
            "generated_at": self.generated_at,
            "store": self.store,
            "summary": dict(self.summary),
            "controls": [c.to_dict() for c in self.controls],
        }

    def to_text(self) -> str:
        verdict = "COMPLIANT" if self.compliant else "NOT COMPLIANT"
        lines = [f"Compliance report ({self.generated_at}): {verdict}", f"store: {self.store}"]
        for c in self.controls:
            flag = "" if c.required else " (advisory)"
            lines.append(f"  [{c.status.upper()}] {c.control}{flag}: {c.reason}")
        return "\n".join(lines)


def _unredacted_secrets(payload: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            where = f"{path}.{key}" if path else str(key)
            if is_secret_key(str(key)) and value not in (None, REDACTED):
                found.append(where)
            found.extend(_unredacted_secrets(value, where))
    elif isinstance(payload, list):
        for i, value in enumerate(payload):
            found.extend(_unredacted_secrets(value, f"{path}[{i}]"))
    return found


def generate_compliance_report(
    trail: AuditTrail, config: KaizenConfig, policy: CompliancePolicy | None = None
) -> ComplianceReport:
    policy = policy or CompliancePolicy()
    verification = trail.verify()
    # Dropped storage has no entries to read; the integrity control already names it.
    gone = any(p.kind == "missing" for p in verification.problems)
    entries = [] if gone else trail.entries()
    kinds = Counter(e.event_type for e in entries)
    outcomes = Counter(e.outcome for e in entries)
    controls: list[ControlResult] = []

    def add(name: str, ok: bool, required: bool, evidence: dict[str, Any], why: str) -> None:
        controls.append(ControlResult(name, "pass" if ok else "fail", required, evidence, why))

    add(
        "audit_enabled",
        config.audit_enabled,
        True,
        {"audit_enabled": config.audit_enabled},
        "auditing is switched on in KaizenConfig"
        if config.audit_enabled
        else "KaizenConfig.audit_enabled is false: activity is not required to be recorded",
    )
    add(
        "trail_integrity",
        verification.ok,
        True,
        verification.to_dict(),
        f"all {verification.checked} entries and links verify"
        if verification.ok
        else f"{len(verification.problems)} problem(s): "
        + "; ".join(str(p) for p in verification.problems[:3]),
    )
    guarded = trail.store.append_only_enforced()
    add(
        "append_only_storage",
        guarded,
        policy.require_append_only_storage,
        {"store": trail.store.describe(), "database_refuses_edits": guarded},
        "the database refuses UPDATE/DELETE/TRUNCATE on the trail"
        if guarded
        else f"{trail.store.describe()} does not refuse edits (only the hash chain detects them)",
    )
    add(
        "keyed_hashes",
        trail.keyed,
        policy.require_keyed_hashes,
        {"hmac": trail.keyed},
        "entries are HMAC-chained with a secret key"
        if trail.keyed
        else "plain SHA-256 chain: someone with write access could rebuild it consistently",
    )
    retention_ok = config.audit_retention_days >= policy.min_retention_days
    add(
        "retention",
        retention_ok,
        True,
        {
            "configured_days": config.audit_retention_days,
            "required_days": policy.min_retention_days,
        },
        f"retention {config.audit_retention_days} days "
        + (">=" if retention_ok else "<")
        + f" required {policy.min_retention_days}",
    )
    runs = kinds.get(AGENT_RUN, 0)
    failed_without_reason = [
        e.seq for e in entries if e.outcome != "ok" and not e.payload.get("error")
    ]
    add(
        "agent_runs_recorded",
        runs > 0 and not failed_without_reason,
        policy.require_agent_run_records,
        {"agent_runs": runs, "failed_entries_without_error": failed_without_reason[:20]},
        f"{runs} agent run(s) recorded, every failure with its error"
        if runs > 0 and not failed_without_reason
        else (
            "no agent run is recorded in the trail"
            if runs == 0
            else f"{len(failed_without_reason)} failed entries carry no error message"
        ),
    )
    config_changes = kinds.get(CONFIG_CHANGE, 0)
    add(
        "configuration_recorded",
        config_changes > 0,
        True,
        {"config_changes": config_changes},
        f"{config_changes} configuration change(s) recorded"
        if config_changes
        else "no configuration change is recorded: the settings in force are not evidenced",
    )
    leaks = [f"seq {e.seq}: {p}" for e in entries for p in _unredacted_secrets(e.payload)]
    add(
        "secrets_redacted",
        not leaks,
        True,
        {"unredacted": leaks[:20]},
        "no secret-looking value is stored" if not leaks else f"{len(leaks)} secret value(s)",
    )
    compliant = all(c.status == "pass" for c in controls if c.required)
    timestamps = [e.timestamp for e in entries]
    summary = {
        "entries": len(entries),
        "by_event_type": dict(kinds),
        "by_outcome": dict(outcomes),
        "first_entry": min(timestamps) if timestamps else None,
        "last_entry": max(timestamps) if timestamps else None,
        "failed_required_controls": [
            c.control for c in controls if c.required and c.status == "fail"
        ],
    }
    return ComplianceReport(
        compliant,
        utc_iso(dt.datetime.now(dt.UTC)),
        trail.store.describe(),
        tuple(controls),
        summary,
    )
