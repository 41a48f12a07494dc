"""Agents through the workflow core on the unit tier's fake LLM (MockLLMProvider, scripted):
results, retries, seeds, typed errors, composition."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from kaizen.agent import DEFAULT_SIGNATURE, Agent, AgentResult, RunMeta, Usage
from kaizen.errors import (
    NodeExecutionError,
    OutputValidationError,
    ProviderConnectionError,
    ProviderTimeoutError,
    SignatureValidationError,
    WorkflowExecutionError,
    WorkflowValidationError,
)
from kaizen.framework import Kaizen
from kaizen.signatures import InputField, OutputField, Signature
from kaizen.workflow import AsyncLocalRuntime, LocalRuntime
from tests.utils.mock_providers import MockLLMProvider


class QA(Signature):
    """Answer the question from the context."""

    question: str = InputField(desc="the question")
    context: str = InputField(desc="background")
    answer: str = OutputField(desc="short answer")
    confidence: float = OutputField(desc="0..1")


GOOD = json.dumps({"answer": "Paris", "confidence": 0.9})
INPUTS = {"question": "Capital of France?", "context": "France is in Europe."}


def make(scripted: MockLLMProvider, signature: Any = QA, **config: Any) -> Agent:
    return Kaizen().create_agent(
        "qa", {"model": "m", "provider": scripted.name, **config}, signature=signature
    )


# --- results -------------------------------------------------------------------------------


def check_result(result: AgentResult) -> None:
    assert isinstance(result, AgentResult)
    assert result.outputs == {"answer": "Paris", "confidence": 0.9}
    assert result["answer"] == "Paris" and result.confidence == 0.9
    assert result.agent_id == "qa" and result.attempts == 1
    assert result.usage == Usage(3, 2) and result.usage.total_tokens == 5
    assert result.raw_output == GOOD and result.model == "m-served"
    assert result.duration_ms > 0 and result.timing == {"duration_ms": result.duration_ms}
    assert re.fullmatch(r"[0-9a-f]{32}", result.run_id)


def test_run_returns_validated_result(scripted: MockLLMProvider) -> None:
    scripted.script = [GOOD]
    check_result(make(scripted).run(**INPUTS))


async def test_arun_returns_the_same_type(scripted: MockLLMProvider) -> None:
    scripted.script = [GOOD]
    check_result(await make(scripted).arun(**INPUTS))


def test_unknown_output_attribute_lists_outputs(scripted: MockLLMProvider) -> None:
    scripted.script = [GOOD]
    result = make(scripted).run(**INPUTS)
    with pytest.raises(
        AttributeError, match=r"no attribute or output 'score' \(outputs: answer, confidence\)"
    ):
        _ = result.score
    with pytest.raises(KeyError):
        _ = result["score"]


def test_outputs_are_coerced_by_the_signature(scripted: MockLLMProvider) -> None:
    scripted.script = ['{"answer": "Paris", "confidence": "0.25"}']
    assert make(scripted).run(**INPUTS).confidence == 0.25


def test_each_run_has_its_own_run_id(scripted: MockLLMProvider) -> None:
    scripted.script = [GOOD, GOOD]
    agent = make(scripted)
    assert agent.run(**INPUTS).run_id != agent.run(**INPUTS).run_id


# --- the request -----------------------------------------------------------------------------


def test_request_carries_config_prompt_and_schema(scripted: MockLLMProvider) -> None:
    scripted.script = [GOOD]
    agent = make(
        scripted, temperature=0.4, max_tokens=64, seed=7, timeout=12, system_prompt="Be terse."
    )
    agent.run(**INPUTS)
    (request,) = scripted.requests
    assert request.model == "m" and request.system == "Be terse."
    assert (request.temperature, request.max_tokens, request.seed, request.timeout) == (
        0.4,
        64,
        7,
        12,
    )
    assert request.format == agent.compiled.output_schema
    assert set(request.format["properties"]) == {"answer", "confidence"}  # type: ignore[index]
    assert "Capital of France?" in request.prompt and "France is in Europe." in request.prompt


def test_provider_is_created_once_and_lazily(scripted: MockLLMProvider) -> None:
    scripted.script = [GOOD, GOOD]
    agent = make(scripted)
    assert scripted.factory_calls == 0
    agent.run(**INPUTS)
    agent.run(**INPUTS)
    assert scripted.factory_calls == 1 and agent.provider is scripted


# --- retries ---------------------------------------------------------------------------------


def test_retry_after_malformed_output_then_success(scripted: MockLLMProvider) -> None:
    scripted.script = ["I think Paris", '{"answer": "Paris"}', GOOD]
    result = make(scripted, seed=7, max_retries=2).run(**INPUTS)
    assert result.attempts == 3 and result.raw_output == GOOD
    assert result.usage == Usage(9, 6)  # summed over every attempt
    assert [r.seed for r in scripted.requests] == [7, 8, 9]  # a new seed per attempt
    assert len({r.prompt for r in scripted.requests}) == 1


def test_no_seed_stays_unseeded_on_retry(scripted: MockLLMProvider) -> None:
    scripted.script = ["nope", GOOD]
    make(scripted).run(**INPUTS)
    assert [r.seed for r in scripted.requests] == [None, None]


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_output_validation_error_after_max_retries(
    scripted: MockLLMProvider, max_retries: int
) -> None:
    scripted.script = [f"bad {i}" for i in range(max_retries + 1)] + [GOOD]
    with pytest.raises(OutputValidationError) as info:
        make(scripted, max_retries=max_retries).run(**INPUTS)
    err = info.value
    assert len(scripted.requests) == max_retries + 1  # never more calls than allowed
    assert err.raw_output == f"bad {max_retries}" and f"bad {max_retries}" in str(err)
    assert [raw for raw, _ in err.attempts] == [f"bad {i}" for i in range(max_retries + 1)]
    assert err.agent_id == "qa" and isinstance(err, SignatureValidationError)


async def test_async_retry_then_failure(scripted: MockLLMProvider) -> None:
    scripted.script = ["{}", '{"answer": 1, "confidence": "high"}']
    with pytest.raises(OutputValidationError) as info:
        await make(scripted, max_retries=1, seed=0).arun(**INPUTS)
    assert len(info.value.attempts) == 2 and "confidence" in info.value.fields
    assert [r.seed for r in scripted.requests] == [0, 1]


async def test_async_retry_then_success_sums_usage(scripted: MockLLMProvider) -> None:
    scripted.script = ["garbage", GOOD]
    result = await make(scripted).arun(**INPUTS)
    assert result.attempts == 2 and result.usage.total_tokens == 10


# --- errors surface typed --------------------------------------------------------------------


@pytest.mark.parametrize("error", [ProviderConnectionError, ProviderTimeoutError])
def test_provider_errors_surface_typed(scripted: MockLLMProvider, error: type[Exception]) -> None:
    root = OSError("connection refused")
    failure = error("down", provider="scripted", url="http://127.0.0.1:9")
    failure.__cause__ = root
    scripted.script = [failure, GOOD]
    with pytest.raises(error) as info:
        make(scripted).run(**INPUTS)
    assert info.value is failure and not isinstance(info.value, WorkflowExecutionError)
    assert info.value.__cause__ is root  # the transport cause survives the unwrapping
    assert len(scripted.requests) == 1  # transport errors are not retried as bad output


async def test_provider_errors_surface_typed_async(scripted: MockLLMProvider) -> None:
    failure = ProviderConnectionError("down", provider="scripted", url="http://127.0.0.1:9")
    scripted.script = [failure]
    with pytest.raises(ProviderConnectionError) as info:
        await make(scripted).arun(**INPUTS)
    assert info.value is failure


def test_non_kaizen_provider_failure_is_node_execution_error(scripted: MockLLMProvider) -> None:
    scripted.script = [RuntimeError("provider bug")]
    with pytest.raises(NodeExecutionError) as info:
        make(scripted).run(**INPUTS)
    assert info.value.node_id == "qa" and isinstance(info.value.cause, RuntimeError)
    assert info.value.__cause__ is info.value.cause


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"question": "q"}, "context"),
        ({"context": "c"}, "question"),
        ({**INPUTS, "extra": 1}, "extra"),
    ],
)
def test_input_validation_errors(
    scripted: MockLLMProvider, inputs: dict[str, Any], field: str
) -> None:
    with pytest.raises(SignatureValidationError) as info:
        make(scripted).run(**inputs)
    assert field in info.value.fields
    assert scripted.requests == []  # the provider is never called with bad inputs


async def test_input_validation_errors_async(scripted: MockLLMProvider) -> None:
    with pytest.raises(SignatureValidationError, match="question"):
        await make(scripted).arun(context="c")


# --- defaults, streaming, composition ----------------------------------------------------------


def test_default_signature_is_question_to_answer(scripted: MockLLMProvider) -> None:
    scripted.script = ['{"answer": "42"}']
    agent = make(scripted, signature=None)
    assert agent.signature == DEFAULT_SIGNATURE == "question -> answer"
    assert agent.output_names == ("answer",)
    assert agent.run(question="meaning?").outputs == {"answer": "42"}


def test_string_signature(scripted: MockLLMProvider) -> None:
    scripted.script = ['{"total": 3}']
    agent = make(scripted, signature="a: int, b: int -> total: int")
    assert agent.run(a=1, b=2).total == 3


def test_stream_yields_raw_chunks(scripted: MockLLMProvider) -> None:
    scripted.script = [GOOD]
    agent = make(scripted)
    assert "".join(agent.stream(**INPUTS)) == GOOD
    with pytest.raises(SignatureValidationError):
        list(agent.stream(question="only"))


def test_repr_names_agent_provider_and_model(scripted: MockLLMProvider) -> None:
    text = repr(make(scripted))
    assert "'qa'" in text and repr(scripted.name) in text and "model='m'" in text


def test_to_workflow_composes_with_other_nodes(scripted: MockLLMProvider) -> None:
    scripted.script = [GOOD]
    agent = make(scripted)
    builder = agent.to_workflow()
    builder.add_node("PythonCodeNode", "shout", {"function": lambda text: text.upper() + "!"})
    builder.add_node("PythonCodeNode", "cost", {"function": lambda meta: meta.usage.total_tokens})
    builder.add_connection("qa", "answer", "shout", "text")
    builder.add_connection("qa", "_meta", "cost", "meta")
    results, _ = LocalRuntime().execute(builder.build(), {"qa": INPUTS})
    assert results["shout"] == {"result": "PARIS!"} and results["cost"] == {"result": 5}
    assert results["qa"]["answer"] == "Paris" and isinstance(results["qa"]["_meta"], RunMeta)


async def test_two_agents_in_one_async_workflow(scripted: MockLLMProvider) -> None:
    scripted.script = [GOOD, '{"answer": "Rome"}']
    k = Kaizen()
    first = k.create_agent("first", {"model": "m", "provider": scripted.name}, signature=QA)
    second = k.create_agent("second", {"model": "m", "provider": scripted.name})
    builder = first.to_workflow()
    builder.add_node("LLMAgentNode", "second", {"agent": second})
    builder.add_node("MergeNode", "both", {"strategy": "list"})
    builder.add_connection("first", "answer", "both", "a")
    builder.add_connection("second", "answer", "both", "b")
    results, _ = await AsyncLocalRuntime().execute(
        builder.build(), {"first": INPUTS, "second": {"question": "Capital of Italy?"}}
    )
    assert sorted(results["both"]["merged"]) == ["Paris", "Rome"]


def test_agent_node_rejects_undeclared_output(scripted: MockLLMProvider) -> None:
    builder = make(scripted).to_workflow()
    builder.add_node("PythonCodeNode", "p", {"function": lambda x: x})
    builder.add_connection("qa", "reasoning", "p", "x")
    with pytest.raises(WorkflowValidationError, match=r"outputs: answer, confidence, _meta"):
        builder.build()


def test_agent_node_needs_an_agent() -> None:
    from kaizen.workflow import WorkflowBuilder

    builder = WorkflowBuilder()
    builder.add_node("LLMAgentNode", "a", {"agent": "qa"})
    with pytest.raises(WorkflowValidationError, match="'agent' must be a kaizen Agent, got str"):
        builder.build()


def test_agent_failure_inside_a_composed_workflow_keeps_partial_results(
    scripted: MockLLMProvider,
) -> None:
    scripted.script = ["not json"]
    builder = make(scripted, max_retries=0).to_workflow()
    builder.add_node("PythonCodeNode", "other", {"function": lambda: "ran"})
    with pytest.raises(WorkflowExecutionError) as info:
        LocalRuntime().execute(builder.build(), {"qa": INPUTS})
    assert info.value.results == {"other": {"result": "ran"}}
    assert isinstance(info.value.errors["qa"].__cause__, OutputValidationError)
