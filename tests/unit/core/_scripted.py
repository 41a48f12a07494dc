"""A small in-test provider: answers from a script and records every request.

Test-local on purpose (issue 2): kaizen/ ships no fake provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from kaizen.providers import Completion, CompletionRequest


@dataclass
class ScriptedProvider:
    """Replies in order; an exception in the script is raised instead of answering."""

    name: str
    replies: list[str | BaseException] = field(default_factory=list)
    prompt_tokens: int = 3
    completion_tokens: int = 2
    requests: list[CompletionRequest] = field(default_factory=list)
    instances_made: int = 0  # how often the registered factory was called

    def _next(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError("ScriptedProvider: no reply left in the script")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return Completion(
            text=reply,
            model=f"{request.model}-served",
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
        )

    def complete(self, request: CompletionRequest) -> Completion:
        return self._next(request)

    async def acomplete(self, request: CompletionRequest) -> Completion:
        return self._next(request)

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        text = self._next(request).text
        yield from (text[i : i + 4] for i in range(0, len(text), 4))

    async def astream(self, request: CompletionRequest) -> AsyncIterator[str]:
        for chunk in self.stream(request):
            yield chunk
