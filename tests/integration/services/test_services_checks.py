"""Each service's health check against its real server: the version it reports is the one
the server itself gives through a client of its own (so a check that skipped its round
trip, or misread the answer, is caught), and a failing check names its step."""

from __future__ import annotations

from dataclasses import replace

import httpx
import psycopg2
import pymongo
import pymysql
import pytest
import redis

from tests.utils._services.health import check


def test_postgresql_check_reports_the_servers_version(postgres_service) -> None:
    s = postgres_service.settings
    conn = psycopg2.connect(
        host=s.host, port=s.port, dbname=s.database, user=s.user, password=s.password
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            (version,) = cur.fetchone()
    finally:
        conn.close()
    report = check(s)
    assert report.healthy, report.reason
    assert report.version == f"PostgreSQL {version}"


def test_mysql_check_reports_the_servers_version(mysql_service) -> None:
    s = mysql_service.settings
    conn = pymysql.connect(
        host=s.host, port=s.port, user=s.user, password=s.password or "", database=s.database
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            (version,) = cur.fetchone()
    finally:
        conn.close()
    report = check(s)
    assert report.healthy, report.reason
    assert report.version == f"MySQL {version}"


def test_redis_check_reports_the_servers_version(redis_service) -> None:
    s = redis_service.settings
    client = redis.Redis(host=s.host, port=s.port, socket_timeout=10)
    try:
        version = client.info("server")["redis_version"]
    finally:
        client.close()
    report = check(s)
    assert report.healthy, report.reason
    assert report.version == f"Redis {version}"


def test_mongodb_check_reports_the_servers_version_and_leaves_no_document(
    mongodb_service,
) -> None:
    s = mongodb_service.settings
    client = pymongo.MongoClient(s.host, s.port, directConnection=True, timeoutMS=10_000)
    try:
        version = client.server_info()["version"]
        report = check(s)
        health = client[s.database or "kailash_test"]["kzt_health"]
        leftover = health.count_documents({})
    finally:
        client.close()
    assert report.healthy, report.reason
    assert report.version == f"MongoDB {version}"
    assert leftover == 0  # the round trip's document is deleted again


def test_ollama_check_reports_the_servers_version(ollama_service) -> None:
    s = ollama_service.settings
    version = httpx.get(f"http://{s.host}:{s.port}/api/version", timeout=10).json()["version"]
    report = check(s)
    assert report.healthy, report.reason
    assert report.version == f"Ollama API {version}"


def test_ollama_check_names_a_model_the_server_does_not_list(ollama_service) -> None:
    s = ollama_service.settings
    listed = httpx.get(f"http://{s.host}:{s.port}/api/tags", timeout=10).json()["models"]
    names = ", ".join(m["name"] for m in listed)
    report = check(replace(s, model="kzt-absent-model"))
    assert not report.healthy
    assert report.reason == (
        f"model 'kzt-absent-model' is not listed by /api/tags (listed: {names}); pull it "
        "or set KAIZEN_TEST_OLLAMA_MODEL"
    )


@pytest.mark.parametrize(
    ("fixture", "step"),
    [
        ("postgres_service", "connect as {user} to kzt_absent_db: "),
        ("mysql_service", "connect as {user} to kzt_absent_db: "),
    ],
)
def test_a_missing_database_is_unhealthy_naming_the_connect_step(
    request: pytest.FixtureRequest, fixture: str, step: str
) -> None:
    s = request.getfixturevalue(fixture).settings
    report = check(replace(s, database="kzt_absent_db"))
    assert not report.healthy
    assert (report.reason or "").startswith(step.format(user=s.user)), report.reason
