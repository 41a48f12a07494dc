"""The tool loop: the model asks for tools, they run, their results go back, until it answers.

Why it never crashes a run: a bad argument, an unknown tool, a tool that raises or hangs is
the model's problem to recover from, so each becomes a tool message the model reads (and a
recorded step). Only the loop's own bound (`max_steps`) ends a run early, with a typed
error that carries the whole transcript: never a silent truncation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kaizen.errors import AgentError
from kaizen.providers.base import Completion, ToolCall
from kaizen.tools.errors import ToolError, UnknownToolError
from kaizen.tools.tool import Tool, render_result


@dataclass(frozen=True, slots=True)
class ModelStep:
    """One model call of a run."""

    tool_calls: tuple[ToolCall, ...]
    text: str
    prompt_tokens: int
    completion_tokens: int
    duration_ms: float
    kind: str = "model"


@dataclass(frozen=True, slots=True)
class ToolStep:
    """One tool call of a run: its result, or the error the model was shown instead."""

    name: str
    arguments: Any
    call_id: str
    result: Any
    error: ToolError | None
    duration_ms: float
    kind: str = "tool"

    @property
    def ok(self) -> bool:
        return self.error is None


Step = ModelStep | ToolStep


class ToolLoopLimitError(AgentError):
    """The model was still asking for tools after `max_steps` calls."""

    def __init__(
        self,
        agent_id: str,
        max_steps: int,
        transcript: Sequence[Mapping[str, Any]],
        steps: Sequence[Step],
    ) -> None:
        super().__init__(
            f"agent {agent_id!r} made {max_steps} model calls without a final answer "
            f"(max_steps={max_steps}); raise max_steps in its config or give it fewer tools. "
            "The transcript is on .transcript, every step on .steps"
        )
        self.agent_id = agent_id
        self.max_steps = max_steps
        self.transcript = tuple(transcript)
        self.steps = tuple(steps)


class ToolBox:
    """An agent's tools by name, and the two ways to run a batch of calls."""

    __slots__ = ("schemas", "tools")

    def __init__(self, tools: Sequence[Tool]) -> None:
        by_name: dict[str, Tool] = {}
        for item in tools:
            if item.name in by_name:
                from kaizen.tools.errors import ToolDefinitionError

                raise ToolDefinitionError(
                    item.name, f"two tools are named {item.name!r}; pass @tool(name=...)"
                )
            by_name[item.name] = item
        self.tools = by_name
        self.schemas = tuple(t.schema() for t in by_name.values())

    def _find(self, call: ToolCall) -> Tool:
        found = self.tools.get(call.name)
        if found is None:
            raise UnknownToolError(call.name, list(self.tools))
        return found

    def run(self, calls: Sequence[ToolCall]) -> list[ToolStep]:
        return [self._one(call) for call in calls]

    async def arun(self, calls: Sequence[ToolCall]) -> list[ToolStep]:
        """The calls of one model turn run concurrently (each within its own timeout)."""
        return list(await asyncio.gather(*(self._aone(call) for call in calls)))

    def _one(self, call: ToolCall) -> ToolStep:
        started = time.perf_counter()
        try:
            result, error = self._find(call).call(call.arguments), None
        except ToolError as exc:
            result, error = None, exc
        return _step(call, result, error, started)

    async def _aone(self, call: ToolCall) -> ToolStep:
        started = time.perf_counter()
        try:
            result, error = await self._find(call).acall(call.arguments), None
        except ToolError as exc:
            result, error = None, exc
        return _step(call, result, error, started)


def _step(call: ToolCall, result: Any, error: ToolError | None, started: float) -> ToolStep:
    ms = (time.perf_counter() - started) * 1000
    return ToolStep(call.name, call.arguments, call.id, result, error, ms)


def model_step(completion: Completion, duration_ms: float) -> ModelStep:
    return ModelStep(
        completion.tool_calls,
        completion.text,
        completion.prompt_tokens,
        completion.completion_tokens,
        duration_ms,
    )


def assistant_message(completion: Completion) -> dict[str, Any]:
    """The model's tool-call turn, in Ollama's message shape (arguments as given)."""
    return {
        "role": "assistant",
        "content": completion.text,
        "tool_calls": [
            {"id": c.id, "function": {"name": c.name, "arguments": c.arguments}}
            for c in completion.tool_calls
        ],
    }


def tool_message(step: ToolStep) -> dict[str, Any]:
    """What the model reads back: the result, or `error: ...` it can act on."""
    content = render_result(step.result) if step.ok else f"error: {step.error}"
    message = {"role": "tool", "tool_name": step.name, "content": content}
    if step.call_id:
        message["tool_call_id"] = step.call_id
    return message
