"""Tool calling on /api/chat for a base model: tools in the prompt, calls through a grammar.

Gemma 3 270M has no chat template (and no tool template), so the tools are written into the
plain-text transcript with their JSON parameter schemas, and decoding is constrained by
``grammar.grammar_for_tools``: the output is either ``{"name":...,"arguments":...}`` for one
of the given tools (arguments valid against its schema by construction) or
``{"content":...}``, an answer. Earlier calls go into the transcript in prose and results as
``Tool (<name>):`` lines (see ``render_call``). No I/O here: unit-testable without a model.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from typing import Any

from tests.utils.errors import ToolkitError

from .grammar import ANSWER_KEY


class ToolsError(ToolkitError, ValueError):
    """A malformed ``tools`` entry or tool message; the message names the field."""


class ToolOutputError(ToolkitError, RuntimeError):
    """Constrained output that is not a call or an answer (the grammar was not applied)."""


def call_id() -> str:
    """A tool call id as Ollama makes them: ``call_`` and 8 lowercase letters or digits."""
    return "call_" + "".join(random.choices(string.ascii_lowercase + string.digits, k=8))


@dataclass(frozen=True)
class Tool:
    """One ``{"type": "function", "function": {...}}`` entry of a request."""

    name: str
    description: str
    parameters: dict[str, Any]


def parse_tools(raw: Any) -> tuple[Tool, ...]:
    """``tools`` as Ollama accepts them; anything else is a ToolsError naming the field."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ToolsError(f"'tools' must be a list, got {type(raw).__name__}")
    tools: list[Tool] = []
    for i, entry in enumerate(raw):
        where = f"tools[{i}]"
        if not isinstance(entry, dict):
            raise ToolsError(f"{where} must be an object, got {type(entry).__name__}")
        kind = entry.get("type", "function")
        if kind != "function":
            raise ToolsError(f'{where}.type must be "function", got {kind!r}')
        function = entry.get("function")
        if not isinstance(function, dict):
            raise ToolsError(f'{where}.function must be an object with "name" and "parameters"')
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise ToolsError(f"{where}.function.name must be a non-empty string, got {name!r}")
        if any(t.name == name for t in tools):
            raise ToolsError(f"{where}.function.name {name!r} is given twice: names must differ")
        description = function.get("description") or ""
        if not isinstance(description, str):
            raise ToolsError(f"{where}.function.description must be a string")
        parameters = function.get("parameters")
        if parameters is None:
            parameters = {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            raise ToolsError(
                f"{where}.function.parameters must be a JSON Schema object, "
                f"got {type(parameters).__name__}"
            )
        kind = parameters.get("type", "object")
        if kind != "object":
            raise ToolsError(
                f'{where}.function.parameters.type must be "object" (arguments are an '
                f"object), got {kind!r}"
            )
        tools.append(Tool(name, description, {**parameters, "type": "object"}))
    return tuple(tools)


def render_tools(tools: tuple[Tool, ...], *, after_result: bool = False) -> str:
    """The prompt section that lists the tools and says how to call one or answer.

    ``after_result`` (the transcript ends in a tool's result): only the request for the
    answer, no tool list and no call syntax; the grammar still admits a call. A base model
    repeats the call syntax it was shown last: with the list and the earlier call as JSON,
    0 of 20 seeded turns answered; so, 17 of 20 through the ``ollama`` client and 20 of 20
    from Kaizen's tool agent (``python -m tests.benchmarks.measure_tool_calls``).
    """
    if after_result:
        return (
            "Use the tool's result above to answer the user's question: reply with "
            f'{{"{ANSWER_KEY}": then your answer}}.\n'
        )
    lines = ["You can call these tools (arguments: a JSON object matching the schema):"]
    for tool in tools:
        schema = json.dumps(tool.parameters, separators=(",", ":"), ensure_ascii=False)
        about = f": {tool.description}" if tool.description else ""
        lines.append(f"- {tool.name}{about} Arguments schema: {schema}")
    lines.append(
        f'To call a tool, reply with {{"name":"{tools[0].name}","arguments":{{...}}}}. '
        f'To answer, reply with {{"{ANSWER_KEY}":"<your answer>"}}.'
    )
    return "\n".join(lines) + "\n"


def render_call(call: Any, where: str) -> str:
    """One ``tool_calls`` entry of an assistant message, as a transcript line's text.

    In prose (``called NAME with ARGS``), not in the form the model emits: shown its own
    call in that form, the base model repeats it instead of answering from the result
    (see ``render_tools``).
    """
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise ToolsError(f'{where} must be an object with a "function" object')
    function = call["function"]
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise ToolsError(f"{where}.function.name must be a non-empty string, got {name!r}")
    arguments = function.get("arguments")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ToolsError(
            f"{where}.function.arguments must be an object, got {type(arguments).__name__}"
        )
    return f"called {name} with {_compact(arguments)}"


def render_answer(content: str) -> str:
    """An earlier assistant answer, wrapped as the grammar makes the model write answers."""
    return _compact({ANSWER_KEY: content})


def parse_output(text: str, tools: tuple[Tool, ...], *, formatted: bool) -> dict[str, Any]:
    """The assistant ``message`` for constrained output: a tool call or an answer.

    With ``formatted`` (the request has ``format``) the answer is the JSON value as the
    model wrote it; otherwise the answer string is unwrapped.
    """
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ToolOutputError(f"tool-constrained output is not a JSON object: {text[:120]!r}")
    names = {t.name for t in tools}
    if set(value) == {"name", "arguments"} and value["name"] in names:
        if not isinstance(value["arguments"], dict):
            raise ToolOutputError(f"tool call arguments are not an object: {text[:120]!r}")
        # Ollama's shape: an id per call, the call's position as function.index
        function = {"index": 0, "name": value["name"], "arguments": value["arguments"]}
        call = {"id": call_id(), "function": function}
        return {"role": "assistant", "content": "", "tool_calls": [call]}
    if set(value) == {ANSWER_KEY}:
        head = "{" + json.dumps(ANSWER_KEY) + ":"
        if formatted:
            if not (text.startswith(head) and text.endswith("}")):
                raise ToolOutputError(f"answer is not compact JSON: {text[:120]!r}")
            content = text[len(head) : -1]  # the value exactly as written
        elif isinstance(value[ANSWER_KEY], str):
            content = value[ANSWER_KEY]
        else:
            raise ToolOutputError(f"answer is not a string: {text[:120]!r}")
        return {"role": "assistant", "content": content}
    raise ToolOutputError(f"tool-constrained output is neither a call nor an answer: {text!r}")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
