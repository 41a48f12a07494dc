"""The PostgreSQL audit store's own contracts on a real server: reading never creates a
trail, values that are not JSON are stored as their text (as they were hashed), `drop()`
removes the tables, and `close()` closes the connection it held."""

from __future__ import annotations

import datetime as dt

import pytest

from kaizen.audit import AuditTrail, PostgresAuditStore
from kaizen.audit.errors import AuditError

pytestmark = pytest.mark.requires_services("postgresql")

BOTH = ("table audit_trail", "table audit_trail_head")


def test_reading_a_trail_never_creates_it(audit_store: PostgresAuditStore) -> None:
    assert audit_store.missing() == BOTH
    with pytest.raises(AuditError, match="cannot read the audit trail"):
        audit_store.entries()
    assert audit_store.missing() == BOTH, "a read created the tables"


def test_values_that_are_not_json_are_stored_as_text(audit_store: PostgresAuditStore) -> None:
    trail = AuditTrail(audit_store)
    trail.record("e", actor="a", action="b", payload={"when": dt.date(2025, 1, 2), "n": 1})
    (entry,) = audit_store.entries()
    assert dict(entry.payload) == {"when": "2025-01-02", "n": 1}
    assert trail.verify().ok


def test_drop_removes_the_trail_and_close_closes_the_connection(
    audit_store: PostgresAuditStore,
) -> None:
    AuditTrail(audit_store).record("e", actor="a", action="b")
    assert audit_store.missing() == ()
    held = audit_store._conn
    audit_store.drop()
    assert held.closed, "drop() closes the store's connection"
    assert audit_store.missing() == BOTH
    again = audit_store._conn
    audit_store.close()
    assert again.closed and audit_store._conn is None
