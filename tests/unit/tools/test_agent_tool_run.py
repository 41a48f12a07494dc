"""A tool agent's run as the model and the caller see it: the transcript, steps, errors.

Why: the model recovers only from what the transcript shows it (its own tool-call turn
with ids, a rejected answer before the correction), the caller audits and debugs from the
steps and typed errors (each naming the agent), and a provider that cannot do tool calls
must be refused, never silently run without the tools.
"""

from __future__ import annotations

import asyncio

import pytest

from kaizen.agent import Agent, AgentResult
from kaizen.config import AgentConfig
from kaizen.errors import ConfigurationError, OutputValidationError
from kaizen.providers import ToolCall
from kaizen.tools import tool
from kaizen.tools.loop import ModelStep, ToolStep
from tests.unit.tools._agents import ANSWER, fake_llm, tool_agent, tool_turn
from tests.utils.mock_providers import MockLLMProvider


def test_the_model_reads_back_its_own_tool_call_turn_with_ids() -> None:
    @tool
    def lookup(key: str) -> int:
        return len(key)

    turn = tool_turn(("lookup", {"key": "abc"}), ("lookup", {"key": "de"}), text="checking")
    with fake_llm([turn, ANSWER]) as provider:
        tool_agent(provider, [lookup]).run(question="q")
    messages = provider.requests[1].messages
    assert messages[-3] == {
        "role": "assistant",
        "content": "checking",
        "tool_calls": [
            {"id": "call_0", "function": {"name": "lookup", "arguments": {"key": "abc"}}},
            {"id": "call_1", "function": {"name": "lookup", "arguments": {"key": "de"}}},
        ],
    }
    assert [(m["tool_call_id"], m["content"]) for m in messages[-2:]] == [
        ("call_0", "3"),
        ("call_1", "2"),
    ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_each_model_call_is_a_step_with_its_turn_and_tokens(mode: str) -> None:
    @tool
    def lookup(key: str) -> int:
        return len(key)

    turn = tool_turn(("lookup", {"key": "abc"}), text="checking", tokens=(10, 2))
    with fake_llm([turn, ANSWER]) as provider:
        agent = tool_agent(provider, [lookup])
        result = (
            agent.run(question="q") if mode == "sync" else asyncio.run(agent.arun(question="q"))
        )
    first, _, last = result.steps
    assert isinstance(first, ModelStep) and isinstance(last, ModelStep)
    assert first.tool_calls == (ToolCall("lookup", {"key": "abc"}, "call_0"),)
    assert (first.text, first.prompt_tokens, first.completion_tokens) == ("checking", 10, 2)
    assert last.tool_calls == () and last.text == ANSWER
    assert last.prompt_tokens == provider.calls[1].result.prompt_tokens
    assert last.completion_tokens == provider.calls[1].result.completion_tokens
    for step in (first, last):
        assert isinstance(step.duration_ms, float) and step.duration_ms >= 0


def test_a_rejected_answer_stays_in_the_transcript_before_the_correction() -> None:
    @tool
    def lookup(key: str) -> int:
        return len(key)

    with fake_llm(["not json", ANSWER]) as provider:
        result = tool_agent(provider, [lookup]).run(question="q")
    assert result.answer == "42"
    *_, rejected, correction = provider.requests[1].messages
    assert rejected == {"role": "assistant", "content": "not json"}
    assert correction["role"] == "user"
    assert correction["content"].startswith("That answer does not fit the required format (")


def test_a_tool_agent_out_of_retries_names_itself() -> None:
    @tool
    def lookup(key: str) -> int:
        return len(key)

    with fake_llm(["bad", "worse"]) as provider, pytest.raises(OutputValidationError) as info:
        tool_agent(provider, [lookup]).run(question="q")
    assert info.value.agent_id == "worker" and info.value.raw_output == "worse"
    assert str(info.value).startswith("agent 'worker': model output invalid after 2 attempt(s)")


def test_retries_of_a_tool_agent_move_the_seed_on() -> None:
    @tool
    def lookup(key: str) -> int:
        return len(key)

    with fake_llm(["not json", ANSWER]) as provider:
        tool_agent(provider, [lookup], seed=7).run(question="q")
    assert [r.seed for r in provider.requests] == [7, 8]


def test_a_plain_agent_streams_with_the_configured_seed() -> None:
    with fake_llm([ANSWER]) as provider:
        base = {"model": "mock-model", "provider": provider.name, "seed": 7}
        from kaizen import Kaizen

        chunks = list(Kaizen().create_agent("plain", base).stream(question="q"))
    assert "".join(chunks) == ANSWER
    (request,) = provider.requests
    assert request.seed == 7 and request.tools == ()


def test_an_agent_made_without_an_audit_trail_runs_its_tools() -> None:
    @tool
    def lookup(key: str) -> int:
        return len(key)

    with fake_llm([tool_turn(("lookup", {"key": "abc"})), ANSWER]) as provider:
        agent = Agent(
            "direct", AgentConfig(model="mock-model", provider=provider.name), None, [lookup]
        )
        result = agent.run(question="q")
    assert result.answer == "42"
    assert [s.result for s in result.steps if isinstance(s, ToolStep)] == [3]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_audit_entries_carry_the_call_id_and_a_bounded_result(mode: str) -> None:
    from kaizen import Kaizen
    from kaizen.audit import AuditTrail, InMemoryAuditStore

    @tool
    def dump(size: int) -> str:
        return "x" * size

    @tool
    def boom() -> str:
        raise RuntimeError("kaput")

    turn = tool_turn(("dump", {"size": 2500}), ("boom", {}))
    with fake_llm([turn, ANSWER]) as provider:
        k = Kaizen()
        agent = k.create_agent(
            "audited", {"model": "mock-model", "provider": provider.name}, tools=[dump, boom]
        )
        trail = k.attach_audit(AuditTrail(InMemoryAuditStore()))
        result = (
            agent.run(question="q") if mode == "sync" else asyncio.run(agent.arun(question="q"))
        )
    ok, failed = trail.entries("tool_call")
    ok_step, failed_step = (s for s in result.steps if isinstance(s, ToolStep))
    assert set(ok.payload) == {"arguments", "call_id", "duration_ms", "result"}
    assert ok.payload["call_id"] == "call_0" and ok.payload["result"] == "x" * 2000
    assert ok.payload["duration_ms"] == round(ok_step.duration_ms, 3)
    assert set(failed.payload) == {"arguments", "call_id", "duration_ms", "error"}
    assert failed.payload["call_id"] == "call_1"
    assert failed.payload["error"] == "tool 'boom' raised RuntimeError: kaput"
    assert failed.payload["duration_ms"] == round(failed_step.duration_ms, 3)


def test_a_provider_with_no_word_on_tool_support_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A provider class without `supports_tools` at all is treated as not supporting them."""

    @tool
    def lookup(key: str) -> int:
        return len(key)

    monkeypatch.delattr(MockLLMProvider, "supports_tools")
    with fake_llm([ANSWER]) as provider:
        agent = tool_agent(provider, [lookup])
        with pytest.raises(ConfigurationError) as info:
            agent.run(question="q")
    assert info.value.key == "provider"
    assert str(info.value) == (
        f"provider: agent 'worker' has tools but provider {provider.name!r} does not support "
        "tool calls (no `supports_tools`); use a provider that does"
    )
    assert provider.calls == []


def test_a_missing_output_names_the_result_type_and_its_outputs() -> None:
    with fake_llm([ANSWER]) as provider:
        from kaizen import Kaizen

        base = {"model": "mock-model", "provider": provider.name}
        result = Kaizen().create_agent("plain", base).run(question="q")
    assert isinstance(result, AgentResult)
    with pytest.raises(
        AttributeError,
        match=r"^AgentResult has no attribute or output 'missing' \(outputs: answer\)$",
    ):
        _ = result.missing
