"""MySQL (MariaDB) through the available backend: worker schema, per-test databases."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pymysql
import pytest

from tests.utils._services import isolation as iso
from tests.utils._services.health import check


def test_select_one_as_test_user(mysql_service) -> None:
    assert mysql_service.healthy and mysql_service.version.startswith("MySQL")
    s = mysql_service.settings
    conn = pymysql.connect(
        host=s.host,
        port=s.port,
        user=s.user,
        password=s.password,
        database=s.database,
        connect_timeout=5,
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1, DATABASE()")
            assert cur.fetchone() == (1, "kailash_test")
    finally:
        conn.close()


def test_worker_schema_round_trip(mysql_conn) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone()[0].startswith("kzt_")
        cur.execute("CREATE TABLE IF NOT EXISTS items (id INT PRIMARY KEY, v VARCHAR(8))")
        cur.execute("REPLACE INTO items VALUES (1, 'x')")
        cur.execute("SELECT v FROM items WHERE id = 1")
        assert cur.fetchone() == ("x",)


def test_per_test_database_is_dropped(mysql_service, mysql_test_db) -> None:
    s = mysql_service.settings
    name = iso.mysql_create_database(s, iso.test_name())
    iso.mysql_drop_database(s, name)
    conn = pymysql.connect(
        host=s.host, port=s.port, user=s.user, password=s.password, connect_timeout=5
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES LIKE %s", (name,))
            assert cur.fetchall() == ()
            cur.execute("SHOW DATABASES LIKE %s", (mysql_test_db.name,))
            assert len(cur.fetchall()) == 1
    finally:
        conn.close()


def test_wrong_credentials_are_unhealthy(mysql_service) -> None:
    report = check(replace(mysql_service.settings, password="wrong"))
    assert not report.healthy and "Access denied" in (report.reason or "")


def test_cleanup_refuses_foreign_schema(mysql_service) -> None:
    # The foreign schema is this test's own victim, not a real one (kailash_test). The test
    # user may create only `kzt_` schemas: the capital letter is what makes it foreign.
    s, victim = mysql_service.settings, f"kzt_Victim{uuid.uuid4().hex[:8]}"
    admin = lambda: iso._mysql_admin(s)  # noqa: E731
    iso._admin_execute(admin, f"CREATE DATABASE `{victim}`")
    try:
        with pytest.raises(iso.RefusedCleanupError):
            iso.mysql_drop_database(s, victim)
        conn = admin()
        try:
            with conn.cursor() as cur:
                assert cur.execute("SHOW DATABASES LIKE %s", (victim,)) == 1
        finally:
            conn.close()
    finally:
        iso._admin_execute(admin, f"DROP DATABASE IF EXISTS `{victim}`")
