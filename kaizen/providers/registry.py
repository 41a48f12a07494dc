"""Name -> provider factory. Kaizen ships only real providers; tests register their own."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kaizen.errors import ProviderNotAllowedError, ProviderNotFoundError

if TYPE_CHECKING:
    from kaizen.config import AgentConfig
    from kaizen.providers.base import Provider

ProviderFactory = Callable[["AgentConfig"], "Provider"]


def _ollama_factory(config: AgentConfig) -> Provider:
    from kaizen.providers.ollama import OllamaProvider  # lazy: pulls in httpx and pydantic

    return OllamaProvider.for_config(config)


def _openai_factory(config: AgentConfig) -> Provider:
    """Lazy: the optional `openai` client loads only for agents that use it."""
    try:
        from kaizen.providers.openai import OpenAIProvider
    except ModuleNotFoundError as exc:
        if exc.name != "openai":
            raise
        from kaizen.errors import ConfigurationError

        raise ConfigurationError(
            "provider",
            "'openai' needs the openai client, which is not installed; "
            "pip install 'kaizen[openai]'",
        ) from exc
    return OpenAIProvider.for_config(config)


_FACTORIES: dict[str, ProviderFactory] = {"ollama": _ollama_factory, "openai": _openai_factory}
_BUILTIN = frozenset(_FACTORIES)


#: Attribute `real_provider` sets on a factory.
REAL_PROVIDER_ATTR = "__kaizen_real_provider__"

#: Audit event (`sys.audit`) raised when a fake provider is refused, so a test harness sees
#: the refusal even when the code under test swallows the error.
REFUSED_AUDIT_EVENT = "kaizen.providers.refused"

F = TypeVar("F", bound=Callable[..., Any])


def real_provider(factory: F) -> F:
    """Mark `factory` as talking to a real model server over a real connection, so
    `register_provider` accepts it while `ALLOW_FAKE_PROVIDERS` is False. Marking a fake
    as real defeats the switch."""
    setattr(factory, REAL_PROVIDER_ATTR, True)
    return factory


def is_real_provider(factory: object) -> bool:
    return getattr(factory, REAL_PROVIDER_ATTR, False) is True


def _check_allowed(name: str, factory: ProviderFactory) -> None:
    import kaizen.providers as providers  # the switch lives on the package

    if providers.ALLOW_FAKE_PROVIDERS or is_real_provider(factory):
        return
    sys.audit(REFUSED_AUDIT_EVENT, name, factory)
    raise ProviderNotAllowedError(
        f"register_provider({name!r}, {factory!r}) refused: kaizen.providers."
        "ALLOW_FAKE_PROVIDERS is False, so only factories marked with "
        "kaizen.providers.real_provider (talking to a real server) may be registered; "
        "register fakes where fakes are allowed (unit tests)"
    )


def register_provider(name: str, factory: ProviderFactory, *, replace: bool = False) -> None:
    """Make `factory(agent_config) -> Provider` available as `provider: name`.

    While `kaizen.providers.ALLOW_FAKE_PROVIDERS` is False only factories marked with
    `real_provider` are accepted (`ProviderNotAllowedError` otherwise)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"provider name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"provider factory for {name!r} must be callable")
    _check_allowed(name, factory)
    if name in _FACTORIES and not replace:
        raise ValueError(f"provider {name!r} is already registered; pass replace=True to override")
    if name in _BUILTIN and replace:
        raise ValueError(f"provider {name!r} is built in and cannot be replaced")
    _FACTORIES[name] = factory


def unregister_provider(name: str) -> None:
    if name in _BUILTIN:
        raise ValueError(f"provider {name!r} is built in and cannot be unregistered")
    _FACTORIES.pop(name, None)


def available_providers() -> tuple[str, ...]:
    return tuple(sorted(_FACTORIES))


def provider_factory(name: str) -> ProviderFactory:
    """The factory for `name`; an unknown name fails with the registered ones."""
    try:
        return _FACTORIES[name]
    except KeyError:
        close = difflib.get_close_matches(name, _FACTORIES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ProviderNotFoundError(
            f"no provider named {name!r}; {hint}registered: {', '.join(available_providers())}"
            " (register one with kaizen.providers.register_provider)"
        ) from None


def get_provider(config: AgentConfig) -> Provider:
    return provider_factory(config.provider)(config)
