"""The audit trail on the real PostgreSQL: atomic appends, database-level refusal of
edits, tamper detection that names the entry, crash safety and the compliance report."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest

from kaizen import KaizenConfig
from kaizen.audit import (
    AuditTrail,
    AuditWriteError,
    PostgresAuditStore,
    generate_compliance_report,
)

pytestmark = pytest.mark.requires_services("postgresql")


def _sql(dsn: str, statement: str, params: list | None = None) -> list:
    conn = psycopg2.connect(dsn, connect_timeout=10)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def _filled(store: PostgresAuditStore, n: int = 5) -> AuditTrail:
    trail = AuditTrail(store)
    trail.record_config_change("kaizen", {"audit_enabled": True, "db_password": "hunter2"})
    for i in range(n - 1):
        trail.record_agent_run(f"agent{i}", run_id=f"run{i}", outcome="ok", duration_ms=2.5)
    return trail


def test_entries_round_trip_and_verify(audit_store: PostgresAuditStore) -> None:
    trail = _filled(audit_store)
    entries = trail.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].payload["db_password"] == "***redacted***"
    assert trail.verify().ok
    assert audit_store.head().count == 5


def test_database_refuses_update_delete_truncate(audit_store: PostgresAuditStore) -> None:
    _filled(audit_store, 2)
    t = audit_store.table
    for statement in (
        f"UPDATE {t} SET outcome = 'failed'",
        f"DELETE FROM {t}",
        f"TRUNCATE {t}",
    ):
        with pytest.raises(psycopg2.Error, match="append-only"):
            _sql(audit_store.dsn, statement)
    assert audit_store.append_only_enforced()


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("UPDATE {t} SET outcome = 'failed' WHERE seq = 3", [("edited", 3)]),
        ("DELETE FROM {t} WHERE seq = 2", [("deleted", 2)]),
        ("DELETE FROM {t} WHERE seq = 5", [("truncated", 5)]),
        (
            "UPDATE {t} SET seq = -seq WHERE seq IN (2, 3); "
            "UPDATE {t} SET seq = CASE seq WHEN -2 THEN 3 ELSE 2 END WHERE seq < 0",
            [("reordered", 2), ("reordered", 3)],
        ),
    ],
    ids=["edited", "deleted", "tail-deleted", "reordered"],
)
def test_verify_names_the_tampered_entry(audit_store, tamper, expected) -> None:
    trail = _filled(audit_store)
    t = audit_store.table
    _sql(audit_store.dsn, f"ALTER TABLE {t} DISABLE TRIGGER USER; {tamper.format(t=t)}")
    report = trail.verify()
    found = [(p.kind, p.seq) for p in report.problems]
    for item in expected:
        assert item in found, report.to_dict()
    assert not report.ok
    assert not audit_store.append_only_enforced()  # the disabled guard is evidence too
    compliance = generate_compliance_report(trail, KaizenConfig(audit_enabled=True))
    assert {"trail_integrity", "append_only_storage"} <= {c.control for c in compliance.failures}


def test_concurrent_writers_keep_one_chain(audit_store: PostgresAuditStore) -> None:
    other = PostgresAuditStore(audit_store.dsn, table=audit_store.table)  # a second connection
    trails = [AuditTrail(audit_store), AuditTrail(other)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda i: trails[i % 2].record_agent_run(
                    f"a{i}", run_id=f"r{i}", outcome="ok", duration_ms=1
                ),
                range(60),
            )
        )
    other.close()
    report = trails[0].verify()
    assert report.ok and report.checked == 60
    assert sorted(e.payload["run_id"] for e in trails[0].entries()) == sorted(
        f"r{i}" for i in range(60)
    )


def test_crash_mid_write_leaves_no_partial_entry(audit_store: PostgresAuditStore) -> None:
    """A writer process is killed (SIGKILL) while its entry's transaction is open."""
    _filled(audit_store, 3)
    t = audit_store.table
    child = textwrap.dedent(
        f"""
        import psycopg2, sys
        conn = psycopg2.connect({audit_store.dsn!r})
        cur = conn.cursor()
        cur.execute("SELECT seq, hash FROM {t}_head WHERE id = 1 FOR UPDATE")
        cur.execute("INSERT INTO {t} VALUES (4, 'half', now(), 'agent_run', 'x', 'run', 'ok',"
                    " '{{}}', 'h', 'h')")
        print("inside-transaction", flush=True)
        sys.stdin.read()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "inside-transaction"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    trail = AuditTrail(audit_store)
    trail.record_agent_run("after", run_id="after", outcome="ok", duration_ms=1)
    entries = trail.entries()
    assert [e.entry_id for e in entries if e.entry_id == "half"] == []
    assert len(entries) == 4 and trail.verify().ok


def test_unreachable_database_is_a_typed_write_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    trail = AuditTrail(PostgresAuditStore(f"postgresql://u:p@127.0.0.1:{port}/x"))
    with pytest.raises(AuditWriteError, match="cannot connect"):
        trail.record("x", actor="a", action="b")


def test_compliance_report_from_real_evidence(audit_store: PostgresAuditStore) -> None:
    trail = _filled(audit_store)
    good = generate_compliance_report(trail, KaizenConfig(audit_enabled=True))
    assert good.compliant, good.to_text()
    assert good.control("append_only_storage").evidence["database_refuses_edits"] is True
    bad = generate_compliance_report(
        trail, KaizenConfig(audit_enabled=False, audit_retention_days=7)
    )
    assert not bad.compliant
    assert {c.control for c in bad.failures} == {"audit_enabled", "retention"}
