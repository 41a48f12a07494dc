"""The provider protocol: what an agent needs from an LLM backend, and nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asks to run a tool. `arguments` is as the provider gave it: an object
    (Ollama) or a JSON string (the OpenAI wire format); the tool validates either."""

    name: str
    arguments: Any = None
    id: str = ""


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """One completion call. `format` is a JSON Schema (or "json") the output must follow.

    With `messages` the call is a chat (the tool loop's transcript, Ollama/OpenAI message
    shapes) and `prompt` is only the first user turn; `tools` are function-tool schemas.
    """

    model: str
    prompt: str
    system: str | None = None
    format: Mapping[str, Any] | str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    timeout: float | None = None
    messages: tuple[Mapping[str, Any], ...] = ()
    tools: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    """The provider's answer, with the usage the server reported."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    done_reason: str = "stop"
    duration_ms: float = 0.0
    tool_calls: tuple[ToolCall, ...] = ()


@runtime_checkable
class Provider(Protocol):
    """Sync and async completion, plus streaming of text chunks."""

    name: str

    def complete(self, request: CompletionRequest) -> Completion: ...

    async def acomplete(self, request: CompletionRequest) -> Completion: ...

    def stream(self, request: CompletionRequest) -> Iterator[str]: ...

    def astream(self, request: CompletionRequest) -> AsyncIterator[str]: ...
