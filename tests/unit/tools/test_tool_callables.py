"""Any typed callable can be a tool, and a definition error names the tool and the problem.

Why: agents accept callable objects (sync or `async def __call__`) as tools, so their
name, schema and sync/async nature must come from the object's class and `__call__`; and
a definition the framework refuses must say which tool (the `tool` attribute and the
message) so the programmer can fix it at `@tool` time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kaizen.tools import Tool, ToolDefinitionError, as_tool, tool


def test_a_callable_object_is_named_after_its_class_and_typed_by_its_call() -> None:
    class Multiplier:
        def __init__(self, factor: int) -> None:
            self.factor = factor

        def __call__(self, x: int) -> int:
            return x * self.factor

    t = as_tool(Multiplier(3))
    assert t.name == "Multiplier" and t.is_async is False
    params = t.schema()["function"]["parameters"]
    assert params["properties"] == {"x": {"type": "integer"}} and params["required"] == ["x"]
    assert t.call({"x": 2}) == 6


def test_an_async_callable_object_is_awaited() -> None:
    class Fetch:
        async def __call__(self, key: str) -> str:
            await asyncio.sleep(0)
            return key.upper()

    t = as_tool(Fetch())
    assert t.is_async is True
    assert t.call({"key": "abc"}) == "ABC"
    assert asyncio.run(t.acall({"key": "de"})) == "DE"


def _star(*values: int) -> int:
    return sum(values)


def _positional(x: int, /) -> int:
    return x


def _untyped(x):  # type: ignore[no-untyped-def]
    return x


def _bad_type(x: set[int]) -> int:
    return len(x)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (_star, r"^tool '_star', parameter 'values': \*args/\*\*kwargs cannot be described"),
        (_positional, r"^tool '_positional', parameter 'x': positional-only parameters"),
        (_untyped, r"^tool '_untyped', parameter 'x' has no type hint; annotate it"),
        (_bad_type, r"^tool '_bad_type', parameter 'x': "),
    ],
)
def test_a_parameter_that_cannot_be_described_names_tool_and_parameter(
    function: Any, message: str
) -> None:
    with pytest.raises(ToolDefinitionError, match=message) as info:
        Tool(function)
    assert info.value.tool == function.__name__


def test_a_non_callable_is_refused_naming_it() -> None:
    with pytest.raises(ToolDefinitionError, match=r"^a tool must be callable, got 42$") as info:
        Tool(42)  # type: ignore[arg-type]
    assert info.value.tool == "42"


def test_a_bad_name_or_timeout_is_refused_naming_the_tool() -> None:
    def probe() -> str:
        return "ok"

    with pytest.raises(ToolDefinitionError, match=r"^tool name 'a b' must be 1-64") as info:
        tool(name="a b")(probe)
    assert info.value.tool == "a b"
    with pytest.raises(ToolDefinitionError, match=r"^tool 'probe': timeout must be > 0") as info:
        tool(timeout=0)(probe)
    assert info.value.tool == "probe"
