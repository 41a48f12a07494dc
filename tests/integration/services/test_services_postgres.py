"""PostgreSQL through whichever backend the ladder picked (local processes here)."""

from __future__ import annotations

import time
import uuid

import psycopg2
import pytest

from tests.utils import get_postgres_connection_string
from tests.utils._services import isolation as iso
from tests.utils._services.health import check


def test_service_is_usable_as_the_test_user(postgres_service) -> None:
    assert postgres_service.healthy
    assert postgres_service.backend in ("running", "docker", "local")
    assert postgres_service.version and postgres_service.version.startswith("PostgreSQL")
    conn = psycopg2.connect(get_postgres_connection_string(), connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database()")
            assert cur.fetchone() == ("test_user", "kailash_test")
    finally:
        conn.close()


def test_worker_connection_is_on_the_workers_own_database(postgres_conn) -> None:
    with postgres_conn.cursor() as cur:
        cur.execute("SELECT current_database()")
        name = cur.fetchone()[0]
        assert name.startswith("kzt_") and name == iso.worker_name(name.rsplit("_", 1)[-1])
        cur.execute("CREATE TABLE IF NOT EXISTS kzt_items (id int PRIMARY KEY, v text)")
        cur.execute("INSERT INTO kzt_items VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET v='x'")
        cur.execute("SELECT v FROM kzt_items WHERE id = 1")
        assert cur.fetchone() == ("x",)


def test_per_test_database_is_isolated_and_dropped(postgres_service, postgres_test_db) -> None:
    conn = psycopg2.connect(postgres_test_db.url, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('kzt_items')")
            assert cur.fetchone() == (None,), "a fresh database must not see the worker's tables"
            cur.execute("CREATE TABLE t (id int)")
    finally:
        conn.close()
    s = postgres_service.settings
    other = iso.pg_create_database(s, iso.test_name())
    iso.pg_drop_database(s, other)
    admin = psycopg2.connect(get_postgres_connection_string(), connect_timeout=5)
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (other,))
            assert cur.fetchone() == (0,)
    finally:
        admin.close()


def test_template_clone_is_fast(postgres_service) -> None:
    s = postgres_service.settings
    iso.pg_ensure_template(s)
    durations = []
    for _ in range(5):
        name = iso.test_name()
        started = time.perf_counter()
        iso.pg_create_database(s, name)
        durations.append((time.perf_counter() - started) * 1000)
        iso.pg_drop_database(s, name)
    durations.sort()
    assert durations[2] < 500, f"median template clone {durations[2]:.0f} ms (target 50 ms)"


_TEST_DBS = "kzt\\_t\\_%"  # per-test clones (iso.test_name), as a LIKE pattern


def _databases_like(s, pattern: str) -> set[str]:
    """Names of the server's databases matching a LIKE pattern, on an admin connection."""
    conn = iso._pg_admin(s)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def test_cleanup_refuses_databases_it_did_not_create(postgres_service) -> None:
    # The foreign database is this test's own victim, not a real one (kailash_test): a guard
    # that failed would drop only the victim, and the test would say so.
    s, victim = postgres_service.settings, f"victim_{uuid.uuid4().hex[:12]}"
    admin = lambda: iso._pg_admin(s)  # noqa: E731
    iso._admin_execute(admin, f'CREATE DATABASE "{victim}"')
    try:
        with pytest.raises(iso.RefusedCleanupError, match="kzt_"):
            iso.pg_drop_database(s, victim)
        assert _databases_like(s, victim) == {victim}
    finally:
        iso._admin_execute(admin, f'DROP DATABASE IF EXISTS "{victim}"')


def test_wrong_password_is_unhealthy_with_the_server_reason(postgres_service) -> None:
    from dataclasses import replace

    wrong = replace(postgres_service.settings, password="not-the-password")
    report = check(wrong)
    assert not report.healthy
    assert "password authentication failed" in (report.reason or "")
    assert "test_user" in (report.reason or "")


@pytest.mark.requires_services("postgresql")
def test_marker_brings_the_service_up() -> None:
    report = check(
        __import__("tests.utils.docker_config", fromlist=["x"]).get_settings()["postgresql"]
    )
    assert report.healthy, report.reason
    assert report.latency_ms < 2000


def test_the_database_pool_fills_hands_out_and_drops_everything_it_made(
    postgres_service,
) -> None:
    # Compared by name: the session's own pool (postgres_db_pool) makes clones meanwhile.
    s = postgres_service.settings
    pool = iso.PgDatabasePool(s, size=4)
    try:
        assert pool.wait_full(0) is False  # four template clones take longer than no time
        assert pool.wait_full(30) is True
        made = set(pool._ready)
        assert len(made) == 4 and made <= _databases_like(s, _TEST_DBS)
        name = pool.acquire(timeout_s=30)
        assert name in made and name.startswith("kzt_t_")
        pool.release(name)
    finally:
        pool.close()
    assert not pool._thread.is_alive()
    assert not made & _databases_like(s, _TEST_DBS)  # the clones and the released one are dropped
