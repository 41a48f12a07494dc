"""Tool calls on /api/chat through the official `ollama` client (structure, never content)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.benchmarks.measure_tool_calls import ASK, WEATHER_TOOL
from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

ollama = lazy_import("ollama")  # on first use: collecting stays fast

SCHEMA = WEATHER_TOOL["function"]["parameters"]
OPTIONS = {"seed": 1, "temperature": 0.8, "num_predict": 32}  # below max_chars: raised


@pytest.fixture
def client(base_url: str) -> ollama.Client:
    return ollama.Client(host=base_url, timeout=300)


def _call(message: Any) -> dict[str, Any]:
    (call,) = message.tool_calls
    assert call.function.name == "get_weather" and message.content == ""
    arguments = dict(call.function.arguments)
    jsonschema.Draft202012Validator(SCHEMA).validate(arguments)
    return arguments


def test_show_lists_the_tools_capability(client: ollama.Client) -> None:
    assert client.show(LLM_MODEL).capabilities == ["completion", "tools"]


def test_a_prompt_asking_for_the_tool_gets_a_schema_valid_call_then_an_answer(
    client: ollama.Client,
) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": ASK}]
    reply = client.chat(model=LLM_MODEL, messages=messages, tools=[WEATHER_TOOL], options=OPTIONS)
    assert reply.done_reason == "stop"
    arguments = _call(reply.message)
    messages += [
        {"role": "assistant", "content": "", "tool_calls": [reply.message.tool_calls[0]]},
        {"role": "tool", "tool_name": "get_weather", "content": "18 degrees, sunny"},
    ]
    follow = client.chat(model=LLM_MODEL, messages=messages, tools=[WEATHER_TOOL], options=OPTIONS)
    assert follow.done and follow.done_reason == "stop"
    if follow.message.tool_calls:  # a base model may call again: still schema-valid
        _call(follow.message)
    else:
        assert isinstance(follow.message.content, str) and follow.message.content
    final = client.chat(model=LLM_MODEL, messages=messages, options=OPTIONS)  # no tools
    assert final.message.tool_calls is None and isinstance(final.message.content, str)
    assert arguments["unit"] in ("celsius", "fahrenheit")


def test_streaming_sends_the_call_in_one_chunk_before_done(client: ollama.Client) -> None:
    parts = list(
        client.chat(
            model=LLM_MODEL,
            messages=[{"role": "user", "content": ASK}],
            tools=[WEATHER_TOOL],
            options=OPTIONS,
            stream=True,
        )
    )
    assert [p.done for p in parts] == [False, True]
    _call(parts[0].message)
    assert parts[1].done_reason == "stop" and parts[1].eval_count > 0
