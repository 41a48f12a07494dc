"""Configuration: every key validated with the key named, env parsing, copy-not-mutate."""

from __future__ import annotations

import math
from typing import Any

import pytest

from kaizen.config import DEFAULT_OLLAMA_URL, AgentConfig, KaizenConfig, resolve_agent_config
from kaizen.errors import ConfigurationError

MODEL = {"model": "m"}


# --- AgentConfig ---------------------------------------------------------------------------


def test_agent_config_defaults() -> None:
    cfg = AgentConfig(model="m")
    assert cfg.to_dict() == {
        "model": "m",
        "provider": "ollama",
        "temperature": 0.0,
        "max_tokens": 256,
        "timeout": 60.0,
        "base_url": None,
        "seed": None,
        "max_retries": 2,
        "system_prompt": None,
        "max_steps": 8,
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("temperature", 0),
        ("temperature", 2.0),
        ("temperature", 0.7),
        ("max_tokens", 1),
        ("timeout", 0.001),
        ("max_retries", 0),
        ("seed", 0),
        ("seed", -5),
        ("base_url", "https://example.test:1/"),
        ("system_prompt", ""),
        ("provider", "custom"),
    ],
)
def test_agent_config_accepts_bounds(key: str, value: Any) -> None:
    assert getattr(AgentConfig(**MODEL, **{key: value}), key) == value


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("model", "", "non-empty string"),
        ("model", "   ", "non-empty string"),
        ("model", 3, "non-empty string"),
        ("provider", "", "non-empty string"),
        ("temperature", -0.01, "between 0 and 2"),
        ("temperature", 2.01, "between 0 and 2"),
        ("temperature", "0.5", "must be a number"),
        ("temperature", True, "must be a number"),
        ("temperature", math.nan, "finite"),
        ("max_tokens", 0, "> 0"),
        ("max_tokens", -1, "> 0"),
        ("max_tokens", 10.0, "integer"),
        ("max_tokens", True, "integer"),
        ("timeout", 0, "> 0"),
        ("timeout", -1.5, "> 0"),
        ("timeout", math.inf, "finite"),
        ("timeout", False, "number"),
        ("max_retries", -1, ">= 0"),
        ("max_retries", 1.5, "integer"),
        ("seed", 1.0, "integer"),
        ("seed", True, "integer"),
        ("seed", "7", "integer"),
        ("base_url", "127.0.0.1:11435", "http:// or https://"),
        ("base_url", "", "non-empty string"),
        ("system_prompt", 5, "string"),
    ],
)
def test_agent_config_rejects_with_key_named(key: str, value: Any, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        AgentConfig(**{**MODEL, key: value})
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")
    assert fragment in str(info.value)


def test_agent_config_is_frozen() -> None:
    cfg = AgentConfig(model="m")
    with pytest.raises(AttributeError):
        cfg.temperature = 1.0  # type: ignore[misc]


def test_unknown_agent_key_named_with_suggestion() -> None:
    with pytest.raises(ConfigurationError) as info:
        AgentConfig.from_mapping({"model": "m", "temprature": 0.5})
    assert info.value.key == "temprature"
    assert "did you mean 'temperature'?" in str(info.value)
    assert "known keys: model, provider" in str(info.value)


def test_unknown_key_without_close_match_lists_known_keys() -> None:
    with pytest.raises(ConfigurationError) as info:
        AgentConfig.from_mapping({"model": "m", "zzz": 1})
    assert "did you mean" not in str(info.value) and "known keys:" in str(info.value)


def test_from_mapping_rejects_non_mapping() -> None:
    with pytest.raises(ConfigurationError, match="expected a mapping or AgentConfig, got list"):
        AgentConfig.from_mapping([("model", "m")])  # type: ignore[arg-type]


def test_from_mapping_missing_required_model_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        AgentConfig.from_mapping({"temperature": 0.1})
    assert info.value.key == "model"


def test_with_changes_validates_and_copies() -> None:
    cfg = AgentConfig(model="m")
    hotter = cfg.with_changes(temperature=1.5)
    assert hotter.temperature == 1.5 and cfg.temperature == 0.0
    with pytest.raises(ConfigurationError) as info:
        cfg.with_changes(temperature=9)
    assert info.value.key == "temperature"
    with pytest.raises(ConfigurationError, match="did you mean 'seed'"):
        cfg.with_changes(sed=1)


# --- KaizenConfig --------------------------------------------------------------------------


def test_kaizen_config_defaults_and_keys() -> None:
    cfg = KaizenConfig()
    assert cfg.default_provider == "ollama" and cfg.default_model is None
    assert KaizenConfig.keys() == (
        "default_provider",
        "default_model",
        "default_timeout",
        "max_agents",
        "audit_enabled",
        "audit_retention_days",
        "memory_enabled",
        "memory_max_turns",
        "log_level",
    )


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("default_provider", "", "non-empty string"),
        ("default_model", "", "non-empty string"),
        ("default_model", 1, "non-empty string"),
        ("default_timeout", 0, "> 0"),
        ("default_timeout", "5", "number"),
        ("max_agents", 0, "> 0"),
        ("max_agents", 2.0, "integer"),
        ("max_agents", True, "integer"),
        ("audit_enabled", 1, "true or false"),
        ("audit_enabled", "yes", "true or false"),
        ("audit_retention_days", 0, "> 0"),
        ("memory_enabled", None, "true or false"),
        ("memory_max_turns", -3, "> 0"),
        ("log_level", "verbose", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("log_level", "VERBOSE", "must be one of"),
    ],
)
def test_kaizen_config_rejects_with_key_named(key: str, value: Any, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        KaizenConfig(**{key: value})
    assert info.value.key == key and fragment in str(info.value)


def test_kaizen_config_unknown_key_suggests() -> None:
    with pytest.raises(ConfigurationError) as info:
        KaizenConfig.coerce({"max_agent": 5})
    assert info.value.key == "max_agent" and "did you mean 'max_agents'?" in str(info.value)


def test_coerce_accepts_none_instance_and_mapping() -> None:
    cfg = KaizenConfig(max_agents=3)
    assert KaizenConfig.coerce(cfg) is cfg
    assert KaizenConfig.coerce(None) == KaizenConfig()
    assert KaizenConfig.coerce({"log_level": "DEBUG"}).log_level == "DEBUG"
    assert KaizenConfig.coerce({"log_level": "info"}).log_level == "INFO"


def test_from_env_parses_every_key() -> None:
    env = {
        "KAIZEN_DEFAULT_PROVIDER": "custom",
        "KAIZEN_DEFAULT_MODEL": "gemma3:270m",
        "KAIZEN_DEFAULT_TIMEOUT": "12.5",
        "KAIZEN_MAX_AGENTS": "7",
        "KAIZEN_AUDIT_ENABLED": "yes",
        "KAIZEN_AUDIT_RETENTION_DAYS": "30",
        "KAIZEN_MEMORY_ENABLED": "off",
        "KAIZEN_MEMORY_MAX_TURNS": "4",
        "KAIZEN_LOG_LEVEL": "ERROR",
        "KAIZEN_OLLAMA_URL": "http://ignored:1",
        "UNRELATED": "x",
    }
    assert KaizenConfig.from_env(env) == KaizenConfig(
        default_provider="custom",
        default_model="gemma3:270m",
        default_timeout=12.5,
        max_agents=7,
        audit_enabled=True,
        audit_retention_days=30,
        memory_enabled=False,
        memory_max_turns=4,
        log_level="ERROR",
    )


def test_from_env_empty_gives_defaults() -> None:
    assert KaizenConfig.from_env({}) == KaizenConfig()


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_MAX_AGENTS", "9")
    assert KaizenConfig.from_env().max_agents == 9


@pytest.mark.parametrize("raw", ["1", "TRUE", " on ", "Yes"])
def test_from_env_true_spellings(raw: str) -> None:
    assert KaizenConfig.from_env({"KAIZEN_AUDIT_ENABLED": raw}).audit_enabled is True


@pytest.mark.parametrize(
    ("var", "raw", "key"),
    [
        ("KAIZEN_MAX_AGENTS", "1.5", "max_agents"),
        ("KAIZEN_MAX_AGENTS", "many", "max_agents"),
        ("KAIZEN_DEFAULT_TIMEOUT", "soon", "default_timeout"),
        ("KAIZEN_AUDIT_ENABLED", "maybe", "audit_enabled"),
        ("KAIZEN_MEMORY_MAX_TURNS", "0", "memory_max_turns"),
        ("KAIZEN_DEFAULT_TIMEOUT", "nan", "default_timeout"),
    ],
)
def test_from_env_bad_values_name_key(var: str, raw: str, key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        KaizenConfig.from_env({var: raw})
    assert info.value.key == key


def test_from_env_parse_error_names_variable() -> None:
    with pytest.raises(ConfigurationError, match="KAIZEN_AUDIT_ENABLED: not a boolean: 'maybe'"):
        KaizenConfig.from_env({"KAIZEN_AUDIT_ENABLED": "maybe"})


# --- resolve_agent_config ------------------------------------------------------------------


def test_resolve_copies_and_never_mutates() -> None:
    user = {"model": "m", "temperature": 0.3}
    snapshot = dict(user)
    cfg = resolve_agent_config(user, KaizenConfig(default_provider="p", default_timeout=5))
    assert user == snapshot
    assert (cfg.model, cfg.temperature, cfg.provider, cfg.timeout) == ("m", 0.3, "p", 5)


def test_resolve_user_values_beat_framework_defaults() -> None:
    cfg = resolve_agent_config(
        {"model": "m", "provider": "mine", "timeout": 2}, KaizenConfig(default_timeout=5)
    )
    assert (cfg.provider, cfg.timeout) == ("mine", 2)


def test_resolve_passes_agent_config_through() -> None:
    cfg = AgentConfig(model="m")
    assert resolve_agent_config(cfg, KaizenConfig()) is cfg


def test_resolve_model_from_framework_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_OLLAMA_MODEL", "from-env")
    cfg = resolve_agent_config({}, KaizenConfig(default_model="from-framework"))
    assert cfg.model == "from-framework"


@pytest.mark.parametrize("config", [None, {}, {"model": None}])
def test_resolve_model_from_env(monkeypatch: pytest.MonkeyPatch, config: Any) -> None:
    monkeypatch.setenv("KAIZEN_OLLAMA_MODEL", "gemma3:270m")
    assert resolve_agent_config(config, KaizenConfig()).model == "gemma3:270m"


def test_resolve_model_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIZEN_OLLAMA_MODEL", raising=False)
    with pytest.raises(ConfigurationError) as info:
        resolve_agent_config({"temperature": 0.1}, KaizenConfig())
    assert info.value.key == "model" and "KAIZEN_OLLAMA_MODEL" in str(info.value)


def test_resolve_unknown_key_named() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_agent_config({"model": "m", "max_token": 5}, KaizenConfig())
    assert info.value.key == "max_token" and "'max_tokens'" in str(info.value)


@pytest.mark.parametrize("bad", ["gemma3:270m", [("model", "m")], 42])
def test_resolve_rejects_non_mapping(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="expected a mapping"):
        resolve_agent_config(bad, KaizenConfig())


def test_default_ollama_url_is_a_stock_ollama_install() -> None:
    assert DEFAULT_OLLAMA_URL == "http://127.0.0.1:11434"
