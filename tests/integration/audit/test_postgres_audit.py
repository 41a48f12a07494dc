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
from kaizen.audit.store import ChainHead

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
        conn = psycopg2.connect({str(audit_store.dsn)!r})
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


# -- a truncation hidden behind a rewritten head, dropped tables (issue 10, item 9) -----------

_KEY = b"audit-key-" * 4


def _cut_tail_and_rewrite_head(store: PostgresAuditStore, keep: int) -> None:
    """What an attacker with SQL access (but not the key) does: delete the tail, point the
    head at the last kept entry, and seal it the only way they can (unkeyed)."""
    t = store.table
    (digest,) = _sql(store.dsn, f"SELECT hash FROM {t} WHERE seq = %s", [keep])[0]
    seal = ChainHead(keep, digest, keep).compute_seal()
    _sql(
        store.dsn,
        f"ALTER TABLE {t} DISABLE TRIGGER USER; DELETE FROM {t} WHERE seq > %s; "
        f"UPDATE {t}_head SET seq = %s, hash = %s, count = %s, seal = %s",
        [keep, keep, digest, keep, seal],
    )


def test_tail_cut_with_rewritten_head_is_caught_with_the_key(audit_store) -> None:
    trail = AuditTrail(audit_store, key=_KEY)
    for i in range(5):
        trail.record("x", actor=f"a{i}", action="b")
    recorded = trail.head_digest()
    assert trail.verify(min_entries=5, expected_head=recorded).ok
    _cut_tail_and_rewrite_head(audit_store, 3)
    report = trail.verify()
    assert [(p.kind, p.seq) for p in report.problems] == [("forged_head", 3)], report.to_dict()
    assert report.checked == 3
    named = trail.verify(min_entries=5, expected_head=recorded).problems
    kinds = [(p.kind, p.seq) for p in named]
    assert ("truncated", 4) in kinds and ("truncated", 5) in kinds
    assert any("at least 5 were expected" in p.message for p in named)


def test_replayed_head_row_is_named_by_the_recorded_digest(audit_store) -> None:
    """The head row saved at 3 entries is put back after 4-5 are deleted: the seal is
    genuine, so the digest recorded elsewhere is what names the truncation."""
    trail = AuditTrail(audit_store, key=_KEY)
    for i in range(3):
        trail.record("x", actor=f"a{i}", action="b")
    t = audit_store.table
    saved = _sql(audit_store.dsn, f"SELECT seq, hash, count, seal FROM {t}_head")[0]
    for i in range(3, 5):
        trail.record("x", actor=f"a{i}", action="b")
    recorded = trail.head_digest()
    _sql(
        audit_store.dsn,
        f"ALTER TABLE {t} DISABLE TRIGGER USER; DELETE FROM {t} WHERE seq > 3; "
        f"UPDATE {t}_head SET seq = %s, hash = %s, count = %s, seal = %s",
        list(saved),
    )
    report = trail.verify(expected_head=recorded)
    assert [(p.kind, p.seq) for p in report.problems] == [("truncated", 5)], report.to_dict()
    assert "after seq 3 were deleted" in report.problems[0].message


def test_dropped_tables_do_not_verify(audit_store) -> None:
    trail = _filled(audit_store)
    _sql(audit_store.dsn, f"DROP TABLE {audit_store.table}, {audit_store.table}_head")
    fresh = AuditTrail(PostgresAuditStore(audit_store.dsn, table=audit_store.table))
    for reader in (trail, fresh):  # the store that wrote it, and one opened afterwards
        report = reader.verify(min_entries=5)
        assert not report.ok
        assert [p.kind for p in report.problems] == ["missing", "truncated"]
        assert "table audit_trail, table audit_trail_head" in report.problems[0].message
        compliance = generate_compliance_report(reader, KaizenConfig(audit_enabled=True))
        assert "trail_integrity" in {c.control for c in compliance.failures}
    assert fresh.store.missing() == ("table audit_trail", "table audit_trail_head")  # not recreated
    fresh.store.close()  # type: ignore[attr-defined]


def test_deleted_head_row_is_named(audit_store) -> None:
    trail = _filled(audit_store, 2)
    _sql(audit_store.dsn, f"DELETE FROM {audit_store.table}_head")
    report = trail.verify()
    assert [p.kind for p in report.problems] == ["missing"]
    assert "the head row of audit_trail_head" in report.problems[0].message
    with pytest.raises(AuditWriteError, match=r"head row .* is missing"):
        trail.record("x", actor="a", action="b")
