"""LLM providers: a small protocol, a registry, and the Ollama provider (loaded lazily)."""

from kaizen.providers.base import Completion, CompletionRequest, Provider, ToolCall
from kaizen.providers.registry import (
    available_providers,
    get_provider,
    provider_factory,
    register_provider,
    unregister_provider,
)

__all__ = [
    "Completion",
    "CompletionRequest",
    "Provider",
    "ToolCall",
    "available_providers",
    "get_provider",
    "provider_factory",
    "register_provider",
    "unregister_provider",
]
