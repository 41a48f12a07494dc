"""MockLLMProvider: a real `Provider`, signature-aware, scripted, faulty on demand."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator

import jsonschema
import pytest

from kaizen import InputField, Kaizen, OutputField, Signature
from kaizen.errors import (
    OutputValidationError,
    ProviderConnectionError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from kaizen.providers import (
    Completion,
    CompletionRequest,
    Provider,
    available_providers,
    register_provider,
    unregister_provider,
)
from kaizen.signatures import compile_signature
from tests.utils.mock_providers import (
    MalformedJSONFault,
    MockLLMProvider,
    MockRateLimitError,
    RateLimitFault,
    ScriptExhausted,
    TimeoutFault,
    TruncatedStreamFault,
    UnmatchedPrompt,
)


class Ticket(Signature):
    """Triage a support ticket."""

    text: str = InputField(desc="the ticket")
    category: str = OutputField(desc="queue", pattern=r"^[A-Z]{2}-\d{3}$")
    priority: int = OutputField(desc="1..5", ge=1, le=5)
    summary: str = OutputField(desc="one line", min_length=5, max_length=40)


_names = itertools.count()


@pytest.fixture
def mock() -> Iterator[MockLLMProvider]:
    provider = MockLLMProvider(name=f"mock-{next(_names)}", seed=11)
    with provider.registered():
        yield provider


def _agent(provider: MockLLMProvider, signature: object = Ticket, **config: object):
    k = Kaizen()
    base = {"model": "mock-model", "provider": provider.name, "max_retries": 1, **config}
    return k.create_agent("agent", base, signature=signature)


def _req(prompt: str = "p", **kw: object) -> CompletionRequest:
    return CompletionRequest(model="m", prompt=prompt, **kw)  # type: ignore[arg-type]


# --- protocol and registration ------------------------------------------------------------


def test_is_a_provider_and_registers_under_its_name() -> None:
    provider = MockLLMProvider(name="mock-reg")
    assert isinstance(provider, Provider)
    with provider.registered():
        assert "mock-reg" in available_providers()
    assert "mock-reg" not in available_providers()


def test_factory_registers_with_plain_register_provider() -> None:
    provider = MockLLMProvider(name="mock-plain")
    register_provider("mock-plain", provider.factory)
    try:
        result = _agent(provider, "question -> answer").run(question="q")
        assert isinstance(result.outputs["answer"], str)
    finally:
        unregister_provider("mock-plain")


def test_rejects_non_request() -> None:
    with pytest.raises(TypeError, match="CompletionRequest"):
        MockLLMProvider().complete("prompt")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs", [{"script": ["a"], "fn": lambda m, s: "x"}, {"script": ["a"], "responses": {"a": 1}}]
)
def test_modes_are_exclusive(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="at most one of"):
        MockLLMProvider(**kwargs)


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        MockLLMProvider(chunk_size=0)


# --- schema mode ----------------------------------------------------------------------------


def test_agent_outputs_validate_against_the_signature(mock: MockLLMProvider) -> None:
    result = _agent(mock).run(text="printer on fire")
    compiled = compile_signature(Ticket)
    jsonschema.validate(dict(result.outputs), compiled.output_schema)
    assert re.fullmatch(r"[A-Z]{2}-\d{3}", result.category)
    assert 1 <= result.priority <= 5
    assert 5 <= len(result.summary) <= 40
    assert result.attempts == 1


@pytest.mark.parametrize(
    "signature",
    [
        "question -> answer",
        "text -> label: Literal['pos', 'neg', 'neutral'], score: float",
        "items: list[str] -> summary, count: int, ok: bool",
        "q -> tags: list[str], meta: dict[str, int], note: str?",
        "-> joke",
    ],
)
def test_string_signatures_parse(mock: MockLLMProvider, signature: str) -> None:
    agent = _agent(mock, signature)
    inputs = {f.name: ["x"] if f.name == "items" else "x" for f in agent.compiled.inputs}
    result = agent.run(**inputs)
    assert set(result.outputs) >= {f.name for f in agent.compiled.outputs if f.required}


def test_same_seed_and_prompt_is_deterministic() -> None:
    req = _req(format=compile_signature(Ticket).output_schema)
    first = MockLLMProvider(seed=1).complete(req).text
    assert MockLLMProvider(seed=1).complete(req).text == first


def test_seed_varies_output() -> None:
    req = _req(format=compile_signature(Ticket).output_schema)
    texts = {MockLLMProvider(seed=s).complete(req).text for s in range(8)}
    assert len(texts) >= 6


def test_request_seed_and_prompt_vary_output() -> None:
    schema = compile_signature(Ticket).output_schema
    provider = MockLLMProvider()
    outs = {provider.complete(_req(f"p{i}", format=schema, seed=i)).text for i in range(6)}
    assert len(outs) >= 5


def test_signature_used_when_request_has_no_schema() -> None:
    provider = MockLLMProvider(signature=Ticket)
    value = json.loads(provider.complete(_req()).text)
    assert set(value) == {"category", "priority", "summary"}


def test_signature_may_be_a_string_or_a_json_schema() -> None:
    from_string = MockLLMProvider(signature="q -> n: int")
    assert isinstance(json.loads(from_string.complete(_req()).text)["n"], int)
    schema = {
        "type": "object",
        "properties": {"e": {"type": "string", "format": "email"}},
        "required": ["e"],
    }
    assert "@" in json.loads(MockLLMProvider(signature=schema).complete(_req()).text)["e"]


def test_optional_outputs_only_on_request() -> None:
    schema = compile_signature("q -> a, note: str?").output_schema
    assert set(json.loads(MockLLMProvider().complete(_req(format=schema)).text)) == {"a"}
    full = MockLLMProvider(include_optional=True).complete(_req(format=schema)).text
    assert set(json.loads(full)) == {"a", "note"}


def test_plain_and_json_requests() -> None:
    provider = MockLLMProvider()
    assert provider.complete(_req()).text.startswith("mock completion ")
    assert set(json.loads(provider.complete(_req(format="json")).text)) == {"result"}


def test_completion_reports_usage_and_model() -> None:
    completion = MockLLMProvider(model="served").complete(_req("one two three", system="s"))
    assert completion.model == "served"
    assert completion.prompt_tokens == 4
    assert completion.completion_tokens > 0
    assert completion.done_reason == "stop"


async def test_arun_goes_through_acomplete(mock: MockLLMProvider) -> None:
    result = await _agent(mock).arun(text="async")
    assert result.priority in range(1, 6)
    assert [c.method for c in mock.calls] == ["acomplete"]


# --- scripted mode ------------------------------------------------------------------------


def test_script_answers_in_order_then_raises() -> None:
    provider = MockLLMProvider(script=["one", {"a": 1}, [1, 2]])
    assert provider.complete(_req()).text == "one"
    assert json.loads(provider.complete(_req()).text) == {"a": 1}
    assert json.loads(provider.complete(_req()).text) == [1, 2]
    with pytest.raises(ScriptExhausted, match="all 3 scripted answer") as info:
        provider.complete(_req("fourth prompt"))
    assert info.value.prompt == "fourth prompt"


def test_script_exhausted_surfaces_through_the_agent() -> None:
    provider = MockLLMProvider(name="mock-script", script=['{"answer": "only"}'])
    with provider.registered():
        agent = _agent(provider, "question -> answer")
        assert agent.run(question="1").answer == "only"
        with pytest.raises(ScriptExhausted):
            agent.run(question="2")


def test_script_exceptions_are_raised() -> None:
    provider = MockLLMProvider(script=[ValueError("boom"), KeyError])
    with pytest.raises(ValueError, match="boom"):
        provider.complete(_req())
    with pytest.raises(KeyError, match="scripted KeyError"):
        provider.complete(_req())


def test_script_completion_passes_through() -> None:
    done = Completion("x", "m2", 1, 2, "length")
    assert MockLLMProvider(script=[done]).complete(_req()).done_reason == "length"


def test_script_rejects_unknown_answer_types() -> None:
    with pytest.raises(TypeError, match="answer must be"):
        MockLLMProvider(script=[3.5]).complete(_req())


def test_script_fault_entries() -> None:
    provider = MockLLMProvider(script=[TimeoutFault(), "ok"])
    with pytest.raises(ProviderTimeoutError):
        provider.complete(_req(timeout=5))
    assert provider.complete(_req()).text == "ok"


def test_injected_fault_does_not_consume_the_script() -> None:
    provider = MockLLMProvider(script=["first", "second"])
    provider.inject(RateLimitFault(2.5))
    with pytest.raises(MockRateLimitError):
        provider.complete(_req())
    assert provider.complete(_req()).text == "first"


def test_prompt_map_exact_substring_and_regex() -> None:
    provider = MockLLMProvider(
        responses={"exact prompt": "E", "weather": "W", re.compile(r"order #\d+"): "O"}
    )
    assert provider.complete(_req("exact prompt")).text == "E"
    assert provider.complete(_req("what is the weather today")).text == "W"
    assert provider.complete(_req("where is order #123?")).text == "O"
    with pytest.raises(UnmatchedPrompt, match="'weather'") as info:
        provider.complete(_req("unrelated"))
    assert info.value.keys == ("exact prompt", "weather", r"order #\d+")


def test_fn_mode_gets_messages_and_signature() -> None:
    seen = []

    def answer(messages, signature):
        seen.append((messages, signature))
        return {"answer": messages[-1]["content"].upper()}

    provider = MockLLMProvider(fn=answer, signature="question -> answer")
    assert json.loads(provider.complete(_req("hi", system="be brief")).text) == {"answer": "HI"}
    messages, signature = seen[0]
    assert messages == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert signature.output_schema["required"] == ["answer"]


def test_fn_mode_without_signature_gets_request_format() -> None:
    got = []
    provider = MockLLMProvider(fn=lambda m, s: got.append(s) or "x")
    provider.complete(_req(format={"type": "object"}))
    assert got == [{"type": "object"}]


# --- streaming ----------------------------------------------------------------------------


def test_stream_chunks_join_to_the_completion() -> None:
    provider = MockLLMProvider(script=["abcdefghijklmnopqrst"], chunk_size=6)
    assert list(provider.stream(_req())) == ["abcdef", "ghijkl", "mnopqr", "st"]
    assert provider.calls[0].method == "stream"


async def test_astream_chunks() -> None:
    provider = MockLLMProvider(script=["hello world"], chunk_size=5)
    assert [c async for c in provider.astream(_req())] == ["hello", " worl", "d"]


def test_truncated_stream_raises_after_partial_output() -> None:
    provider = MockLLMProvider(script=["x" * 40], chunk_size=10)
    provider.inject(TruncatedStreamFault(keep=0.5))
    received = []
    with pytest.raises(ProviderConnectionError, match="after 2 chunk"):
        for chunk in provider.stream(_req()):
            received.append(chunk)
    assert received == ["x" * 10, "x" * 10]
    assert isinstance(provider.calls[0].error, ProviderConnectionError)


async def test_truncated_astream() -> None:
    provider = MockLLMProvider(script=["y" * 30], chunk_size=10)
    provider.inject(TruncatedStreamFault(keep=0.34))
    got = []
    with pytest.raises(ProviderConnectionError):
        async for chunk in provider.astream(_req()):
            got.append(chunk)
    assert got == ["y" * 10]


def test_truncated_fault_on_complete_cuts_the_text() -> None:
    provider = MockLLMProvider(script=["0123456789"])
    provider.inject(TruncatedStreamFault(keep=0.3))
    completion = provider.complete(_req())
    assert completion.text == "012"
    assert completion.done_reason == "length"


def test_agent_stream_uses_provider_stream(mock: MockLLMProvider) -> None:
    text = "".join(_agent(mock).stream(text="t"))
    assert json.loads(text)["priority"] in range(1, 6)


# --- faults through the agent ---------------------------------------------------------------


def test_timeout_fault_is_the_typed_provider_error(mock: MockLLMProvider) -> None:
    mock.inject(TimeoutFault())
    with pytest.raises(ProviderTimeoutError, match="within 7s"):
        _agent(mock, timeout=7).run(text="t")


def test_rate_limit_carries_retry_after(mock: MockLLMProvider) -> None:
    mock.inject(RateLimitFault(retry_after=3.0))
    with pytest.raises(ProviderResponseError) as info:
        _agent(mock).run(text="t")
    assert isinstance(info.value, MockRateLimitError)
    assert info.value.status == 429
    assert info.value.retry_after == 3.0


def test_malformed_json_then_retry_succeeds(mock: MockLLMProvider) -> None:
    mock.inject(MalformedJSONFault())
    result = _agent(mock).run(text="t")
    assert result.attempts == 2
    assert len(mock.calls) == 2


def test_malformed_json_without_retries_fails_with_raw_output(mock: MockLLMProvider) -> None:
    mock.inject(MalformedJSONFault(text="{not json"), times=None)
    with pytest.raises(OutputValidationError) as info:
        _agent(mock, max_retries=0).run(text="t")
    assert info.value.raw_output == "{not json"


def test_default_malformed_text_is_invalid_json() -> None:
    provider = MockLLMProvider(signature=Ticket)
    provider.inject(MalformedJSONFault(), times=3)
    for _ in range(3):
        with pytest.raises(ValueError):
            json.loads(provider.complete(_req()).text)
    json.loads(provider.complete(_req()).text)


def test_fault_after_calls_and_forever() -> None:
    provider = MockLLMProvider()
    provider.inject(TimeoutFault(), times=None, after_calls=2)
    provider.complete(_req())
    provider.complete(_req())
    for _ in range(3):
        with pytest.raises(ProviderTimeoutError):
            provider.complete(_req())
    provider.clear_faults()
    provider.complete(_req())


def test_inject_requires_a_fault() -> None:
    with pytest.raises(TypeError, match="needs a Fault"):
        MockLLMProvider().inject("timeout")  # type: ignore[arg-type]


# --- the call log ---------------------------------------------------------------------------


def test_every_call_is_recorded_including_failures() -> None:
    provider = MockLLMProvider(script=["a"])
    provider.complete(_req("first"))
    with pytest.raises(ScriptExhausted):
        provider.complete(_req("second"))
    assert provider.prompts == ["first", "second"]
    assert provider.call_count == 2
    assert provider.calls[0].ok and provider.calls[0].result.text == "a"
    assert isinstance(provider.calls[1].error, ScriptExhausted)


def test_assert_called_reports_what_happened() -> None:
    provider = MockLLMProvider()
    provider.complete(_req())
    assert len(provider.assert_called("complete", times=1)) == 1
    with pytest.raises(AssertionError, match=r"stream expected at least once.*calls: complete"):
        provider.assert_called("stream")
    with pytest.raises(AssertionError, match="expected 2 time"):
        provider.assert_called("complete", times=2)
    provider.reset_calls()
    assert provider.calls == []


def test_concurrent_calls_are_all_recorded() -> None:
    from concurrent.futures import ThreadPoolExecutor

    provider = MockLLMProvider()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: provider.complete(_req(f"p{i}")), range(200)))
    assert len(provider.calls) == 200
    assert provider.call_count == 200
    assert len(set(provider.prompts)) == 200
