"""Provider registry: register/replace rules, the built-in is protected, unknown names fail
listing what is registered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kaizen.config import AgentConfig
from kaizen.errors import ProviderNotFoundError
from kaizen.providers import (
    Completion,
    CompletionRequest,
    Provider,
    available_providers,
    get_provider,
    provider_factory,
    register_provider,
    unregister_provider,
)
from tests.utils.mock_providers import MockLLMProvider

NAME = "test-registry-provider"


def echo(config: AgentConfig) -> MockLLMProvider:
    """A factory the registry calls once per agent config: the unit tier's fake LLM,
    echoing the prompt and naming the configured model."""
    return MockLLMProvider(
        name=NAME, fn=lambda messages, signature: messages[-1]["content"], model=config.model
    )


@pytest.fixture
def registered() -> Iterator[str]:
    register_provider(NAME, echo)
    yield NAME
    unregister_provider(NAME)


def test_register_and_get(registered: str) -> None:
    assert registered in available_providers() and "ollama" in available_providers()
    assert available_providers() == tuple(sorted(available_providers()))
    config = AgentConfig(model="m", provider=registered)
    provider = get_provider(config)
    assert isinstance(provider, MockLLMProvider) and provider.model == "m"
    assert isinstance(provider, Provider)  # satisfies the runtime-checkable protocol
    assert provider.complete(CompletionRequest(model="m", prompt="hi")).text == "hi"
    assert get_provider(config) is not provider  # one per call: the factory builds it
    assert provider_factory(registered) is echo


def test_duplicate_needs_replace(registered: str) -> None:
    with pytest.raises(ValueError, match="already registered; pass replace=True"):
        register_provider(registered, echo)

    def other(config: AgentConfig) -> MockLLMProvider:
        return echo(config)

    register_provider(registered, other, replace=True)
    assert provider_factory(registered) is other


def test_builtin_is_protected() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_provider("ollama", echo)
    with pytest.raises(ValueError, match="built in and cannot be replaced"):
        register_provider("ollama", echo, replace=True)
    with pytest.raises(ValueError, match="built in and cannot be unregistered"):
        unregister_provider("ollama")
    assert "ollama" in available_providers()


def test_unregister_removes_and_is_idempotent() -> None:
    register_provider(NAME, echo)
    unregister_provider(NAME)
    unregister_provider(NAME)
    assert NAME not in available_providers()


@pytest.mark.parametrize(
    ("name", "factory", "exc"),
    [("", echo, ValueError), (None, echo, ValueError), (NAME, "echo", TypeError)],
)
def test_register_validates_arguments(name: Any, factory: Any, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        register_provider(name, factory)
    assert NAME not in available_providers()


def test_unknown_name_lists_registered(registered: str) -> None:
    with pytest.raises(ProviderNotFoundError) as info:
        provider_factory("olama")
    message = str(info.value)
    assert "no provider named 'olama'; did you mean 'ollama'?" in message
    assert f"registered: {', '.join(available_providers())}" in message
    assert "register_provider" in message
    assert isinstance(info.value, LookupError)


def test_unknown_name_without_close_match() -> None:
    with pytest.raises(ProviderNotFoundError) as info:
        get_provider(AgentConfig(model="m", provider="zzzzzz"))
    assert "did you mean" not in str(info.value) and "registered: " in str(info.value)


def test_builtin_factory_builds_ollama_from_config() -> None:
    provider = get_provider(AgentConfig(model="m", base_url="http://127.0.0.1:1/", timeout=3))
    assert provider.name == "ollama"
    assert (provider.base_url, provider.timeout) == ("http://127.0.0.1:1", 3.0)  # type: ignore[attr-defined]


def test_request_and_completion_defaults() -> None:
    request = CompletionRequest(model="m", prompt="p")
    assert (request.system, request.format, request.stop, request.timeout) == (None, None, (), None)
    completion = Completion(text="t", model="m")
    assert (completion.prompt_tokens, completion.completion_tokens) == (0, 0)
    assert completion.done_reason == "stop"
