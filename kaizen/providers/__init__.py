"""LLM providers: a small protocol, a registry, and the Ollama provider (loaded lazily)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kaizen.providers.base import Completion, CompletionRequest, Provider, ToolCall
from kaizen.providers.registry import (
    available_providers,
    get_provider,
    is_real_provider,
    provider_factory,
    real_provider,
    register_provider,
    unregister_provider,
)

#: When False, `register_provider` refuses every factory not marked with `real_provider`
#: (`ProviderNotAllowedError`), so a test suite whose tier must run against real model
#: servers cannot slip a fake in. True by default; set it (or use
#: `override_allow_fake_providers`) in test tiers, never needed in production code.
ALLOW_FAKE_PROVIDERS = True


@contextmanager
def override_allow_fake_providers(allow: bool) -> Iterator[None]:
    """Set `ALLOW_FAKE_PROVIDERS` for the block, then restore the value it had."""
    global ALLOW_FAKE_PROVIDERS
    if not isinstance(allow, bool):
        raise TypeError(f"allow must be a bool, got {type(allow).__name__}")
    previous = ALLOW_FAKE_PROVIDERS
    ALLOW_FAKE_PROVIDERS = allow
    try:
        yield
    finally:
        ALLOW_FAKE_PROVIDERS = previous


__all__ = [
    "ALLOW_FAKE_PROVIDERS",
    "Completion",
    "CompletionRequest",
    "Provider",
    "ToolCall",
    "available_providers",
    "get_provider",
    "is_real_provider",
    "override_allow_fake_providers",
    "provider_factory",
    "real_provider",
    "register_provider",
    "unregister_provider",
]
