"""The agent around the tool loop: its signature, its workflow, its timing, its errors.

Why: a signature subclass must get its own fields even when its base was compiled first
(the compiled form is cached on the class and inherited by attribute lookup); the
agent's workflow is named after it (that name shows in workflow errors and listings); a
run's `duration_ms` is milliseconds on the monotonic clock; and an async run out of
retries names the agent like a sync one.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest

from kaizen import Kaizen
from kaizen.agent import Agent
from kaizen.config import AgentConfig
from kaizen.errors import OutputValidationError
from kaizen.signatures import InputField, OutputField, Signature, compile_signature
from tests.unit.tools._agents import ANSWER, fake_llm


def test_a_signature_subclass_gets_its_own_fields_after_its_base_compiled() -> None:
    class Ask(Signature):
        question: str = InputField()
        answer: str = OutputField()

    class AskSure(Ask):
        confidence: float = OutputField()

    with fake_llm([]) as provider:
        config = AgentConfig(model="mock-model", provider=provider.name)
        base = Agent("base", config, Ask)
        sub = Agent("sub", config, AskSure)
        again = Agent("again", config, AskSure)
    assert base.output_names == ("answer",)
    assert sub.output_names == ("answer", "confidence")
    assert sub.compiled is compile_signature(AskSure) is again.compiled


def test_the_agent_workflow_is_named_after_the_agent() -> None:
    with fake_llm([]) as provider:
        agent = Kaizen().create_agent("worker", {"model": "m", "provider": provider.name})
        assert agent.to_workflow().build().name == "agent:worker"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_run_lasts_as_long_as_the_model_took(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    now = [1000.0]
    monkeypatch.setattr("kaizen.agent.time", types.SimpleNamespace(perf_counter=lambda: now[0]))

    def model(messages: list[dict[str, Any]], signature: Any) -> str:
        now[0] += 0.5
        return ANSWER

    with fake_llm(fn=model) as provider:
        agent = Kaizen().create_agent("timed", {"model": "m", "provider": provider.name})
        result = (
            agent.run(question="q") if mode == "sync" else asyncio.run(agent.arun(question="q"))
        )
    assert result.duration_ms == 500.0 and result.timing == {"duration_ms": 500.0}


def test_an_async_run_out_of_retries_names_the_agent() -> None:
    with fake_llm(["bad", "worse"]) as provider:
        base = {"model": "m", "provider": provider.name, "max_retries": 1}
        agent = Kaizen().create_agent("worker", base)
        with pytest.raises(OutputValidationError) as info:
            asyncio.run(agent.arun(question="q"))
    assert info.value.agent_id == "worker" and info.value.raw_output == "worse"


def test_a_class_that_is_not_a_signature_is_a_signature_error() -> None:
    from kaizen.errors import SignatureError

    class NotASignature:
        question: str

    with fake_llm([]) as provider:
        config = AgentConfig(model="mock-model", provider=provider.name)
        with pytest.raises(SignatureError, match="expected a Signature subclass"):
            Agent("odd", config, NotASignature)  # type: ignore[arg-type]
