"""The tool errors' contract: each names its tool and keeps what a caller needs to act on.

Why: these errors are data (the model reads them, callers branch on them), so the `tool`
attribute, the fields they carry and the exact wording of their messages are the API, on
every path that raises them (validation, unknown tool, a raising tool, duplicate names,
the loop's own bound).
"""

from __future__ import annotations

import pytest

from kaizen.tools import (
    ToolArgumentsError,
    ToolDefinitionError,
    ToolExecutionError,
    UnknownToolError,
    tool,
)
from kaizen.tools.loop import ToolLoopLimitError, ToolStep
from tests.unit.tools._agents import ANSWER, fake_llm, tool_agent, tool_turn


def test_an_unknown_tool_error_lists_every_tool_the_agent_has() -> None:
    @tool
    def alpha() -> str:
        return "a"

    @tool
    def beta() -> str:
        return "b"

    with fake_llm([tool_turn(("gamma", {})), ANSWER]) as provider:
        result = tool_agent(provider, [alpha, beta]).run(question="q")
    step = result.steps[1]
    assert isinstance(step, ToolStep) and isinstance(step.error, UnknownToolError)
    assert step.error.tool == "gamma" and step.error.known == ("alpha", "beta")
    assert str(step.error) == "unknown tool 'gamma'; available tools: alpha, beta"
    assert provider.requests[1].messages[-1]["content"] == f"error: {step.error}"


def test_an_unknown_tool_error_without_tools_says_none() -> None:
    error = UnknownToolError("gamma", [])
    assert str(error) == "unknown tool 'gamma'; available tools: none"
    assert error.tool == "gamma" and error.known == ()


def test_an_arguments_error_names_every_bad_field_and_keeps_the_arguments() -> None:
    @tool
    def pair(x: int, y: int) -> int:
        return x + y

    arguments = {"x": "one", "y": "two"}
    with pytest.raises(ToolArgumentsError) as info:
        pair.call(arguments)
    error = info.value
    assert error.tool == "pair" and error.arguments == arguments
    assert [e.field for e in error.errors] == ["x", "y"]
    first, second = (str(e) for e in error.errors)
    assert str(error) == f"invalid arguments for tool 'pair': {first}; {second}"


@pytest.mark.parametrize("text", ["{not json", "[1,"])
def test_arguments_that_are_not_json_are_one_error_on_the_arguments_field(text: str) -> None:
    @tool
    def echo(x: int = 0) -> int:
        return x

    with pytest.raises(ToolArgumentsError, match="invalid arguments for tool 'echo'") as info:
        echo.call(text)
    error = info.value
    assert error.tool == "echo" and error.arguments == text
    (bad,) = error.errors
    assert bad.field == "arguments" and bad.value == text
    assert bad.message.startswith("not valid JSON (")


def test_an_execution_error_names_the_tool_and_keeps_the_cause() -> None:
    @tool
    def boom() -> str:
        raise KeyError("gone")

    with pytest.raises(ToolExecutionError, match=r"^tool 'boom' raised KeyError: 'gone'$") as info:
        boom.call({})
    assert info.value.tool == "boom" and isinstance(info.value.cause, KeyError)
    assert info.value.__cause__ is info.value.cause


def test_two_tools_with_one_name_name_it_in_the_error() -> None:
    @tool
    def lookup() -> str:
        return "a"

    @tool(name="lookup")
    def other() -> str:
        return "b"

    with fake_llm([]) as provider, pytest.raises(ToolDefinitionError) as info:
        tool_agent(provider, [lookup, other])
    assert info.value.tool == "lookup"
    assert str(info.value) == "two tools are named 'lookup'; pass @tool(name=...)"


def test_the_loop_limit_error_names_the_agent() -> None:
    @tool
    def again() -> str:
        return "more"

    with fake_llm([tool_turn(("again", {})), tool_turn(("again", {}))]) as provider:
        agent = tool_agent(provider, [again], max_steps=2)
        with pytest.raises(ToolLoopLimitError, match=r"^agent 'worker' made 2 model calls") as info:
            agent.run(question="q")
    assert info.value.agent_id == "worker" and info.value.max_steps == 2
