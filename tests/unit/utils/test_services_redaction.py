"""Credentials never reach output: reprs, URLs in tracebacks, health reasons, errors."""

from __future__ import annotations

import pytest

from tests.utils._services import catalog, health
from tests.utils._services import settings as st
from tests.utils._services.stack import ServiceStatus, ServiceUnavailableError
from tests.utils.pytest_services import ServiceDatabase

#: distinctive, with characters a URL must quote, so both spellings are checked
SECRET = "S3cr3t@p/w"


@pytest.fixture
def settings() -> st.Settings:
    return st.load_settings(
        {"KAIZEN_TEST_POSTGRES_PASSWORD": SECRET, "KAIZEN_TEST_MYSQL_PASSWORD": SECRET}
    )


def _leaks(text: str) -> bool:
    from urllib.parse import quote

    return SECRET in text or quote(SECRET, safe="") in text


@pytest.mark.parametrize("service", ["postgresql", "mysql"])
def test_settings_reprs_hide_the_password(settings: st.Settings, service: str) -> None:
    s = settings[service]
    assert s.password == SECRET  # code that needs it still has it
    for text in (repr(s), str(s), repr(settings), str(settings)):
        assert not _leaks(text), text
    assert "password='***'" in repr(s)


def test_urls_keep_the_password_for_drivers_but_not_for_tracebacks(
    settings: st.Settings,
) -> None:
    pg = st.postgres_url(settings["postgresql"], "kzt_x")
    my = st.mysql_url(settings["mysql"])
    for url in (pg, my):
        assert _leaks(str(url)) and _leaks(f"{url}")  # the real URL
        assert not _leaks(repr(url)) and ":***@" in repr(url)
    db = ServiceDatabase("kzt_x", pg)
    assert db.url == str(pg) and not _leaks(repr(db))


def test_status_and_errors_hide_the_password(settings: st.Settings) -> None:
    s = settings["postgresql"]
    status = ServiceStatus("postgresql", True, "local", s.endpoint, s.host, s.port, settings=s)
    assert not _leaks(repr(status)) and not _leaks(str(status))


def test_health_reasons_redact_what_a_driver_echoes(
    settings: st.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings["postgresql"]
    url = str(st.postgres_url(s))

    def echoes(_s: st.ServiceSettings, _d: object) -> str:
        raise health.Unhealthy(f"connect to {url} failed near '{SECRET}'")

    def crashes(_s: st.ServiceSettings, _d: object) -> str:
        raise ValueError(f"invalid dsn {url}")

    monkeypatch.setattr(health, "tcp_probe", lambda *a, **k: None)
    for check in (echoes, crashes):
        monkeypatch.setattr(catalog.get("postgresql"), "check", check)
        report = health.check(s)
        assert not report.healthy and report.reason
        assert "***" in report.reason
        error = ServiceUnavailableError("postgresql", s.endpoint, {"local": report.reason})
        for text in (report.reason, str(report), repr(report), str(error), repr(error)):
            assert not _leaks(text), text


def test_redact_handles_urls_without_known_secrets() -> None:
    assert st.redact("mongodb://admin:S3cr3t@127.0.0.1:27017/x") == (
        "mongodb://admin:***@127.0.0.1:27017/x"
    )
    assert st.redact("redis://127.0.0.1:6380/1") == "redis://127.0.0.1:6380/1"
    assert st.redact("no secret here", None, "") == "no secret here"


def test_redact_hides_the_url_quoted_spelling_of_a_secret() -> None:
    """A driver echoes the password as the URL carries it: '@' and '/' percent-encoded."""
    from urllib.parse import quote

    quoted = quote(SECRET, safe="")
    assert "%2F" in quoted  # '/' is quoted too, as the toolkit's URLs spell it
    assert st.redact(f"auth failed for {quoted} and {SECRET}", SECRET) == (
        "auth failed for *** and ***"
    )


def test_settings_repr_shows_everything_but_the_password() -> None:
    s = st.ServiceSettings("postgresql", "127.0.0.1", 5434, "db", "u", "pw")
    text = repr(s)
    assert text.startswith("ServiceSettings(name='postgresql', host='127.0.0.1', port=5434, ")
    assert "database='db', user='u', password='***', model=None" in text
    assert "password=None" in repr(st.ServiceSettings("redis", "127.0.0.1", 6380))
