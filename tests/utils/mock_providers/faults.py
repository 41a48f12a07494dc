"""Faults the mock LLM produces instead of a normal answer: scripted, or injected with
`MockLLMProvider.inject()`."""

from __future__ import annotations

from dataclasses import dataclass

from kaizen.errors import ProviderResponseError
from tests.utils.errors import ToolkitError


class MockRateLimitError(ToolkitError, ProviderResponseError):
    """HTTP 429 from the mock, with the `retry_after` seconds a server would send."""

    def __init__(self, message: str, *, provider: str, url: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message, provider=provider, url=url, status=429)


@dataclass(frozen=True, slots=True)
class Fault:
    """Base of the faults a mock LLM can produce instead of a normal answer."""


@dataclass(frozen=True, slots=True)
class TimeoutFault(Fault):
    """Raise `ProviderTimeoutError` at once, as the real provider does after its timeout."""


@dataclass(frozen=True, slots=True)
class RateLimitFault(Fault):
    """Raise `MockRateLimitError` (status 429) carrying `retry_after` seconds."""

    retry_after: float = 1.0


@dataclass(frozen=True, slots=True)
class MalformedJSONFault(Fault):
    """Answer with text that is not valid JSON (default: the real answer cut in half)."""

    text: str | None = None


@dataclass(frozen=True, slots=True)
class TruncatedStreamFault(Fault):
    """Stream `keep` of the chunks, then raise `ProviderConnectionError` (lost connection).
    On a non-streaming call it answers with the truncated text instead."""

    keep: float = 0.5


@dataclass
class Scheduled:
    """An injected fault: applies to `remaining` calls (None: all) after `after_calls`."""

    fault: Fault
    remaining: int | None
    after_calls: int
