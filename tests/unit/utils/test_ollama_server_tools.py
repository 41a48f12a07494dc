"""Tool calls of the local Ollama-API server: the grammar, prompt rendering, validation."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
import pytest

from tests.utils.ollama_server import protocol
from tests.utils.ollama_server.grammar import grammar_for_tools
from tests.utils.ollama_server.protocol import RequestError
from tests.utils.ollama_server.tools import ToolOutputError, parse_output, parse_tools

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 24},
        "unit": {"enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
}
ADD = {
    "$defs": {"N": {"type": "integer", "minimum": 0, "maximum": 99}},
    "type": "object",
    "properties": {"a": {"$ref": "#/$defs/N"}, "b": {"$ref": "#/$defs/N"}},
    "required": ["a", "b"],
}
SCHEMAS = {"get_weather": WEATHER, "add": ADD}
TOOLS = [
    {"type": "function", "function": {"name": n, "description": f"the {n} tool", "parameters": s}}
    for n, s in SCHEMAS.items()
]


def _chat(**extra: Any) -> protocol.GenerationJob:
    body = {"model": "m", "messages": [{"role": "user", "content": "weather in Paris?"}]}
    return protocol.parse_chat({**body, "tools": TOOLS, **extra})


def _samples(gbnf_grammar: Any, n: int, seed: int) -> list[str]:
    """Random strings of the grammar's language (a walk over its GBNF)."""
    from tests.utils.ollama_server.grammar import _gbnf_rules

    rules = _gbnf_rules(gbnf_grammar.gbnf)
    rng = random.Random(seed)

    def seq(tokens: list[Any], i: int, stop: str) -> tuple[str, int]:
        alts: list[list[tuple[Any, ...]]] = [[]]
        while i < len(tokens) and tokens[i]["op"] != stop:
            t = tokens[i]
            if t["op"] == "|":
                alts.append([])
                i += 1
                continue
            if t["op"] == "(":
                start = i + 1
                depth, j = 1, start
                while depth:
                    depth += {"(": 1, ")": -1}.get(tokens[j]["op"] or "", 0)
                    j += 1
                item: tuple[Any, ...] = ("group", tokens[start : j - 1])
                i = j
            else:
                item, i = ("atom", t), i + 1
            low, high = 1, 1
            if i < len(tokens) and (tokens[i]["rep"] or tokens[i]["op"] in ("?", "*", "+")):
                r = tokens[i]
                if r["rep"]:
                    low, high = map(int, r["rep"][1:-1].split(","))
                else:
                    low, high = {"?": (0, 1), "*": (0, 3), "+": (1, 3)}[r["op"]]
                i += 1
            alts[-1].append((*item, low, high))
        out = []
        for kind, value, low, high in rng.choice(alts):
            for _ in range(rng.randint(low, min(high, low + 6))):
                out.append(walk(value) if kind == "group" else atom(value))
        return "".join(out), i

    def walk(tokens: list[Any]) -> str:
        return seq(tokens, 0, "\0")[0]

    def atom(t: Any) -> str:
        if t["lit"]:
            return str(json.loads(t["lit"]))
        if t["cls"]:
            return rng.choice("abc XYZ019!#~")
        return walk(rules[t["name"]])

    return [walk(rules["root"]) for _ in range(n)]


def test_every_admitted_call_validates_against_its_tools_schema() -> None:
    tools = parse_tools(TOOLS)
    grammar = grammar_for_tools([(t.name, t.parameters) for t in tools])
    seen: set[str] = set()
    for text in _samples(grammar, 300, seed=1):
        assert grammar.admits(text), text
        message = parse_output(text, tools, formatted=False)
        for call in message.get("tool_calls", []):
            name = call["function"]["name"]
            seen.add(name)
            jsonschema.Draft202012Validator(SCHEMAS[name]).validate(call["function"]["arguments"])
            assert message["content"] == ""
        if "tool_calls" not in message:
            seen.add("answer")
            assert isinstance(message["content"], str)
    assert seen == {"get_weather", "add", "answer"}
    assert len(text) <= grammar.max_chars


def test_names_outside_the_tool_list_and_invalid_arguments_are_not_admitted() -> None:
    grammar = grammar_for_tools([(n, s) for n, s in SCHEMAS.items()])
    assert grammar.admits('{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}')
    assert grammar.admits('{"name":"add","arguments":{"a":1,"b":99}}')
    assert grammar.admits('{"content":"It is sunny."}')
    for bad in (
        '{"name":"delete_all","arguments":{}}',
        '{"name":"get_weather","arguments":{"city":"Paris","unit":"kelvin"}}',
        '{"name":"add","arguments":{"a":1,"b":100}}',
        '{"name":"add","arguments":{"a":1}}',
        '{"content":"a","name":"add"}',
        "It is sunny.",
    ):
        assert not grammar.admits(bad), bad


def test_answer_follows_format_when_given() -> None:
    fmt = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    grammar = grammar_for_tools([("add", ADD)], fmt)
    assert grammar.admits('{"content":{"ok":true}}')
    assert not grammar.admits('{"content":"yes"}')
    tools = parse_tools(TOOLS[1:])
    assert parse_output('{"content":{"ok":true}}', tools, formatted=True) == {
        "role": "assistant",
        "content": '{"ok":true}',
    }


def test_output_that_is_neither_call_nor_answer_fails_loud() -> None:
    tools = parse_tools(TOOLS)
    for text in ('{"name":"nope","arguments":{}}', "plain", '{"content":"a"'):
        with pytest.raises(ToolOutputError):
            parse_output(text, tools, formatted=False)


