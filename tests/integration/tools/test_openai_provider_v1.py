"""Kaizen's `provider: "openai"` (the official client) against the stack's Ollama-API
server on its OpenAI-compatible /v1: a signature agent and a tool agent. The model is a
small base model: assert structure, never content."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen import Kaizen
from kaizen.errors import ModelNotFoundError
from kaizen.tools import ToolStep, tool
from tests.integration.tools._runs import run_tool_agent


def _config(ollama_service: Any, **extra: Any) -> dict[str, Any]:
    return {
        "model": ollama_service.settings.model,
        "provider": "openai",
        "base_url": f"{ollama_service.url}/v1",
        "seed": 3,
        "temperature": 0.0,
        "max_tokens": 48,
        "timeout": 300,
        **extra,
    }


def test_a_signature_agent_answers_through_v1(ollama_service: Any) -> None:
    agent = Kaizen().create_agent(
        "qa-v1", _config(ollama_service), signature="question -> answer, confidence: float"
    )
    result = agent.run(question="What is the capital of France?")  # validated by the agent
    assert isinstance(result.answer, str) and isinstance(result.confidence, float)
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


def test_an_unknown_model_is_model_not_found(ollama_service: Any) -> None:
    config = _config(ollama_service, model="no-such-model:1b", max_retries=0)
    agent = Kaizen().create_agent("missing-v1", config, signature="question -> answer")
    with pytest.raises(ModelNotFoundError, match="no-such-model:1b"):
        agent.run(question="hi")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_tool_agent_calls_the_tool_through_v1(ollama_service: Any, mode: str) -> None:
    seen: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        seen.append(city)
        return "18 degrees, sunny"

    agent = Kaizen().create_agent(
        "weather-v1",
        _config(ollama_service, max_steps=3),
        signature="question -> answer",
        tools=[get_weather],
    )
    question = "What is the weather in Paris? Call the get_weather tool."
    steps, answered = run_tool_agent(agent, question, mode)
    tool_steps = [step for step in steps if isinstance(step, ToolStep)]
    assert steps[0].kind == "model"
    for step in tool_steps:  # the server's grammar makes every call schema-valid
        assert step.name == "get_weather" and step.ok, step.error
        assert step.call_id.startswith("call_") and step.result == "18 degrees, sunny"
    assert len(seen) == len(tool_steps) and all(isinstance(c, str) for c in seen)
    assert tool_steps or answered, "the run neither called the tool nor answered"
