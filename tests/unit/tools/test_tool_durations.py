"""Step durations are milliseconds of the step itself, read off the monotonic clock.

Why: callers profile a run from `result.steps` and the audit trail, so a tool step must
report the time its call took, a model step the time the model took, both in ms (the
audit entry rounded to the microsecond). A fake clock that only the tool (or only the
model) moves makes the expected value exact.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest

from kaizen.tools import tool
from kaizen.tools.loop import ModelStep, ToolStep
from tests.unit.tools._agents import ANSWER, fake_llm, tool_agent, tool_turn


class Clock:
    """A perf_counter that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now


def _install(monkeypatch: pytest.MonkeyPatch, module: str) -> Clock:
    clock = Clock()
    monkeypatch.setattr(f"{module}.time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    return clock


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_tool_step_lasts_as_long_as_the_tool_ran(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    clock = _install(monkeypatch, "kaizen.tools.loop")

    @tool
    def work(seconds: float) -> str:
        clock.now += seconds
        return "done"

    turn = tool_turn(("work", {"seconds": 0.25}), ("work", {"seconds": 0.5}))
    with fake_llm([turn, ANSWER]) as provider:
        agent = tool_agent(provider, [work])
        result = (
            agent.run(question="q") if mode == "sync" else asyncio.run(agent.arun(question="q"))
        )
    tool_steps = [s for s in result.steps if isinstance(s, ToolStep)]
    assert [s.duration_ms for s in tool_steps] == [250.0, 500.0]


def test_the_audit_entry_has_the_duration_in_ms_to_the_microsecond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kaizen import Kaizen
    from kaizen.audit import AuditTrail, InMemoryAuditStore

    clock = _install(monkeypatch, "kaizen.tools.loop")

    @tool
    def work() -> str:
        clock.now += 0.0123456
        return "done"

    with fake_llm([tool_turn(("work", {})), ANSWER]) as provider:
        k = Kaizen()
        agent = k.create_agent("timed", {"model": "m", "provider": provider.name}, tools=[work])
        trail = k.attach_audit(AuditTrail(InMemoryAuditStore()))
        agent.run(question="q")
    (entry,) = trail.entries("tool_call")
    assert entry.payload["duration_ms"] == 12.346


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_model_step_lasts_as_long_as_the_model_took(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    clock = _install(monkeypatch, "kaizen.agent")
    answers = iter([tool_turn(("noop", {})), ANSWER])

    def model(messages: list[dict[str, Any]], signature: Any) -> Any:
        clock.now += 0.5
        return next(answers)

    @tool
    def noop() -> str:
        return "ok"

    with fake_llm(fn=model) as provider:
        agent = tool_agent(provider, [noop])
        result = (
            agent.run(question="q") if mode == "sync" else asyncio.run(agent.arun(question="q"))
        )
    model_steps = [s for s in result.steps if isinstance(s, ModelStep)]
    assert [s.duration_ms for s in model_steps] == [500.0, 500.0]
    assert next(answers, None) is None, "both scripted turns were used"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_model_step_does_not_count_the_tools_it_asked_for(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The model takes 0.5 s a turn, the tool 0.25 s: model steps of 500 ms, not 750 ms."""
    agent_clock = _install(monkeypatch, "kaizen.agent")
    monkeypatch.setattr(
        "kaizen.tools.loop.time", types.SimpleNamespace(perf_counter=agent_clock.perf_counter)
    )
    answers = iter([tool_turn(("work", {})), ANSWER])

    def model(messages: list[dict[str, Any]], signature: Any) -> Any:
        agent_clock.now += 0.5
        return next(answers)

    @tool
    def work() -> str:
        agent_clock.now += 0.25
        return "done"

    with fake_llm(fn=model) as provider:
        agent = tool_agent(provider, [work])
        result = (
            agent.run(question="q") if mode == "sync" else asyncio.run(agent.arun(question="q"))
        )
    assert [(type(s).__name__, s.duration_ms) for s in result.steps] == [
        ("ModelStep", 500.0),
        ("ToolStep", 250.0),
        ("ModelStep", 500.0),
    ]
