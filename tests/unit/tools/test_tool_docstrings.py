"""How a tool's docstring becomes what the model reads (summary and per-parameter text).

Why: the descriptions are the model's only guide to a tool, so the parser must take
Google-style `Args:` sections as people write them: prose before the first parameter,
arguments indented more than four spaces, continuation lines (even ones holding a colon),
names taken verbatim, `*name` style; and a tool without a docstring describes nothing
rather than something invented.
"""

from __future__ import annotations

from typing import Any

import pytest

from kaizen.tools import tool


def _described(t: Any) -> dict[str, str | None]:
    properties = t.schema()["function"]["parameters"]["properties"]
    return {name: schema.get("description") for name, schema in properties.items()}


def test_a_tool_without_a_docstring_describes_nothing() -> None:
    @tool
    def bare(key: str) -> str:
        return key

    assert bare.description == "" and bare.schema()["function"]["description"] == ""
    assert _described(bare) == {"key": None}


def test_prose_before_the_first_parameter_is_skipped() -> None:
    @tool
    def move(x: int, y: int) -> str:
        """Move the cursor.

        Args:
            All values are in pixels.
            x: Column.
            y: Row.
        """
        return f"{x},{y}"

    assert move.description == "Move the cursor."
    assert _described(move) == {"x": "Column.", "y": "Row."}


def test_a_parameter_indented_deeper_than_four_spaces_is_still_read() -> None:
    @tool
    def find(key: str) -> str:
        """Find a key.

        Args:
                key: The key to look for.
        """
        return key

    assert _described(find) == {"key": "The key to look for."}


@pytest.mark.parametrize("indent", [5, 8])
def test_a_deeper_line_with_a_colon_continues_the_parameter_above(indent: int) -> None:
    def header(pair: str, strict: bool = False) -> str:
        return pair

    pad = " " * indent
    header.__doc__ = (
        f"Parse a header.\n\nArgs:\n    pair: A line in the form\n{pad}name: value\n"
        "    strict: Reject unknown names.\n"
    )
    made = tool(header)
    assert _described(made) == {
        "pair": "A line in the form name: value",
        "strict": "Reject unknown names.",
    }


def test_parameter_names_are_taken_verbatim_and_star_style_is_accepted() -> None:
    @tool
    def plot(X: int, values: list[int]) -> str:
        """Plot values.

        Args:
            X: Horizontal offset.
            *values: The points to plot.
        """
        return str(X)

    assert _described(plot) == {"X": "Horizontal offset.", "values": "The points to plot."}
