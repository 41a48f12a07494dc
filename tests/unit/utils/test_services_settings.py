"""Settings: services.env parsing, environment overrides, typed errors naming the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.utils._services import settings as st
from tests.utils._services.settings import (
    SettingsError,
    UnknownServiceError,
    load_settings,
    parse_env_file,
)


def test_defaults_are_the_locked_in_endpoints() -> None:
    s = load_settings({})
    assert s["postgresql"].endpoint == "127.0.0.1:5434"
    assert (s["postgresql"].database, s["postgresql"].user) == ("kailash_test", "test_user")
    assert s["redis"].port == 6380 and s["mysql"].port == 3307
    assert s["mysql"].user == "kailash_test" and s["mongodb"].port == 27017
    assert s["ollama"].port == 11435 and s["ollama"].model == "gemma3:270m"
    assert s.backends == ("running", "docker", "local")


def test_environment_overrides_the_file() -> None:
    s = load_settings(
        {
            "KAIZEN_TEST_REDIS_PORT": "7000",
            "KAIZEN_TEST_POSTGRES_DB": "other",
            "KAIZEN_TEST_OLLAMA_MODEL": "m:1b",
        }
    )
    assert s["redis"].port == 7000 and s["postgresql"].database == "other"
    assert s["ollama"].model == "m:1b"
    assert s.raw["KAIZEN_TEST_REDIS_PORT"] == "7000"


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_bad_port_names_the_key(value: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"KAIZEN_TEST_MYSQL_PORT": value})
    assert err.value.key == "KAIZEN_TEST_MYSQL_PORT" and value in str(err.value)


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(SettingsError, match=r"KAIZEN_TEST_BACKENDS.*'podman'"):
        load_settings({"KAIZEN_TEST_BACKENDS": "running,podman"})


def test_unknown_service_lists_the_known_ones() -> None:
    with pytest.raises(UnknownServiceError, match="known services: postgresql, redis"):
        load_settings({})["oracle"]


def test_malformed_env_file_line_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "services.env"
    bad.write_text("# c\nKAIZEN_TEST_X=1\nnot a pair\n")
    with pytest.raises(SettingsError, match=r"services\.env:3"):
        parse_env_file(bad)


def test_env_file_values_have_no_whitespace() -> None:
    """The Makefile's `?=` import splits on whitespace: keep values free of it."""
    for key, value in parse_env_file().items():
        assert value and not any(c.isspace() for c in value), key


def test_connection_strings_quote_credentials() -> None:
    s = load_settings({"KAIZEN_TEST_POSTGRES_PASSWORD": "p@ss:w/rd"})["postgresql"]
    url = st.postgres_url(s, "kzt_x")
    assert url == "postgresql://test_user:p%40ss%3Aw%2Frd@127.0.0.1:5434/kzt_x"
    mongo = st.mongodb_url(load_settings({})["mongodb"], "db1")
    assert mongo == "mongodb://127.0.0.1:27017/db1?directConnection=true"


def test_public_helpers_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.utils import docker_config as dc

    for key in [k for k in os.environ if k.startswith("KAIZEN_TEST_")]:
        monkeypatch.delenv(key)  # the file's defaults, whatever the caller's environment says
    monkeypatch.setenv("KAIZEN_TEST_POSTGRES_PORT", "6543")
    monkeypatch.setenv("KAIZEN_TEST_OLLAMA_PORT", "12345")
    assert dc.get_postgres_connection_string() == (
        "postgresql://test_user:test_password@127.0.0.1:6543/kailash_test"
    )
    assert dc.get_postgres_connection_string("kzt_a").endswith("/kzt_a")
    assert dc.get_redis_url() == "redis://127.0.0.1:6380/0"
    assert dc.get_mysql_connection_string() == (
        "mysql://kailash_test:test_password@127.0.0.1:3307/kailash_test"
    )
    assert dc.get_mongodb_connection_string("x").startswith("mongodb://127.0.0.1:27017/x")
    assert dc.get_ollama_base_url() == "http://127.0.0.1:12345"
