"""The benchmarks' instant provider: the one fake LLM, answering schema-valid JSON at once
from a cached sample, with no call log."""

from __future__ import annotations

import json

import jsonschema
import pytest

from kaizen import Kaizen, compile_signature
from kaizen.providers import CompletionRequest, available_providers, provider_factory
from tests.utils._perf.instant_provider import (
    PROVIDER_NAME,
    ensure_registered,
    example_for,
    instant_provider,
)
from tests.utils.mock_providers import MockLLMProvider

SIG = compile_signature("question, context -> answer, confidence: float, note: str?")


def test_answers_every_property_schema_valid_and_cached() -> None:
    provider = instant_provider("instant-test")
    assert isinstance(provider, MockLLMProvider) and not provider.record_calls
    request = CompletionRequest(model="m", prompt="p", format=SIG.output_schema)
    first = provider.complete(request)
    value = json.loads(first.text)
    jsonschema.validate(value, SIG.output_schema)
    assert set(value) == {"answer", "confidence", "note"}  # optional ones too
    assert provider.complete(request).text is first.text  # sampled once per schema
    assert (first.prompt_tokens, first.completion_tokens) == (0, 0)
    assert provider.calls == [] and provider.call_count == 2


def test_a_request_without_a_schema_gets_an_empty_object() -> None:
    assert instant_provider().complete(CompletionRequest(model="m", prompt="p")).text == "{}"


def test_example_for_wants_an_object_schema() -> None:
    assert set(example_for(SIG.output_schema)) == {"answer", "confidence", "note"}
    with pytest.raises(TypeError, match="object schemas"):
        example_for({"type": "string"})


def test_ensure_registered_once_and_agents_run_on_it() -> None:
    name = ensure_registered()
    factory = provider_factory(name)
    assert name == PROVIDER_NAME and ensure_registered() == name
    assert provider_factory(name) is factory and name in available_providers()
    agent = Kaizen().create_agent("bench", {"model": "instant", "provider": name}, signature=SIG)
    result = agent.run(question="q", context="c")
    assert isinstance(result.confidence, float) and isinstance(result.answer, str)
