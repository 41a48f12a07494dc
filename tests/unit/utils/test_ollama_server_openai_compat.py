"""The local server's /v1 translation (openai_compat): OpenAI bodies to native jobs, native
answers to OpenAI's wire format, tool_choice narrowing the grammar. No model, no I/O."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest

from tests.utils.ollama_server import openai_compat as oc
from tests.utils.ollama_server import protocol
from tests.utils.ollama_server.engine import Result
from tests.utils.ollama_server.protocol import RequestError

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 24},
        "unit": {"enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
}
ADD = {
    "type": "object",
    "properties": {"a": {"type": "integer", "minimum": 0, "maximum": 9}},
    "required": ["a"],
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "add", "parameters": ADD}},
]
CALL = '{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}'
ADD_CALL = '{"name":"add","arguments":{"a":3}}'
ANSWER = '{"content":"sunny"}'


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "weather?"}], **extra}


def _events(data: bytes) -> list[Any]:
    assert data.endswith(b"\n\n")
    out: list[Any] = []
    for block in data.decode().split("\n\n")[:-1]:
        assert block.startswith("data: ")
        payload = block.removeprefix("data: ")
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def test_chat_defaults_follow_ollamas_v1_not_the_native_ones() -> None:
    job, shape = oc.parse_chat(_chat())
    assert (job.sampling.temperature, job.sampling.top_p) == (1.0, 1.0)
    assert job.stream is False and shape.include_usage is False
    assert shape.id.startswith("chatcmpl-") and 0 <= int(shape.id.split("-")[1]) < 999


def test_chat_fields_map_onto_the_native_options() -> None:
    body = _chat(max_completion_tokens=7, seed=3, stop="END", temperature=0.2, top_p=0.5)
    job, _ = oc.parse_chat({**body, "stream": True, "stream_options": {"include_usage": True}})
    s = job.sampling
    assert (s.num_predict, s.seed, s.temperature, s.top_p) == (7, 3, 0.2, 0.5)
    assert s.stop[0] == "END" and job.stream
    assert oc.parse_chat(_chat(max_tokens=5))[0].sampling.num_predict == 5
    with pytest.raises(RequestError, match="differ"):
        oc.parse_chat(_chat(max_tokens=5, max_completion_tokens=6))


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"messages": []}, r"\[\] is too short - 'messages'"),
        ({"messages": "hi"}, "'messages' must be a list"),
        ({"temperature": "hot"}, "'temperature' must be a number"),
        ({"n": 2}, "'n' must be 1"),
        ({"logit_bias": {"1": 5}}, "logit_bias"),
        ({"stop": ["a", 3]}, "'stop' must be"),
        ({"response_format": {"type": "yaml"}}, "response_format.type"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "schema"),
        ({"reasoning_effort": "high"}, "does not support thinking"),
        ({"reasoning_effort": "huge"}, "invalid reasoning value"),
        ({"logprobs": True}, "'logprobs' is not supported"),
        ({"tool_choice": "sometimes", "tools": TOOLS}, "'tool_choice' must be"),
        ({"tool_choice": "required"}, "no tools"),
        (
            {"tool_choice": {"type": "function", "function": {"name": "nope"}}, "tools": TOOLS},
            "'nope', which is not in 'tools'",
        ),
    ],
)
def test_bad_chat_requests_are_400s_naming_the_field(extra: dict[str, Any], match: str) -> None:
    with pytest.raises(RequestError, match=match) as info:
        oc.parse_chat(_chat(**extra))
    assert info.value.status == 400


def test_response_format_shares_the_native_format_grammar() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    spec = {"type": "json_schema", "json_schema": {"name": "n", "schema": schema, "strict": True}}
    job, _ = oc.parse_chat(_chat(response_format=spec))
    native = protocol.apply_format(protocol.parse_options(None), schema)
    assert job.sampling.grammar == native.grammar
    obj, _ = oc.parse_chat(_chat(response_format={"type": "json_object"}))
    assert obj.sampling.grammar is not None and obj.sampling.grammar.admits('{"k":1}')
    assert oc.parse_chat(_chat(response_format={"type": "text"}))[0].sampling.grammar is None


@pytest.mark.parametrize(
    ("choice", "admitted", "refused"),
    [
        (None, [CALL, ADD_CALL, ANSWER], []),
        ("auto", [CALL, ADD_CALL, ANSWER], []),
        ("required", [CALL, ADD_CALL], [ANSWER]),
        ({"type": "function", "function": {"name": "add"}}, [ADD_CALL], [CALL, ANSWER]),
    ],
)
def test_tool_choice_narrows_the_grammar(
    choice: Any, admitted: list[str], refused: list[str]
) -> None:
    extra = {"tools": TOOLS} if choice is None else {"tools": TOOLS, "tool_choice": choice}
    job, _ = oc.parse_chat(_chat(**extra))
    grammar = job.sampling.grammar
    assert grammar is not None and len(job.tools) == 2  # every tool is still in the prompt
    assert "get_weather" in job.prompt and "add" in job.prompt
    for text in admitted:
        assert grammar.admits(text), text
    for text in refused:
        assert not grammar.admits(text), text


def test_tool_choice_none_answers_as_without_tools_but_still_validates_them() -> None:
    job, _ = oc.parse_chat(_chat(tools=TOOLS, tool_choice="none"))
    assert job.tools == () and job.sampling.grammar is None and "get_weather" not in job.prompt
    with pytest.raises(RequestError, match=r"tools\[0\]"):
        oc.parse_chat(_chat(tools=[{"type": "function"}], tool_choice="none"))


def test_tool_results_and_earlier_calls_are_fed_back_in_ollamas_form() -> None:
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]
    job, _ = oc.parse_chat({"model": "m", "messages": messages, "tools": TOOLS})
    assert 'Assistant called get_weather with {"city":"Paris"}' in job.prompt
    assert "Tool (get_weather): 18C" in job.prompt  # the name from the call's id
    bad = [*messages[:1], {**messages[1], "tool_calls": [{"function": {"name": "x"}}]}]
    with pytest.raises(RequestError, match="invalid tool call arguments"):
        oc.parse_chat({"model": "m", "messages": bad})


def test_content_parts_become_messages_and_images_are_refused_natively() -> None:
    parts = [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]
    job, _ = oc.parse_chat({"model": "m", "messages": [{"role": "user", "content": parts}]})
    assert "User: one\nUser: two" in job.prompt
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}
    with pytest.raises(RequestError, match="does not support images"):
        oc.parse_chat({"model": "m", "messages": [{"role": "user", "content": [image]}]})


def _native_final(message: dict[str, Any], reason: str = "stop") -> dict[str, Any]:
    result = Result(done_reason=reason, prompt_tokens=5, eval_tokens=3)
    done = protocol.final("m", result, chat=True, text="")
    done["message"] = message
    return done


def test_a_tool_call_answer_has_string_arguments_and_finish_reason_tool_calls() -> None:
    _, shape = oc.parse_chat(_chat())
    call = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    body = shape.whole(_native_final({"role": "assistant", "content": "", "tool_calls": [call]}))
    assert body["object"] == "chat.completion" and body["system_fingerprint"] == "fp_ollama"
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    (wired,) = choice["message"]["tool_calls"]
    assert wired["type"] == "function" and wired["id"].startswith("call_")
    assert json.loads(wired["function"]["arguments"]) == {"city": "Paris"}
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


def test_a_chat_stream_is_role_first_then_finish_usage_and_done() -> None:
    _, shape = oc.parse_chat(_chat(stream=True, stream_options={"include_usage": True}))
    data = shape.chunk(protocol.chunk("m", "Hel", chat=True))
    data += shape.chunk(protocol.chunk("m", "lo", chat=True))
    data += shape.chunk(_native_final({"role": "assistant", "content": ""}, "length"))
    events = _events(data)
    assert events[-1] == "[DONE]"
    first, second, finish, usage = events[:-1]
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "Hel"}
    assert second["choices"][0]["delta"] == {"content": "lo"}
    assert finish["choices"] == [{"index": 0, "delta": {}, "finish_reason": "length"}]
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] == 8
    assert (
        len({e["id"] for e in events[:-1]}) == 1 and len({e["created"] for e in events[:-1]}) == 1
    )


def test_completions_and_embeddings_shapes() -> None:
    job, shape = oc.parse_completion({"model": "m", "prompt": "Once", "max_tokens": 4})
    assert job.prompt == "Once" and job.sampling.num_predict == 4
    body = shape.whole(protocol.final("m", Result(eval_tokens=4), chat=False, text="upon"))
    assert body["object"] == "text_completion" and body["id"].startswith("cmpl-")
    assert body["choices"] == [{"text": "upon", "index": 0, "finish_reason": "stop"}]
    with pytest.raises(RequestError, match="suffix"):
        oc.parse_completion({"model": "m", "prompt": "a", "suffix": "b"})
    with pytest.raises(RequestError, match="'prompt' must be a string"):
        oc.parse_completion({"model": "m", "prompt": ["a"]})
    ejob, eshape = oc.parse_embeddings({"model": "e", "input": "hi", "encoding_format": "base64"})
    assert ejob.inputs == ["hi"]
    out = eshape.whole({"embeddings": [[0.5, -1.0]], "prompt_eval_count": 2})
    raw = base64.b64decode(out["data"][0]["embedding"])
    assert struct.unpack("<2f", raw) == (0.5, -1.0) and out["usage"]["total_tokens"] == 2
    assert oc.parse_embeddings({"model": "e", "input": ""})[0].inputs == [""]
    for bad, match in (({"input": []}, "invalid input"), ({"encoding_format": "hex"}, "Invalid")):
        with pytest.raises(RequestError, match=match):
            oc.parse_embeddings({"model": "e", "input": "x", **bad})


def test_errors_are_openai_error_objects() -> None:
    assert oc.error_object(404, "gone") == {
        "error": {"message": "gone", "type": "not_found_error", "param": None, "code": None}
    }
    assert oc.error_object(400, "x")["error"]["type"] == "invalid_request_error"
    assert oc.error_object(500, "x")["error"]["type"] == "api_error"
