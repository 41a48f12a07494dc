"""Per-worker and per-test isolation, behind a name-prefix guard.

Why a guard: the toolkit may be pointed at somebody's own server (env overrides). Every
database, schema or collection it creates starts with NAME_PREFIX, and every cleanup refuses
a name without it, so cleanup can never drop what the toolkit did not create.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from typing import Any

from tests.utils.errors import ToolkitError

from .settings import NAME_PREFIX, ServiceSettings

PG_TEMPLATE = f"{NAME_PREFIX}template"
REDIS_DB_COUNT = 16
#: fullmatch, not match + "$": "$" also matches before a final newline ("kzt_x\n").
_SAFE = re.compile(r"[a-z0-9_]{1,63}")


class RefusedCleanupError(ToolkitError, RuntimeError):
    """Cleanup was asked to touch something the toolkit did not create."""


def guard(name: str) -> str:
    """Return `name` if it is one of ours (prefix and a safe identifier), else refuse."""
    if not name.startswith(NAME_PREFIX) or not _SAFE.fullmatch(name):
        raise RefusedCleanupError(
            f"refusing to create or remove {name!r}: toolkit-managed names start with "
            f"{NAME_PREFIX!r} and use only [a-z0-9_]"
        )
    return name


def worker_id() -> str:
    """'gw0', 'gw1', ... under pytest-xdist, else 'main'."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_name(run_id: str) -> str:
    """Per-worker database/schema name; the run id keeps concurrent runs apart."""
    tag = re.sub(r"[^a-z0-9]", "", run_id.lower())[-8:]
    return guard(f"{NAME_PREFIX}{worker_id()}_{tag}")


def test_name() -> str:
    return guard(f"{NAME_PREFIX}t_{uuid.uuid4().hex[:12]}")


# -- PostgreSQL ----------------------------------------------------------------------------
def _pg_admin(s: ServiceSettings) -> Any:
    import psycopg2

    conn = psycopg2.connect(
        host=s.host,
        port=s.port,
        dbname=s.database,
        user=s.user,
        password=s.password,
        connect_timeout=5,
    )
    conn.autocommit = True
    return conn


#: pg_advisory_lock key serialising template creation (any 64-bit constant of ours).
_PG_TEMPLATE_LOCK = 0x6B7A745F746D706C  # b"kzt_tmpl"


def pg_ensure_template(s: ServiceSettings) -> None:
    """Create the (empty) template database the per-worker/per-test databases clone.

    Why the advisory lock: xdist workers (and concurrent runs) all ensure the template at
    start-up; two CREATE DATABASE statements racing fail on pg_database's unique index with
    UniqueViolation, not DuplicateDatabase. The lock makes check-then-create one step;
    a creator that does not take it (an older clone) is still tolerated by re-checking.
    """
    import psycopg2

    conn = _pg_admin(s)
    try:
        with conn.cursor() as cur:
            cur.execute("SET lock_timeout = '30s'")
            cur.execute("SELECT pg_advisory_lock(%s)", (_PG_TEMPLATE_LOCK,))
            try:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEMPLATE,))
                if cur.fetchone() is not None:
                    return
                try:
                    cur.execute(f'CREATE DATABASE "{PG_TEMPLATE}" TEMPLATE template0')
                except (psycopg2.errors.DuplicateDatabase, psycopg2.errors.UniqueViolation):
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEMPLATE,))
                    if cur.fetchone() is None:
                        raise  # not a concurrent creator: surface the real error
                except psycopg2.errors.InsufficientPrivilege as exc:
                    raise RefusedCleanupError(
                        f"{s.user} may not create databases on {s.endpoint} ({exc}); "
                        f"grant it: ALTER ROLE {s.user} CREATEDB"
                    ) from None
            finally:
                cur.execute("SELECT pg_advisory_unlock(%s)", (_PG_TEMPLATE_LOCK,))
    finally:
        conn.close()


def _admin_execute(connect: Callable[[], Any], sql: str) -> None:
    """One statement on a fresh admin connection (CREATE/DROP DATABASE cannot run inside a
    transaction block, so these never share the tests' connections)."""
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def pg_create_database(s: ServiceSettings, name: str) -> str:
    """Clone the template into `name`; returns `name`."""
    guard(name)
    pg_ensure_template(s)
    _admin_execute(
        lambda: _pg_admin(s),
        f'CREATE DATABASE "{name}" TEMPLATE "{PG_TEMPLATE}" STRATEGY FILE_COPY',
    )
    return name


