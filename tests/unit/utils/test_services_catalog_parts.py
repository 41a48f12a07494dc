"""Parts of the service catalog that only a Docker or first-time local start reads: the
containers' environment for unset settings, MariaDB's bootstrap SQL with a password that
needs quoting, and the registry's process search by data directory; and the wait loop's
use of its deadline."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.utils._services import health
from tests.utils._services.catalog import mysql, postgresql
from tests.utils._services.health import DRIVER_MISSING, HealthReport
from tests.utils._services.registry import Registry, find_processes_using
from tests.utils._services.settings import load_settings


@pytest.mark.parametrize(
    ("module", "service", "keys"),
    [
        (postgresql, "postgresql", ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")),
        (mysql, "mysql", ("MARIADB_USER", "MARIADB_PASSWORD", "MARIADB_DATABASE")),
    ],
)
def test_a_container_gets_empty_values_for_unset_settings(module, service, keys) -> None:
    s = dataclasses.replace(load_settings()[service], user=None, password=None, database=None)
    env = module.container_spec(s).environment
    assert [env[k] for k in keys] == ["", "", ""]


def test_the_mariadb_bootstrap_quotes_the_password_as_a_sql_string() -> None:
    s = dataclasses.replace(load_settings()["mysql"], user="u", password="it's\\x")
    statements = mysql.mysql_bootstrap_sql(s)
    assert statements[0] == "CREATE USER IF NOT EXISTS 'u'@'%' IDENTIFIED BY 'it\\'s\\\\x'"
    assert statements[1].endswith("IDENTIFIED BY 'it\\'s\\\\x'")
    assert statements[-1] == "FLUSH PRIVILEGES"
    unset = mysql.mysql_bootstrap_sql(dataclasses.replace(s, password=None))
    assert unset[0] == "CREATE USER IF NOT EXISTS 'u'@'%' IDENTIFIED BY ''"


def test_an_unknown_run_has_no_live_users(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    with reg.locked():
        assert reg.live_users(reg.read(), "never-joined") == []


def test_processes_are_found_by_a_data_dir_path_in_any_argument_form(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    idle = "import time; time.sleep(60)"
    forms = [f"--datadir={data}", f"{data}/postgresql.conf", data]
    procs = [subprocess.Popen([sys.executable, "-c", idle, form]) for form in forms]
    other = subprocess.Popen([sys.executable, "-c", idle, f"{data}-other"])
    try:
        found = set(find_processes_using(data))
        assert {p.pid for p in procs} <= found
        assert other.pid not in found  # a sibling directory whose name starts alike
    finally:
        for proc in (*procs, other):
            proc.kill()
            proc.wait(timeout=30)


def _scripted(monkeypatch, *reports: HealthReport, pause_s: float = 0.0) -> list[float]:
    """health.check replaced by answers in turn (the last repeats); returns the deadlines
    each call was given."""
    deadlines: list[float] = []

    def fake(s, backend=None, deadline_s=health.CHECK_DEADLINE_S):
        deadlines.append(deadline_s)
        time.sleep(pause_s)
        return dataclasses.replace(reports[min(len(deadlines), len(reports)) - 1])

    monkeypatch.setattr(health, "check", fake)
    return deadlines


def _report(healthy: bool, reason: str | None = None) -> HealthReport:
    return HealthReport(service="redis", healthy=healthy, endpoint="127.0.0.1:1", reason=reason)


def test_each_check_of_a_wait_gets_only_what_is_left_of_it(monkeypatch) -> None:
    deadlines = _scripted(monkeypatch, _report(False, "connection refused"))
    report = health.wait_healthy(load_settings()["redis"], timeout_s=0.3)
    assert report.healthy is False
    assert report.reason == "not healthy after 0.3s: connection refused"
    assert len(deadlines) > 1  # polled, not given up after one try
    assert all(0.05 <= d <= 0.3 for d in deadlines), deadlines


def test_a_missing_driver_ends_the_wait_at_once_with_its_own_reason(monkeypatch) -> None:
    reason = f"{DRIVER_MISSING}'redis' is not installed (pip install redis)"
    deadlines = _scripted(monkeypatch, _report(False, reason))
    report = health.wait_healthy(load_settings()["redis"], timeout_s=5)
    assert len(deadlines) == 1
    assert report.healthy is False and report.reason == reason


def test_healthy_only_after_the_deadline_is_not_healthy(monkeypatch) -> None:
    _scripted(monkeypatch, _report(True), pause_s=0.3)
    report = health.wait_healthy(load_settings()["redis"], timeout_s=0.1)
    assert report.healthy is False
    assert report.reason == "became healthy only after the 0.1s deadline"


def test_a_mysql_url_quotes_every_reserved_character_of_its_credentials() -> None:
    s = dataclasses.replace(load_settings()["mysql"], user="a/b", password="p/w@x:y")
    assert mysql.url(s).startswith("mysql://a%2Fb:p%2Fw%40x%3Ay@")
    unset = dataclasses.replace(s, user=None, password=None)
    assert mysql.url(unset).startswith("mysql://:@")
