"""The PostgreSQL audit store: one table of entries plus a one-row head table, written in
one transaction per entry. A trigger refuses UPDATE, DELETE and TRUNCATE on the entries,
so edits need a deliberate `ALTER TABLE ... DISABLE TRIGGER` (which `verify()` then
catches through the hash chain). The head row carries the trail's seal, so rewriting it
to hide a deleted tail is caught too. Only writing creates the tables: reading a dropped
trail must fail, never look like a new empty one."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable
from typing import Any

from kaizen.audit.entry import GENESIS_HASH, AuditEntry, utc_iso
from kaizen.audit.errors import AuditError, AuditWriteError
from kaizen.audit.store import ChainHead, Seal
from kaizen.errors import ConfigurationError

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")


class PostgresAuditStore:
    """Entries in `table`, the chain head in `<table>_head`. Created on first use."""

    def __init__(self, dsn: str, table: str = "kaizen_audit", *, connect_timeout: float = 10.0):
        if not _IDENT.match(table):
            raise ConfigurationError(
                "table", f"must match {_IDENT.pattern} (lowercase SQL identifier), got {table!r}"
            )
        from kaizen.dataflow._sql import endpoint_of

        self.dsn = dsn
        self.table = table
        self.endpoint = endpoint_of(dsn)
        self.connect_timeout = connect_timeout
        self._conn: Any = None
        self._ready = False
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"postgresql {self.endpoint} table {self.table}"

    def __repr__(self) -> str:
        return f"PostgresAuditStore({self.endpoint}, table={self.table!r})"

    # -- connection -----------------------------------------------------------------------

    def _connection(self, *, create: bool = False) -> Any:
        if self._conn is None or self._conn.closed:
            from kaizen.dataflow.postgres import connect_postgres

            self._conn = connect_postgres(
                self.dsn, connect_timeout=self.connect_timeout, endpoint=self.endpoint
            )
        if create and not self._ready:
            self._create_schema(self._conn)
            self._ready = True
        return self._conn

    def _create_schema(self, conn: Any) -> None:
        t = self.table
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [t])
            cur.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {t} (
                    seq bigint PRIMARY KEY,
                    entry_id text NOT NULL UNIQUE,
                    recorded_at timestamptz NOT NULL,
                    event_type text NOT NULL,
                    actor text NOT NULL,
                    action text NOT NULL,
                    outcome text NOT NULL,
                    payload text NOT NULL,
                    prev_hash text NOT NULL,
                    hash text NOT NULL
                );
                CREATE TABLE IF NOT EXISTS {t}_head (
                    id int PRIMARY KEY CHECK (id = 1),
                    seq bigint NOT NULL,
                    hash text NOT NULL,
                    count bigint NOT NULL
                );
                ALTER TABLE {t}_head ADD COLUMN IF NOT EXISTS seal text NOT NULL DEFAULT '';
                INSERT INTO {t}_head (id, seq, hash, count) VALUES (1, 0, %s, 0)
                    ON CONFLICT (id) DO NOTHING;
                CREATE OR REPLACE FUNCTION {t}_append_only() RETURNS trigger AS $$
                BEGIN
                    RAISE EXCEPTION 'audit table %% is append-only (%% refused)',
                        TG_TABLE_NAME, TG_OP;
                END $$ LANGUAGE plpgsql;
                CREATE OR REPLACE TRIGGER {t}_no_change BEFORE UPDATE OR DELETE ON {t}
                    FOR EACH ROW EXECUTE FUNCTION {t}_append_only();
                CREATE OR REPLACE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}
                    FOR EACH STATEMENT EXECUTE FUNCTION {t}_append_only();
                """,
                [GENESIS_HASH],
            )

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a dead connection may fail to close
                conn.close()

    # -- the store protocol -----------------------------------------------------------------

    def _open(self, error: type[AuditError], what: str, *, create: bool = False) -> Any:
        """The live connection (caller holds the lock), or `error` saying `what` failed."""
        import psycopg2

        from kaizen.dataflow.errors import DatabaseConnectionError

        try:
            return self._connection(create=create)
        except (DatabaseConnectionError, psycopg2.Error) as exc:
            self._discard()
            raise error(f"{what}: {exc}") from exc

    def append(self, build: Callable[[int, str], AuditEntry], seal: Seal) -> AuditEntry:
        import psycopg2

        t = self.table
        with self._lock:
            conn = self._open(AuditWriteError, "audit entry not written", create=True)
            try:
                with conn, conn.cursor() as cur:
                    cur.execute(f"SELECT seq, hash, count FROM {t}_head WHERE id = 1 FOR UPDATE")
                    row = cur.fetchone()
                    if row is None:
                        raise AuditWriteError(
                            f"audit entry not written to {self.describe()}: the head row of "
                            f"{t}_head is missing (deleted outside kaizen); restore the trail "
                            "from a backup"
                        )
                    seq, prev_hash, count = row
                    entry = build(seq + 1, prev_hash)
                    head = ChainHead(entry.seq, entry.hash, int(count) + 1)
                    cur.execute(
                        f"INSERT INTO {t} (seq, entry_id, recorded_at, event_type, actor, "
                        "action, outcome, payload, prev_hash, hash) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        [
                            entry.seq,
                            entry.entry_id,
                            entry.timestamp,
                            entry.event_type,
                            entry.actor,
                            entry.action,
                            entry.outcome,
                            json.dumps(dict(entry.payload), sort_keys=True, default=str),
                            entry.prev_hash,
                            entry.hash,
                        ],
                    )
                    cur.execute(
                        f"UPDATE {t}_head SET seq = %s, hash = %s, count = %s, seal = %s "
                        "WHERE id = 1",
                        [head.seq, head.hash, head.count, seal(head)],
                    )
                return entry
            except psycopg2.Error as exc:
                if conn.closed:
                    self._discard()
                raise AuditWriteError(
                    f"audit entry not written to {self.describe()}: "
                    f"{str(exc).strip().splitlines()[0]} (the transaction was rolled back; "
                    "no partial entry exists)"
                ) from exc

    def entries(self) -> list[AuditEntry]:
        rows = self._query(
            f"SELECT seq, entry_id, recorded_at, event_type, actor, action, outcome, payload, "
            f"prev_hash, hash FROM {self.table} ORDER BY seq"
        )
        return [
            AuditEntry(
                seq=r[0],
                entry_id=r[1],
                timestamp=utc_iso(r[2]),
                event_type=r[3],
                actor=r[4],
                action=r[5],
                outcome=r[6],
                payload=json.loads(r[7]),
                prev_hash=r[8],
                hash=r[9],
            )
            for r in rows
        ]

    def head(self) -> ChainHead:
        rows = self._query(f"SELECT seq, hash, count, seal FROM {self.table}_head WHERE id = 1")
        if not rows:
            raise AuditError(
                f"the head row of {self.table}_head in {self.describe()} is missing (deleted "
                "outside kaizen); restore the trail from a backup"
            )
        seq, digest, count, seal = rows[0]
        return ChainHead(int(seq), str(digest), int(count), str(seal))

    def missing(self) -> tuple[str, ...]:
        """The entries table, the head table and the head row, whichever does not exist.
        Before the first write all are missing: verify() then says so rather than ok."""
        t = self.table
        (row,) = self._query("SELECT to_regclass(%s), to_regclass(%s)", [t, f"{t}_head"])
        gone = [f"table {name}" for name, oid in zip((t, f"{t}_head"), row, strict=True) if not oid]
        if not gone and not self._query(f"SELECT 1 FROM {t}_head WHERE id = 1"):
            gone.append(f"the head row of {t}_head")
        return tuple(gone)

    def append_only_enforced(self) -> bool:
        """True when the refusing triggers exist and are enabled (evidence, not a flag)."""
        rows = self._query(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
            "AND tgname IN (%s, %s) AND tgenabled <> 'D'",
            [self.table, f"{self.table}_no_change", f"{self.table}_no_truncate"],
        )
        return int(rows[0][0]) == 2

    def drop(self) -> None:
        """Remove the tables and function (tests and decommissioning only)."""
        t = self.table
        self._query(
            f"DROP TABLE IF EXISTS {t} CASCADE; DROP TABLE IF EXISTS {t}_head; "
            f"DROP FUNCTION IF EXISTS {t}_append_only() CASCADE",
            fetch=False,
        )
        self._ready = False
        self.close()

    def close(self) -> None:
        with self._lock:
            self._discard()

    def _query(self, sql: str, params: list[Any] | None = None, *, fetch: bool = True) -> Any:
        import psycopg2

        with self._lock:
            conn = self._open(AuditError, "cannot reach the audit trail")
            try:
                with conn, conn.cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchall() if fetch else None
            except psycopg2.Error as exc:
                if conn.closed:
                    self._discard()
                raise AuditError(
                    f"cannot read the audit trail from {self.describe()}: "
                    f"{str(exc).strip().splitlines()[0]}"
                ) from exc
