"""The agent tool loop on the unit tier's one fake LLM: every failure goes back to the
model as a tool message and is recorded; only max_steps ends a run early."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator

import pytest

from kaizen import Kaizen
from kaizen.errors import OutputValidationError
from kaizen.providers import Completion, ToolCall
from kaizen.tools import ToolArgumentsError, ToolDefinitionError, ToolExecutionError, tool
from kaizen.tools.errors import ToolTimeoutError, UnknownToolError
from kaizen.tools.loop import ModelStep, ToolLoopLimitError, ToolStep
from tests.utils.mock_providers import MockLLMProvider

_names = itertools.count()
ANSWER = '{"answer": "42"}'


def lookup(key: str) -> dict:
    """Look a key up in the table.

    Args:
        key: The key to look up.
    """
    return {"key": key, "value": len(key)}


def _calls(*calls: tuple[str, object], text: str = "") -> Completion:
    tool_calls = tuple(ToolCall(name, args, f"call_{i}") for i, (name, args) in enumerate(calls))
    return Completion(text=text, model="mock-model", tool_calls=tool_calls)


@pytest.fixture
def script() -> Iterator[Callable[[list], MockLLMProvider]]:
    """Factory: the fake LLM, registered for the test, answering `answers` in order."""
    with contextlib.ExitStack() as stack:

        def make(answers: list) -> MockLLMProvider:
            provider = MockLLMProvider(name=f"mock-tools-{next(_names)}", script=answers)
            return stack.enter_context(provider.registered())

        yield make


def _agent(provider: MockLLMProvider, tools: list, **config: object):
    base = {"model": "mock-model", "provider": provider.name, "max_retries": 1, **config}
    return Kaizen().create_agent("worker", base, tools=tools)


def test_a_tool_call_runs_and_its_result_goes_back_to_the_model(script) -> None:
    provider = script([_calls(("lookup", {"key": "abc"})), ANSWER])
    result = _agent(provider, [lookup]).run(question="what is abc?")
    assert result.answer == "42"
    kinds = [s.kind for s in result.steps]
    assert kinds == ["model", "tool", "model"]
    step = result.steps[1]
    assert isinstance(step, ToolStep) and step.ok and step.result == {"key": "abc", "value": 3}
    first, second = (call.args[0] for call in provider.calls)
    assert [t["function"]["name"] for t in first.tools] == ["lookup"]
    assert first.messages[-1] == {"role": "user", "content": first.prompt}
    assert second.messages[-2]["tool_calls"][0]["function"] == {
        "name": "lookup",
        "arguments": {"key": "abc"},
    }
    assert second.messages[-1] == {
        "role": "tool",
        "tool_name": "lookup",
        "tool_call_id": "call_0",
        "content": '{"key": "abc", "value": 3}',
    }


@pytest.mark.parametrize(
    ("call", "error_type", "shown"),
    [
        (("lookup", {"key": 3}), ToolArgumentsError, "error: invalid arguments for tool"),
        (("lookup", "{not json"), ToolArgumentsError, "not valid JSON"),
        (("missing", {}), UnknownToolError, "unknown tool 'missing'; available tools: lookup"),
        (("boom", {"x": 1}), ToolExecutionError, "tool 'boom' raised RuntimeError: kaput"),
    ],
)
def test_a_failed_call_is_shown_to_the_model_and_recorded(script, call, error_type, shown) -> None:
    @tool
    def boom(x: int) -> int:
        raise RuntimeError("kaput")

    provider = script([_calls(call), ANSWER])
    result = _agent(provider, [lookup, boom]).run(question="q")
    assert result.answer == "42", "a failed tool call never crashes the run"
    step = result.steps[1]
    assert isinstance(step, ToolStep) and isinstance(step.error, error_type)
    shown_to_model = provider.calls[1].args[0].messages[-1]["content"]
    assert shown_to_model.startswith("error: ") and shown in shown_to_model


def test_a_hanging_tool_times_out_and_the_run_goes_on(script) -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def hang() -> str:
        release.wait(5)
        return "late"

    provider = script([_calls(("hang", {})), ANSWER])
    try:
        result = _agent(provider, [hang]).run(question="q")
    finally:
        release.set()
    assert isinstance(result.steps[1].error, ToolTimeoutError)


def test_max_steps_is_a_typed_error_carrying_the_transcript(script) -> None:
    provider = script([_calls(("lookup", {"key": str(i)})) for i in range(3)])
    with pytest.raises(ToolLoopLimitError, match="made 3 model calls without a final") as info:
        _agent(provider, [lookup], max_steps=3).run(question="q")
    error = info.value
    assert error.max_steps == 3 and len(error.steps) == 6
    assert [m["role"] for m in error.transcript] == ["user"] + ["assistant", "tool"] * 3


def test_an_answer_that_breaks_the_signature_is_corrected_then_fails_loud(script) -> None:
    provider = script(["not json", ANSWER])
    result = _agent(provider, [lookup]).run(question="q")
    assert result.answer == "42" and result.attempts == 2
    correction = provider.calls[1].args[0].messages[-1]
    assert (
        correction["role"] == "user" and "does not fit the required format" in correction["content"]
    )
    with pytest.raises(OutputValidationError):
        _agent(script(["bad", "worse"]), [lookup]).run(question="q")


def test_async_runs_the_calls_of_one_turn_concurrently(script) -> None:
    """Each tool waits for the other to start: run one after the other, both time out."""
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    @tool(timeout=5)
    async def first(tag: str) -> str:
        started["a"].set()
        await started["b"].wait()
        return tag

    @tool(timeout=5)
    async def second(tag: str) -> str:
        started["b"].set()
        await started["a"].wait()
        return tag

    provider = script([_calls(("first", {"tag": "x"}), ("second", {"tag": "y"})), ANSWER])
    result = asyncio.run(_agent(provider, [first, second]).arun(question="q"))
    tool_steps = [s for s in result.steps if isinstance(s, ToolStep)]
    assert [(s.name, s.result) for s in tool_steps] == [("first", "x"), ("second", "y")]
    assert all(isinstance(s, ModelStep) for s in (result.steps[0], result.steps[-1]))


def test_usage_sums_every_model_call(script) -> None:
    provider = script(
        [
            Completion("", "mock-model", 10, 2, tool_calls=(ToolCall("lookup", {"key": "k"}),)),
            Completion(ANSWER, "mock-model", 20, 5),
        ]
    )
    result = _agent(provider, [lookup]).run(question="q")
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (30, 7)


def test_bad_tool_sets_fail_at_create_agent(script) -> None:
    provider = script([])
    with pytest.raises(ToolDefinitionError, match="two tools are named 'lookup'"):
        _agent(provider, [lookup, lookup])
    with pytest.raises(ToolDefinitionError, match="has no type hint"):
        _agent(provider, [lambda_free])
    agent = _agent(provider, [lookup])
    assert [t.name for t in agent.tools] == ["lookup"]


def lambda_free(x):  # type: ignore[no-untyped-def]
    return x


def test_agents_without_tools_keep_the_prompt_path(script) -> None:
    provider = script([ANSWER])
    base = {"model": "mock-model", "provider": provider.name}
    result = Kaizen().create_agent("plain", base).run(question="q")
    assert result.answer == "42" and result.steps == ()
    request = provider.calls[0].args[0]
    assert request.messages == () and request.tools == ()


def test_a_provider_without_tool_support_is_refused_not_ignored(script, monkeypatch) -> None:
    from kaizen.errors import ConfigurationError

    provider = script([ANSWER])
    monkeypatch.setattr(provider, "supports_tools", False)
    with pytest.raises(ConfigurationError, match="does not support tool calls"):
        _agent(provider, [lookup]).run(question="q")
    assert provider.calls == [], "no call was made with the tools silently dropped"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_each_tool_call_is_an_audit_entry(script, mode: str) -> None:
    from kaizen.audit import AuditTrail, InMemoryAuditStore

    @tool
    def boom(x: int) -> int:
        raise RuntimeError("kaput")

    provider = script([_calls(("lookup", {"key": "abc"}), ("boom", {"x": 1})), ANSWER])
    k = Kaizen()
    base = {"model": "mock-model", "provider": provider.name}
    agent = k.create_agent("audited", base, tools=[lookup, boom])
    trail = k.attach_audit(AuditTrail(InMemoryAuditStore()))  # attached after creation
    if mode == "sync":
        agent.run(question="q")
    else:
        asyncio.run(agent.arun(question="q"))
    entries = trail.entries("tool_call")
    assert [(e.actor, e.action, e.outcome) for e in entries] == [
        ("audited", "lookup", "ok"),
        ("audited", "boom", "error"),
    ]
    assert entries[0].payload["arguments"] == {"key": "abc"}
    assert entries[0].payload["result"] == '{"key": "abc", "value": 3}'
    assert "kaput" in entries[1].payload["error"]
    assert trail.verify().ok


def test_coordination_patterns_take_tool_agents_unchanged(script) -> None:
    """A pipeline whose first stage looks something up with a tool."""
    researcher = script([_calls(("lookup", {"key": "abc"})), '{"draft": "abc has 3"}'])
    writer = script(['{"final": "Three."}'])
    k = Kaizen()
    first = k.create_agent(
        "researcher",
        {"model": "m", "provider": researcher.name},
        signature="topic -> draft",
        tools=[lookup],
    )
    second = k.create_agent(
        "writer", {"model": "m", "provider": writer.name}, signature="draft -> final"
    )
    result = k.sequential([first, second]).run(topic="abc")
    assert result.outputs == {"final": "Three."}
    assert [s.agent_id for s in result.steps] == ["researcher", "writer"]
    assert "abc has 3" in writer.calls[0].args[0].prompt
    tool_turn = researcher.calls[1].args[0].messages[-1]
    assert tool_turn["role"] == "tool" and tool_turn["content"] == '{"key": "abc", "value": 3}'


def test_stream_of_a_tool_agent_reports_tool_events_then_the_answer(script) -> None:
    provider = script([_calls(("lookup", {"key": "abc"})), ANSWER])
    events = list(_agent(provider, [lookup]).stream(question="q"))
    assert [type(e).__name__ for e in events] == ["ToolStep", "str"]
    assert events[0].name == "lookup" and events[0].ok and events[1] == ANSWER
    assert provider.calls[0].args[0].tools, "the tools were sent, not dropped"
