"""The audit trail's exact texts: the canonical JSON that every hash is computed over (a
change there breaks every stored chain), timestamps in UTC whatever the machine's zone,
the integrity error's summary, and the field named when `record()` refuses an entry."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from kaizen.audit import AuditTrail
from kaizen.audit.entry import canonical_json, utc_iso
from kaizen.audit.errors import AuditError, AuditIntegrityError
from kaizen.audit.trail import AuditProblem


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to UTC+9 (restored after)."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_canonical_json_keeps_text_as_written_and_stringifies_the_rest() -> None:
    moment = dt.datetime(2025, 1, 2, 3, 4, 5)
    assert canonical_json({"b": "café ✓", "a": [1, {"d": moment}]}) == (
        '{"a":[1,{"d":"2025-01-02 03:04:05"}],"b":"café ✓"}'
    )


def test_utc_iso_converts_from_any_zone(tokyo: None) -> None:
    plus_two = dt.datetime(2025, 1, 1, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc_iso(plus_two) == "2025-01-01T00:30:00.000000+00:00"


def test_recorded_timestamps_are_utc_on_a_machine_in_another_zone(tokyo: None) -> None:
    entry = AuditTrail().record("e", actor="a", action="b")
    assert entry.timestamp.endswith("+00:00")
    recorded = dt.datetime.fromisoformat(entry.timestamp)
    assert abs((dt.datetime.now(dt.UTC) - recorded).total_seconds()) < 60


def test_an_audit_error_without_a_message_is_empty() -> None:
    assert str(AuditError()) == ""


def problems(n: int) -> tuple[AuditProblem, ...]:
    return tuple(AuditProblem("hash_mismatch", i, f"id{i}", f"bad {i}") for i in range(n))


@pytest.mark.parametrize(("count", "more"), [(5, ""), (6, " (+1 more)"), (8, " (+3 more)")])
def test_the_integrity_error_shows_five_problems_and_counts_the_rest(count: int, more: str) -> None:
    shown = "; ".join(f"hash_mismatch at seq {i}: bad {i}" for i in range(5))
    error = AuditIntegrityError(problems(count))
    assert str(error) == f"audit trail integrity check failed: {shown}{more}"
    assert error.problems == problems(count)


@pytest.mark.parametrize("field", ["event_type", "actor", "action", "outcome"])
def test_record_names_the_empty_field(field: str) -> None:
    values = {"event_type": "e", "actor": "a", "action": "b", "outcome": "ok", field: ""}
    event_type = values.pop("event_type")
    with pytest.raises(ValueError, match=rf"^{field} must be a non-empty string, got ''$"):
        AuditTrail().record(event_type, **values)
