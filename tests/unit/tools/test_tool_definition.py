"""What a tool tells the model: name, description and parameters; and the text it reads back.

Why: the schema is the model's only view of a tool, so every option of `tool(...)` must
reach it whichever form is used (`tool(fn, name=...)` as well as `@tool(...)`), the
description must be under the key the APIs read, and results must read back as the model
would write them (non-ASCII text as is, not `\\u` escapes). An empty argument string (some
models send `""` for a tool without parameters) means no arguments, not bad JSON.
"""

from __future__ import annotations

import pytest

from kaizen.tools import Tool, render_result, tool


def test_the_direct_form_takes_every_option() -> None:
    def add(a: int, b: int = 1) -> int:
        """Add two numbers."""
        return a + b

    made = tool(add, name="add-numbers", description="Adds a and b.", timeout=3)
    assert isinstance(made, Tool)
    assert (made.name, made.description, made.timeout) == ("add-numbers", "Adds a and b.", 3)
    assert made.schema()["function"]["name"] == "add-numbers"
    assert made.call({"a": 2}) == 3


def test_the_schema_carries_the_description_under_the_function_key() -> None:
    @tool
    def lookup(key: str) -> str:
        """Look a key up in the table.

        Args:
            key: The key to look up.
        """
        return key

    function = lookup.schema()["function"]
    assert set(function) == {"name", "description", "parameters"}
    assert function["description"] == "Look a key up in the table."
    assert function["parameters"]["properties"]["key"]["description"] == "The key to look up."


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"city": "Zürich", "temp": "3 °C"}, '{"city": "Zürich", "temp": "3 °C"}'),
        (["日本", ("a", "b")], '["日本", ["a", "b"]]'),
    ],
)
def test_results_read_back_with_non_ascii_text_unescaped(value: object, text: str) -> None:
    assert render_result(value) == text


@pytest.mark.parametrize("arguments", ["", "   ", "\n"])
def test_an_empty_argument_string_means_no_arguments(arguments: str) -> None:
    @tool
    def count(start: int = 1) -> int:
        return start + 1

    assert count.validate(arguments) == {"start": 1}
    assert count.call(arguments) == 2
