"""The provider protocol: what an agent needs from an LLM backend, and nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """One completion call. `format` is a JSON Schema (or "json") the output must follow."""

    model: str
    prompt: str
    system: str | None = None
    format: Mapping[str, Any] | str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """The provider's answer, with the usage the server reported."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    done_reason: str = "stop"
    duration_ms: float = 0.0


@runtime_checkable
class Provider(Protocol):
    """Sync and async completion, plus streaming of text chunks."""

    name: str

    def complete(self, request: CompletionRequest) -> Completion: ...

    async def acomplete(self, request: CompletionRequest) -> Completion: ...

    def stream(self, request: CompletionRequest) -> Iterator[str]: ...

    def astream(self, request: CompletionRequest) -> AsyncIterator[str]: ...
