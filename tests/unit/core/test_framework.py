"""Kaizen: framework config, and create/get/list/remove of agents with validated copies."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen.agent import Agent
from kaizen.config import AgentConfig, KaizenConfig
from kaizen.errors import AgentError, ConfigurationError, DuplicateAgentError, ProviderNotFoundError
from kaizen.framework import Kaizen
from tests.utils.mock_providers import MockLLMProvider


@pytest.mark.parametrize(
    "config",
    [None, {}, {"max_agents": 5}, KaizenConfig(max_agents=5)],
    ids=["none", "empty", "dict", "obj"],
)
def test_framework_config_forms(config: Any) -> None:
    k = Kaizen(config)
    assert isinstance(k.config, KaizenConfig)
    assert k.config.max_agents == (100_000 if not config else 5)


def test_framework_config_validated() -> None:
    with pytest.raises(ConfigurationError) as info:
        Kaizen({"default_timout": 3})
    assert info.value.key == "default_timout" and "'default_timeout'" in str(info.value)


def test_create_agent_copies_and_validates(scripted: MockLLMProvider) -> None:
    user = {"model": "m", "provider": scripted.name, "temperature": 0.5}
    snapshot = dict(user)
    agent = Kaizen().create_agent("a", user)
    assert user == snapshot  # never mutated (no defaults written back)
    assert isinstance(agent, Agent) and isinstance(agent.config, AgentConfig)
    assert agent.config.temperature == 0.5 and agent.config.max_tokens == 256
    user["temperature"] = 1.9
    assert agent.config.temperature == 0.5  # a copy, not a view


def test_create_agent_accepts_agent_config(scripted: MockLLMProvider) -> None:
    config = AgentConfig(model="m", provider=scripted.name)
    assert Kaizen().create_agent("a", config).config is config


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"seed": "x"}, "seed"),
        ({"base_url": "localhost:1"}, "base_url"),
        ({"temprature": 0.1}, "temprature"),
    ],
)
def test_create_agent_rejects_bad_config(config: dict[str, Any], key: str) -> None:
    k = Kaizen()
    with pytest.raises(ConfigurationError) as info:
        k.create_agent("a", {"model": "m", **config})
    assert info.value.key == key
    assert k.list_agents() == []


def test_model_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIZEN_OLLAMA_MODEL", raising=False)
    with pytest.raises(ConfigurationError) as info:
        Kaizen().create_agent("a", {"temperature": 0.1})
    assert info.value.key == "model"


def test_model_from_env_then_framework_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_OLLAMA_MODEL", "gemma3:270m")
    assert Kaizen().create_agent("a").config.model == "gemma3:270m"
    framework = Kaizen({"default_model": "other", "default_timeout": 9})
    config = framework.create_agent("a").config
    assert (config.model, config.timeout, config.provider) == ("other", 9, "ollama")


def test_default_provider_from_framework(scripted: MockLLMProvider) -> None:
    agent = Kaizen({"default_provider": scripted.name}).create_agent("a", {"model": "m"})
    assert agent.config.provider == scripted.name


def test_unknown_provider_fails_at_create() -> None:
    k = Kaizen()
    with pytest.raises(ProviderNotFoundError, match="no provider named 'nope'"):
        k.create_agent("a", {"model": "m", "provider": "nope"})
    assert "a" not in k


def test_ollama_agent_creation_needs_no_server() -> None:
    agent = Kaizen().create_agent("a", {"model": "m"})
    assert agent.config.provider == "ollama" and agent._provider is None


@pytest.mark.parametrize("agent_id", ["", "   ", None, 7])
def test_agent_id_must_be_a_string(agent_id: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        Kaizen().create_agent(agent_id, {"model": "m"})
    assert info.value.key == "agent_id"


def test_duplicate_agent_ids_refused(scripted: MockLLMProvider) -> None:
    k = Kaizen()
    first = k.create_agent("a", {"model": "m", "provider": scripted.name})
    with pytest.raises(DuplicateAgentError, match="'a' already exists"):
        k.create_agent("a", {"model": "other", "provider": scripted.name})
    assert k.get_agent("a") is first and len(k) == 1


def test_get_list_remove(scripted: MockLLMProvider) -> None:
    k = Kaizen()
    cfg = {"model": "m", "provider": scripted.name}
    agents = [k.create_agent(name, cfg) for name in ("writer", "reviewer", "editor")]
    assert k.list_agents() == ["writer", "reviewer", "editor"]
    assert k.get_agent("reviewer") is agents[1] and "editor" in k and len(k) == 3
    k.remove_agent("reviewer")
    assert k.list_agents() == ["writer", "editor"] and "reviewer" not in k
    k.create_agent("reviewer", cfg)  # the id is free again
    assert len(k) == 3
    listed = k.list_agents()
    listed.clear()
    assert len(k) == 3  # list_agents returns a copy


def test_unknown_agent_suggests(scripted: MockLLMProvider) -> None:
    k = Kaizen()
    k.create_agent("writer", {"model": "m", "provider": scripted.name})
    with pytest.raises(AgentError, match="no agent named 'writr'; did you mean 'writer'"):
        k.get_agent("writr")
    with pytest.raises(AgentError, match="no agent named 'ghost'"):
        k.remove_agent("ghost")
    assert k.list_agents() == ["writer"]


def test_max_agents_limit(scripted: MockLLMProvider) -> None:
    k = Kaizen({"max_agents": 2})
    cfg = {"model": "m", "provider": scripted.name}
    k.create_agent("a", cfg)
    k.create_agent("b", cfg)
    with pytest.raises(ConfigurationError) as info:
        k.create_agent("c", cfg)
    assert info.value.key == "max_agents" and len(k) == 2


def test_agents_are_namespaced_per_framework(scripted: MockLLMProvider) -> None:
    cfg = {"model": "m", "provider": scripted.name}
    one, two = Kaizen(), Kaizen()
    one.create_agent("a", cfg)
    two.create_agent("a", cfg)
    assert one.get_agent("a") is not two.get_agent("a")


def test_repr() -> None:
    assert repr(Kaizen()) == "Kaizen(agents=0, provider='ollama')"
