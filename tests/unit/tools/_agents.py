"""Builders shared by the tool tests: the fake LLM registered for a block, an agent on it.

Everything here is a function: the tests call them inside the test body, so every object
under test is built after the code under test is loaded (never at import time).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from kaizen import Kaizen
from kaizen.agent import Agent
from kaizen.providers import Completion, ToolCall
from tests.utils.mock_providers import MockLLMProvider

ANSWER = '{"answer": "42"}'
_names = itertools.count()


@contextlib.contextmanager
def fake_llm(
    script: Sequence[Any] | None = None, *, fn: Callable[..., Any] | None = None
) -> Iterator[MockLLMProvider]:
    """The fake LLM (scripted or function mode), registered under a fresh name."""
    provider = MockLLMProvider(name=f"mock-tool-run-{next(_names)}", script=script, fn=fn)
    with provider.registered():
        yield provider


def tool_turn(
    *calls: tuple[str, Any], text: str = "", tokens: tuple[int, int] = (0, 0)
) -> Completion:
    """A model turn asking for `calls` (ids call_0, call_1, ...)."""
    tool_calls = tuple(ToolCall(name, args, f"call_{i}") for i, (name, args) in enumerate(calls))
    return Completion(text, "mock-model", tokens[0], tokens[1], tool_calls=tool_calls)


def tool_agent(provider: MockLLMProvider, tools: Sequence[Any], **config: Any) -> Agent:
    """Agent "worker" on `provider` with `tools` (one retry unless `config` says otherwise)."""
    base = {"model": "mock-model", "provider": provider.name, "max_retries": 1, **config}
    return Kaizen().create_agent("worker", base, tools=list(tools))