def test_chat_with_tools_renders_them_and_constrains_decoding() -> None:
    job = _chat(options={"num_predict": 16})
    assert job.tools and job.tools[0].name == "get_weather"
    assert job.prompt.startswith("User: weather in Paris?\n\n")
    assert '- get_weather: the get_weather tool Arguments schema: {"type":"object"' in job.prompt
    assert '"$defs"' in job.prompt and job.prompt.endswith("Assistant:")
    assert job.sampling.grammar is not None
    assert job.sampling.grammar.admits('{"name":"add","arguments":{"a":1,"b":2}}')
    assert job.sampling.num_predict >= job.sampling.grammar.max_chars  # it can always close


def test_tool_turns_render_into_the_transcript() -> None:
    messages = [
        {"role": "user", "content": "weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
            ],
        },
        {"role": "tool", "tool_name": "get_weather", "tool_call_id": "c1", "content": "18C"},
        {"role": "assistant", "content": "It is 18C."},
    ]
    job = _chat(messages=messages)
    assert (
        "User: weather in Paris?\n"
        'Assistant called get_weather with {"city":"Paris"}\n'
        "Tool (get_weather): 18C\n"
        'Assistant: {"content":"It is 18C."}\n\n'
    ) in job.prompt
    plain = protocol.parse_chat({"model": "m", "messages": messages})  # no tools: plain text
    assert "Assistant: It is 18C.\nAssistant:" in plain.prompt and not plain.tools


def test_after_a_tool_result_only_the_answer_is_asked_for() -> None:
    """The turn after a tool result asks for the answer alone, no tool list (a base model
    repeats the call syntax it was shown last); the first turn shows both forms. The
    grammar admits both either way, so a second call stays possible."""
    ask = {"role": "user", "content": "weather in Paris?"}
    call = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    result = {"role": "tool", "tool_name": "get_weather", "content": "18C"}
    turns = [ask, {"role": "assistant", "content": "", "tool_calls": [call]}, result]
    first, after = _chat(messages=[ask]), _chat(messages=turns)
    offer = "Use the tool's result above to answer the user's question"
    assert offer not in first.prompt
    assert first.prompt.index("To call a tool") < first.prompt.index("To answer")
    assert offer in after.prompt and "To call a tool" not in after.prompt
    assert "You can call these tools" in first.prompt
    assert "You can call these tools" not in after.prompt
    assert '{"name":' not in after.prompt  # no call syntax to copy, not even the earlier call
    assert after.prompt.endswith("Assistant:")
    for job in (first, after):
        assert job.sampling.grammar is not None
        assert job.sampling.grammar.admits('{"content":"18C"}')
        assert job.sampling.grammar.admits(
            '{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}'
        )


@pytest.mark.parametrize(
    ("tools", "fragment"),
    [
        ({"name": "x"}, "'tools' must be a list"),
        (["x"], "tools[0] must be an object"),
        ([{"type": "web"}], 'tools[0].type must be "function"'),
        ([{"type": "function"}], "tools[0].function must be an object"),
        ([{"function": {"name": ""}}], "tools[0].function.name must be a non-empty string"),
        ([{"function": {"name": "a"}}, {"function": {"name": "a"}}], "given twice"),
        ([{"function": {"name": "a", "parameters": []}}], "parameters must be a JSON Schema"),
        ([{"function": {"name": "a", "parameters": {"type": "string"}}}], 'must be "object"'),
        (
            [{"function": {"name": "a", "parameters": {"properties": {"s": {"pattern": "x"}}}}}],
            "'pattern' is not supported (at tools[0].function.parameters/properties/s)",
        ),
    ],
)
def test_malformed_tools_are_400s_naming_the_field(tools: Any, fragment: str) -> None:
    with pytest.raises(RequestError) as info:
        protocol.parse_chat({"model": "m", "messages": [], "tools": tools})
    assert info.value.status == 400
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ({"role": "user", "content": "x", "tool_calls": []}, "only allowed on assistant"),
        ({"role": "assistant", "tool_calls": {}}, "tool_calls must be a list"),
        ({"role": "assistant", "tool_calls": [{}]}, 'tool_calls[0] must be an object with a "f'),
        (
            {"role": "assistant", "tool_calls": [{"function": {"name": "a", "arguments": "{}"}}]},
            "tool_calls[0].function.arguments must be an object",
        ),
        ({"role": "tool", "tool_name": 3, "content": "x"}, "messages[0].tool_name must be"),
    ],
)
def test_malformed_tool_messages_are_400s(message: dict[str, Any], fragment: str) -> None:
    with pytest.raises(RequestError) as info:
        protocol.parse_chat({"model": "m", "messages": [message]})
    assert info.value.status == 400 and fragment in info.value.message


def test_generate_refuses_tools() -> None:
    with pytest.raises(RequestError, match="/api/chat only"):
        protocol.parse_generate({"model": "m", "prompt": "x", "tools": TOOLS})


def test_a_call_has_ollamas_shape_an_id_and_its_index() -> None:
    """Ollama's api.ToolCall: `id` ("call_" + 8 lowercase letters or digits, new per call)
    and `function.index` (the call's position), beside name and arguments."""
    import re

    tools = parse_tools(TOOLS)
    text = '{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}'
    first, second = (parse_output(text, tools, formatted=False) for _ in range(2))
    (call,) = first["tool_calls"]
    assert re.fullmatch(r"call_[a-z0-9]{8}", call["id"])
    assert call["function"] == {
        "index": 0,
        "name": "get_weather",
        "arguments": {"city": "Paris", "unit": "celsius"},
    }
    assert first["content"] == "" and first["role"] == "assistant"
    assert second["tool_calls"][0]["id"] != call["id"]