def pg_drop_database(s: ServiceSettings, name: str) -> None:
    guard(name)
    _admin_execute(lambda: _pg_admin(s), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PgDatabasePool:
    """Template clones made ahead of time by a background thread, handed out per test.

    Why: CREATE DATABASE ... TEMPLATE costs ~100-300 ms on a busy 2-core machine (it
    checkpoints and copies files); a test should not wait for that. Drops are queued to the
    same thread; close() drains both queues so nothing the pool created survives it.
    """

    def __init__(self, s: ServiceSettings, size: int = 2) -> None:
        import threading
        from collections import deque

        self.s, self.size = s, size
        self._ready: deque[str] = deque()
        self._to_drop: deque[str] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._error: BaseException | None = None
        pg_ensure_template(s)
        self._thread = threading.Thread(target=self._work, name="kzt-pg-pool", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        conn = None
        try:
            conn = _pg_admin(self.s)
            while True:
                with self._cond:
                    while not self._closed and not self._to_drop and len(self._ready) >= self.size:
                        self._cond.wait()
                    if self._closed and not self._to_drop:
                        return
                    drop = self._to_drop.popleft() if self._to_drop else None
                with conn.cursor() as cur:
                    if drop is not None:
                        cur.execute(f'DROP DATABASE IF EXISTS "{guard(drop)}" WITH (FORCE)')
                        continue
                    name = test_name()
                    cur.execute(
                        f'CREATE DATABASE "{name}" TEMPLATE "{PG_TEMPLATE}" STRATEGY FILE_COPY'
                    )
                with self._cond:  # closed meanwhile: this clone is dropped like the rest
                    (self._to_drop if self._closed else self._ready).append(name)
                    self._cond.notify_all()
        except BaseException as exc:  # surfaced to acquire(): never a silent hang
            with self._cond:
                self._error = exc
                self._cond.notify_all()
        finally:
            if conn is not None:
                conn.close()

    def acquire(self, timeout_s: float = 60.0) -> str:
        """A fresh database name (already created); the caller must release() it."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._ready or self._error, timeout=timeout_s)
            if self._error is not None:
                raise RuntimeError(f"PostgreSQL database pool failed: {self._error}")
            if not ok:
                raise TimeoutError(f"no template clone ready within {timeout_s:.0f}s")
            name = self._ready.popleft()
            self._cond.notify_all()
            return name

    def wait_full(self, timeout_s: float = 60.0) -> bool:
        """True once `size` clones are ready (benchmarks; warm-up before a timed section)."""
        with self._cond:
            return (
                self._cond.wait_for(
                    lambda: len(self._ready) >= self.size or self._error is not None, timeout_s
                )
                and self._error is None
            )

    def release(self, name: str) -> None:
        with self._cond:
            self._to_drop.append(guard(name))
            self._cond.notify_all()

    def close(self, timeout_s: float = 60.0) -> None:
        with self._cond:
            self._to_drop.extend(self._ready)
            self._ready.clear()
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=timeout_s)
        with self._cond:  # the thread died early, or made one more clone as it closed
            left = [*self._to_drop, *self._ready]
            self._to_drop.clear()
            self._ready.clear()
        for name in left:
            pg_drop_database(self.s, name)


# -- MySQL ---------------------------------------------------------------------------------
def _mysql_admin(s: ServiceSettings) -> Any:
    import pymysql

    return pymysql.connect(
        host=s.host,
        port=s.port,
        user=s.user,
        password=s.password or "",
        ssl_disabled=True,
        connect_timeout=5,
        autocommit=True,
    )


def mysql_create_database(s: ServiceSettings, name: str) -> str:
    guard(name)
    _admin_execute(lambda: _mysql_admin(s), f"CREATE DATABASE IF NOT EXISTS `{name}`")
    return name


def mysql_drop_database(s: ServiceSettings, name: str) -> None:
    guard(name)
    _admin_execute(lambda: _mysql_admin(s), f"DROP DATABASE IF EXISTS `{name}`")


# -- Redis ---------------------------------------------------------------------------------
#: db 0 is left to the server's owner; the toolkit claims 1..15.
REDIS_DB_INDEXES = range(1, REDIS_DB_COUNT)


def redis_claim_db(registry: Any, s: ServiceSettings, member: str, run_id: str) -> int:
    """Claim a Redis db index for this process: atomic under the state file's lock.

    An index is skipped while a live member of any run holds it (concurrent runs, from one
    clone or several, never share one), and when it holds keys the toolkit did not write.
    Leftover keys under a claim of a dead member of ours are ours, and flushed. A refusal
    writes nothing: the next run cannot inherit a claim on keys that are not ours.
    """
    import redis

    from .registry import RefusedClaimError

    def usable(index: int, ours: bool) -> str | None:
        client = redis.Redis(
            host=s.host, port=s.port, db=index, socket_timeout=5, socket_connect_timeout=5
        )
        try:
            size = int(client.dbsize())
            if size and not ours:
                return f"holds {size} keys the toolkit did not create"
            if size:
                client.flushdb()  # a crashed run of ours left them
            return None
        finally:
            client.close()

    with registry.locked():
        try:
            return int(
                registry.allocate(f"redis@{s.endpoint}", REDIS_DB_INDEXES, member, run_id, usable)
            )
        except RefusedClaimError as exc:
            raise RefusedCleanupError(
                f"no Redis db on {s.endpoint} is free for the toolkit ({exc}); it will not "
                "FLUSHDB a db it did not claim. Empty one, or point KAIZEN_TEST_REDIS_PORT at "
                "a server of your own"
            ) from None


def redis_release_db(registry: Any, s: ServiceSettings, index: int, member: str) -> None:
    with registry.locked():
        registry.release_claim(f"redis@{s.endpoint}", index, member)


def redis_flush(client: Any, index: int, claimed: bool) -> None:
    if not claimed:
        raise RefusedCleanupError(f"redis db {index} was never claimed by the toolkit")
    client.flushdb()


# -- MongoDB -------------------------------------------------------------------------------
def mongodb_drop_database(client: Any, name: str) -> None:
    guard(name)
    client.drop_database(name)
