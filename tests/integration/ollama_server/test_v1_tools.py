"""Tool calls on /v1/chat/completions through the official `openai` SDK: arguments a JSON
string, tool_choice narrowing the grammar, tool results fed back by tool_call_id."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from tests.benchmarks.measure_tool_calls import ASK, WEATHER_TOOL
from tests.utils.lazy_import import lazy_import
from tests.utils.ollama_server import LLM_MODEL

openai = lazy_import("openai")  # on first use: collecting stays fast

TIME_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The current time in a timezone.",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string", "maxLength": 32}},
            "required": ["timezone"],
        },
    },
}
TOOLS = [WEATHER_TOOL, TIME_TOOL]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
MESSAGES = [{"role": "user", "content": ASK}]
SEEDS = range(4)


def _ask(client: Any, seed: int, **extra: Any) -> Any:
    return client.chat.completions.create(
        model=LLM_MODEL, messages=MESSAGES, tools=TOOLS, max_tokens=32, seed=seed, **extra
    )


def _valid_calls(reply: Any, allowed: set[str]) -> list[Any]:
    """Every call: a known tool, an id, arguments a JSON string valid against its schema."""
    (choice,) = reply.choices
    calls = choice.message.tool_calls or []
    for call in calls:
        assert call.type == "function" and call.id.startswith("call_")
        assert call.function.name in allowed
        arguments = json.loads(call.function.arguments)
        jsonschema.Draft202012Validator(SCHEMAS[call.function.name]).validate(arguments)
    if calls:
        assert choice.finish_reason == "tool_calls" and choice.message.content == ""
    return calls


def test_auto_gives_a_valid_call_or_an_answer(v1_client: Any) -> None:
    for seed in SEEDS:
        reply = _ask(v1_client, seed, tool_choice="auto")
        if not _valid_calls(reply, set(SCHEMAS)):
            assert reply.choices[0].finish_reason == "stop" and reply.choices[0].message.content


def test_required_always_calls_one_of_the_tools(v1_client: Any) -> None:
    for seed in SEEDS:
        assert len(_valid_calls(_ask(v1_client, seed, tool_choice="required"), set(SCHEMAS))) == 1


def test_a_named_tool_choice_always_calls_that_tool(v1_client: Any) -> None:
    choice = {"type": "function", "function": {"name": "get_time"}}
    for seed in SEEDS:  # the prompt asks for the weather: the choice still wins
        (call,) = _valid_calls(_ask(v1_client, seed, tool_choice=choice), {"get_time"})
        assert call.function.name == "get_time"


def test_none_answers_in_text(v1_client: Any) -> None:
    for seed in SEEDS[:2]:
        reply = _ask(v1_client, seed, tool_choice="none")
        assert reply.choices[0].message.tool_calls is None
        assert reply.choices[0].finish_reason in ("stop", "length")
        assert isinstance(reply.choices[0].message.content, str)


def test_the_call_and_its_result_go_back_by_tool_call_id(v1_client: Any) -> None:
    first = _ask(v1_client, 0, tool_choice="required")
    (call,) = _valid_calls(first, set(SCHEMAS))
    messages = [
        *MESSAGES,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18 degrees, sunny"},
    ]
    follow = v1_client.chat.completions.create(
        model=LLM_MODEL, messages=messages, tools=TOOLS, max_tokens=32, seed=1
    )
    if not _valid_calls(follow, set(SCHEMAS)):  # a base model may call again: still valid
        assert follow.choices[0].message.content


def test_a_streamed_call_is_one_delta_then_finish_tool_calls(v1_client: Any) -> None:
    chunks = list(
        _ask(
            v1_client,
            1,
            tool_choice="required",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    call_chunk, finish, usage = chunks
    (call,) = call_chunk.choices[0].delta.tool_calls
    assert call_chunk.choices[0].delta.role == "assistant" and call.index == 0
    jsonschema.Draft202012Validator(SCHEMAS[call.function.name]).validate(
        json.loads(call.function.arguments)
    )
    assert finish.choices[0].finish_reason == "tool_calls"
    assert usage.usage.completion_tokens > 0


@pytest.mark.parametrize(
    "extra",
    [
        {"tool_choice": {"type": "function", "function": {"name": "no_such_tool"}}},
        {"tool_choice": "sometimes"},
        {"tools": [{"type": "function", "function": {"name": "t", "parameters": []}}]},
    ],
)
def test_a_bad_tool_request_is_a_400(v1_client: Any, extra: dict[str, Any]) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        v1_client.chat.completions.create(
            model=LLM_MODEL, messages=MESSAGES, **{"tools": TOOLS, **extra}
        )
    assert info.value.body["type"] == "invalid_request_error"
