"""Generate and chat through the official client: streaming, limits, stops, seeds, counters."""

from __future__ import annotations

import pytest

from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

ollama = lazy_import("ollama")  # on first use: collecting stays fast

TIMEOUT = 180.0
PROMPT = "The three primary colours are"


@pytest.fixture
def client(base_url: str) -> ollama.Client:
    return ollama.Client(host=base_url, timeout=TIMEOUT)


def _assert_counters(final: ollama.GenerateResponse | ollama.ChatResponse) -> None:
    assert final.done is True
    assert final.prompt_eval_count is not None and final.prompt_eval_count > 0
    assert final.eval_count is not None and final.eval_count > 0
    for name in ("total_duration", "prompt_eval_duration", "eval_duration"):
        value = getattr(final, name)
        assert isinstance(value, int) and value > 0, name
    assert final.total_duration >= final.eval_duration  # type: ignore[operator]
    assert final.load_duration is not None and final.load_duration >= 0


def test_generate_non_streaming(client: ollama.Client) -> None:
    result = client.generate(model=LLM_MODEL, prompt=PROMPT, options={"num_predict": 12})
    assert result.model == LLM_MODEL
    assert isinstance(result.response, str) and result.response.strip()
    assert result.eval_count is not None and result.eval_count <= 12
    _assert_counters(result)


def test_generate_streaming(client: ollama.Client) -> None:
    parts = list(
        client.generate(model=LLM_MODEL, prompt=PROMPT, stream=True, options={"num_predict": 12})
    )
    assert len(parts) >= 3
    assert all(not p.done for p in parts[:-1])
    final = parts[-1]
    _assert_counters(final)
    text = "".join(p.response or "" for p in parts)
    assert text.strip()
    assert final.eval_count == 12 or final.done_reason == "stop"


def test_chat_non_streaming_and_streaming(client: ollama.Client) -> None:
    messages = [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "Name a fruit."},
    ]
    result = client.chat(model=LLM_MODEL, messages=messages, options={"num_predict": 10})
    assert result.message.role == "assistant"
    assert isinstance(result.message.content, str)
    _assert_counters(result)
    parts = list(
        client.chat(model=LLM_MODEL, messages=messages, stream=True, options={"num_predict": 10})
    )
    assert parts[-1].done and all(p.message.role == "assistant" for p in parts)
    assert "User:" not in "".join(p.message.content or "" for p in parts)  # turn stop applied


@pytest.mark.parametrize("stream", [False, True])
def test_num_predict_ends_with_done_reason_length(client: ollama.Client, stream: bool) -> None:
    options = {"num_predict": 5, "temperature": 0.0}
    prompt = "Write a long story about a dragon:"
    if stream:
        final = list(client.generate(model=LLM_MODEL, prompt=prompt, stream=True, options=options))[
            -1
        ]
    else:
        final = client.generate(model=LLM_MODEL, prompt=prompt, options=options)
    assert final.done_reason == "length"
    assert final.eval_count == 5


def test_stop_sequences_end_the_text_before_the_stop(client: ollama.Client) -> None:
    prompt = "1, 2, 3, 4, 5, 6, 7, 8,"
    plain = client.generate(
        model=LLM_MODEL, prompt=prompt, options={"num_predict": 12, "temperature": 0.0}
    )
    assert "1" in plain.response  # the model counts on; the stop below must cut it
    stopped = client.generate(
        model=LLM_MODEL,
        prompt=prompt,
        options={"num_predict": 12, "temperature": 0.0, "stop": ["1"]},
    )
    assert "1" not in stopped.response
    assert stopped.done_reason == "stop"
    assert len(stopped.response) < len(plain.response)


def test_same_seed_same_text_different_seed_differs(client: ollama.Client) -> None:
    def run(seed: int) -> str:
        options = {"num_predict": 24, "temperature": 1.0, "seed": seed}
        return client.generate(model=LLM_MODEL, prompt="Once upon a time", options=options).response

    first, again = run(1234), run(1234)
    assert first == again
    others = {run(seed) for seed in (1, 2, 3)}
    assert len(others | {first}) > 1  # sampling really uses the seed


def test_greedy_is_deterministic_across_stream_modes(client: ollama.Client) -> None:
    options = {"num_predict": 16, "temperature": 0.0}
    whole = client.generate(model=LLM_MODEL, prompt=PROMPT, options=options).response
    streamed = "".join(
        p.response or ""
        for p in client.generate(model=LLM_MODEL, prompt=PROMPT, stream=True, options=options)
    )
    assert whole == streamed


def test_same_request_same_text_whatever_ran_before(client: ollama.Client) -> None:
    """Reproducible means independent of history: a cached prompt prefix from an earlier
    request must not change what the same request (same seed) produces."""
    options = {"num_predict": 24, "temperature": 0.8, "seed": 11}

    def run(prompt: str) -> str:
        return client.generate(model=LLM_MODEL, prompt=prompt, options=options).response

    first = run("The ocean is")
    run("My favourite food is")  # shares no prefix: evicts the cached one
    run("The ocean is very deep and")  # shares a prefix: partly reuses the cache
    assert run("The ocean is") == first
