"""Tools: schemas from type hints, strict argument validation, timeouts, typed errors."""

from __future__ import annotations

import asyncio
import threading
import time
from enum import Enum
from typing import Literal

import pytest

from kaizen.tools import (
    Tool,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolExecutionError,
    ToolTimeoutError,
    as_tool,
    render_result,
    tool,
)


class Unit(Enum):
    C = "celsius"
    F = "fahrenheit"


def get_weather(city: str, unit: Unit = Unit.C, days: int | None = None) -> dict:
    """Current weather for a city.

    More text the model does not need.

    Args:
        city: The city's name, e.g. "Lisbon".
        unit: Temperature unit.
        days: Days of forecast
            (at most seven).
    """
    return {"city": city, "unit": unit.value, "days": days}


def test_schema_comes_from_the_type_hints_and_the_docstring() -> None:
    t = as_tool(get_weather)
    assert t.name == "get_weather" and t.description == "Current weather for a city."
    schema = t.schema()
    assert schema["type"] == "function"
    params = schema["function"]["parameters"]
    assert params["required"] == ["city"] and params["additionalProperties"] is False
    assert params["properties"]["city"]["type"] == "string"
    assert params["properties"]["city"]["description"] == 'The city\'s name, e.g. "Lisbon".'
    assert params["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert params["properties"]["days"]["description"] == "Days of forecast (at most seven)."
    assert {"type": "null"} in params["properties"]["days"]["anyOf"]
    params["required"].append("mutated")  # schema() hands out a copy
    assert t.schema()["function"]["parameters"]["required"] == ["city"]


def test_decorator_options_and_plain_call() -> None:
    @tool(name="add-numbers", description="Adds.", timeout=2)
    def add(a: int, b: int = 1) -> int:
        return a + b

    assert isinstance(add, Tool) and add.name == "add-numbers" and add.timeout == 2
    assert add.description == "Adds." and add(2, b=3) == 5, "still callable as Python"
    assert add.call({"a": 2}) == 3 and add.call('{"a": 2, "b": 5}') == 7
    assert tool(get_weather).name == "get_weather"
    assert as_tool(add) is add


def test_arguments_are_validated_strictly_and_every_bad_field_is_named() -> None:
    t = as_tool(get_weather)
    assert t.validate({"city": "Porto"}) == {"city": "Porto", "unit": Unit.C, "days": None}
    assert t.validate({"city": "Porto", "unit": "fahrenheit"})["unit"] is Unit.F
    with pytest.raises(ToolArgumentsError) as info:
        t.validate({"unit": "kelvin", "days": "3", "extra": 1})
    fields = {e.field for e in info.value.errors}
    assert fields == {"city", "unit", "days", "extra"}
    assert info.value.tool == "get_weather" and "invalid arguments for tool" in str(info.value)
    with pytest.raises(ToolArgumentsError, match="not valid JSON"):
        t.validate("{city:")
    with pytest.raises(ToolArgumentsError, match="expected a mapping"):
        t.validate([1, 2])


def test_a_raising_tool_is_a_typed_error_with_its_cause() -> None:
    def boom(x: int) -> int:
        raise KeyError(x)

    with pytest.raises(ToolExecutionError, match="tool 'boom' raised KeyError") as info:
        as_tool(boom).call({"x": 1})
    assert isinstance(info.value.cause, KeyError) and info.value.__cause__ is info.value.cause


def test_a_hanging_sync_tool_times_out() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def hang() -> str:
        release.wait(5)
        return "late"

    try:
        with pytest.raises(ToolTimeoutError, match=r"did not return within 0\.05s"):
            hang.call({})
        started = time.monotonic()
        with pytest.raises(ToolTimeoutError):
            asyncio.run(hang.acall({}))
        assert time.monotonic() - started < 4, "the loop must not wait for the hung tool"
    finally:
        release.set()


def test_async_tools_await_and_time_out() -> None:
    @tool
    async def double(x: float) -> float:
        await asyncio.sleep(0)
        return x * 2

    @tool(timeout=0.05)
    async def never(x: int) -> None:
        await asyncio.Event().wait()

    assert double.is_async and double.call({"x": 2}) == 4
    assert asyncio.run(double.acall({"x": 1.5})) == 3.0
    with pytest.raises(ToolTimeoutError):
        never.call({"x": 1})
    with pytest.raises(ToolTimeoutError):
        asyncio.run(never.acall({"x": 1}))


def test_sync_tool_in_acall_without_timeout_runs_inline() -> None:
    seen = []

    def where(tag: Literal["a", "b"]) -> str:
        seen.append(threading.current_thread())
        return tag

    assert asyncio.run(as_tool(where).acall({"tag": "b"})) == "b"
    assert seen == [threading.main_thread()]


def _variadic(*args: int) -> None: ...


def _kwargs(**kw: int) -> None: ...


def _untyped(x) -> None: ...  # type: ignore[no-untyped-def]


def _unsupported(x: set[int]) -> None: ...


def _posonly(x: int, /) -> None: ...


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (_variadic, r"parameter 'args': \*args/\*\*kwargs cannot be described"),
        (_kwargs, r"parameter 'kw': \*args"),
        (_untyped, "parameter 'x' has no type hint; annotate it"),
        (_unsupported, "parameter 'x': unsupported type"),
        (_posonly, "positional-only"),
        (42, "must be callable"),
    ],
)
def test_definitions_that_cannot_be_described_fail_at_definition(function, message) -> None:
    with pytest.raises(ToolDefinitionError, match=message):
        Tool(function)


def test_names_and_timeouts_are_checked() -> None:
    with pytest.raises(ToolDefinitionError, match="must be 1-64 characters"):
        Tool(get_weather, name="get weather")
    with pytest.raises(ToolDefinitionError, match="timeout must be > 0"):
        Tool(get_weather, timeout=0)


def test_results_are_rendered_for_the_model() -> None:
    assert render_result("plain") == "plain"
    assert render_result({"a": [1, (2, 3)]}) == '{"a": [1, [2, 3]]}'
    assert render_result({1, 2}) in ("[1, 2]", "[2, 1]")
    assert render_result(object()).startswith("<object object")


def test_kaizen_exports_the_tool_names_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kaizen\n"
        "assert 'kaizen.tools' not in sys.modules\n"
        "from kaizen import tool, Tool\n"
        "def f(x): return x\n"
        "tool(f)\n"
    )
    # f's parameter has no hint: the definition error proves the real path ran
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "ToolDefinitionError" in done.stderr and "has no type hint" in done.stderr
