"""POST /v1/chat/completions through the official `openai` SDK (structure, never content)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from tests.utils.ollama_server import LLM_MODEL

ASK = [{"role": "user", "content": "Name a colour."}]
SCHEMA = {
    "type": "object",
    "properties": {
        "colour": {"type": "string", "maxLength": 20},
        "certainty": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["colour", "certainty"],
    "additionalProperties": False,
}


def _chat(client: Any, **extra: Any) -> Any:
    return client.chat.completions.create(model=LLM_MODEL, messages=ASK, **extra)


def test_a_plain_answer_has_openais_fields_and_usage(v1_client: Any) -> None:
    reply = _chat(v1_client, max_tokens=8, seed=1)
    assert reply.id.startswith("chatcmpl-") and reply.object == "chat.completion"
    assert reply.system_fingerprint == "fp_ollama" and reply.model == LLM_MODEL
    (choice,) = reply.choices
    assert choice.index == 0 and choice.finish_reason in ("stop", "length")
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.message.tool_calls is None
    usage = reply.usage
    assert 0 < usage.completion_tokens <= 8 and usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_the_token_limit_and_seed_are_honoured(v1_client: Any) -> None:
    first = _chat(v1_client, max_completion_tokens=3, seed=5, temperature=0.9)
    again = _chat(v1_client, max_tokens=3, seed=5, temperature=0.9)
    assert first.choices[0].finish_reason == "length" and first.usage.completion_tokens == 3
    assert first.choices[0].message.content == again.choices[0].message.content


def test_a_stream_with_usage_is_the_same_text_role_first_finish_usage_last(
    v1_client: Any,
) -> None:
    whole = _chat(v1_client, max_tokens=12, seed=2)
    chunks = list(
        _chat(v1_client, max_tokens=12, seed=2, stream=True, stream_options={"include_usage": True})
    )
    *content, finish, usage = chunks
    assert {c.id for c in chunks} == {chunks[0].id} and chunks[0].id.startswith("chatcmpl-")
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert content[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].finish_reason is None for c in content)
    text = "".join(c.choices[0].delta.content or "" for c in content)
    assert text == whole.choices[0].message.content  # same seed, same text
    assert finish.choices[0].finish_reason == whole.choices[0].finish_reason
    assert finish.choices[0].delta.content is None
    assert usage.choices == [] and usage.usage.total_tokens == whole.usage.total_tokens


def test_a_stream_without_include_usage_has_no_usage_chunk(v1_client: Any) -> None:
    chunks = list(_chat(v1_client, max_tokens=4, seed=2, stream=True))
    assert chunks[-1].choices[0].finish_reason == "length"
    assert all(c.usage is None for c in chunks)


def test_a_stop_sequence_ends_the_answer(v1_client: Any) -> None:
    free = _chat(v1_client, max_tokens=16, seed=4).choices[0].message.content
    word = free.split()[1] if len(free.split()) > 1 else free.strip()
    stopped = _chat(v1_client, max_tokens=16, seed=4, stop=[word])
    assert stopped.choices[0].finish_reason == "stop"
    assert word not in stopped.choices[0].message.content


def test_json_schema_response_format_validates_against_the_schema(v1_client: Any) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "c", "schema": SCHEMA, "strict": True}}
    for seed in range(3):
        reply = _chat(v1_client, max_tokens=32, seed=seed, response_format=fmt)
        jsonschema.Draft202012Validator(SCHEMA).validate(
            json.loads(reply.choices[0].message.content)
        )
        assert reply.choices[0].finish_reason == "stop"


def test_json_object_response_format_is_a_json_object(v1_client: Any) -> None:
    reply = _chat(v1_client, max_tokens=48, seed=1, response_format={"type": "json_object"})
    assert isinstance(json.loads(reply.choices[0].message.content), dict)


def test_a_developer_message_and_content_parts_are_accepted(v1_client: Any) -> None:
    reply = v1_client.chat.completions.create(
        model=LLM_MODEL,
        messages=[
            {"role": "developer", "content": "Answer briefly."},
            {"role": "user", "content": [{"type": "text", "text": "Name a colour."}]},
        ],
        max_tokens=4,
        seed=1,
    )
    assert reply.choices[0].message.content
