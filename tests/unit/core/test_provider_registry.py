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

NAME = "test-registry-provider"


class Echo:
    name = NAME

    def __init__(self, config: AgentConfig) -> None:
        self.config = config

    def complete(self, request: CompletionRequest) -> Completion:
        return Completion(request.prompt, request.model)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        return self.complete(request)

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        yield request.prompt

    async def astream(self, request: CompletionRequest) -> Any:
        yield request.prompt


@pytest.fixture
def registered() -> Iterator[str]:
    register_provider(NAME, Echo)
    yield NAME
    unregister_provider(NAME)


def test_register_and_get(registered: str) -> None:
    assert registered in available_providers() and "ollama" in available_providers()
    assert available_providers() == tuple(sorted(available_providers()))
    config = AgentConfig(model="m", provider=registered)
    provider = get_provider(config)
    assert isinstance(provider, Echo) and provider.config is config
    assert isinstance(provider, Provider)  # satisfies the runtime-checkable protocol
    assert provider_factory(registered) is Echo


def test_duplicate_needs_replace(registered: str) -> None:
    with pytest.raises(ValueError, match="already registered; pass replace=True"):
        register_provider(registered, Echo)

    def other(config: AgentConfig) -> Echo:
        return Echo(config)

    register_provider(registered, other, replace=True)
    assert provider_factory(registered) is other


def test_builtin_is_protected() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_provider("ollama", Echo)
    with pytest.raises(ValueError, match="built in and cannot be replaced"):
        register_provider("ollama", Echo, replace=True)
    with pytest.raises(ValueError, match="built in and cannot be unregistered"):
        unregister_provider("ollama")
    assert "ollama" in available_providers()


def test_unregister_removes_and_is_idempotent() -> None:
    register_provider(NAME, Echo)
    unregister_provider(NAME)
    unregister_provider(NAME)
    assert NAME not in available_providers()


@pytest.mark.parametrize(
    ("name", "factory", "exc"),
    [("", Echo, ValueError), (None, Echo, ValueError), (NAME, "Echo", TypeError)],
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
