"""Edge cases of finding the JSON object in model text: which fence wins over prose braces,
how a closing fence is told from the next opening one, where a balanced `{...}` ends, and
which candidate the brace scan tries after a rejected one."""

from __future__ import annotations

import pytest

from kaizen.errors import SignatureValidationError
from kaizen.signatures import compile_signature


def _answer(text: str) -> int:
    """The `a` output parsed from model text (the JSON object is found by extraction)."""
    return compile_signature("edge_text -> a: int").parse_output(text)["a"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A fenced object beats an earlier object in the prose, for every JSON fence header.
        ('Draft {"a": 0}\n```\n{"a": 1}\n```', 1),
        ('Draft {"a": 0}\n```json\n{"a": 1}\n```', 1),
        ('Draft {"a": 0}\n```JSON\n{"a": 1}\n```', 1),
        ('Draft {"a": 0}\n```json5\n{"a": 1}\n```', 1),
        ('Draft {"a": 0}\n``` json \n{"a": 1}\n```', 1),
        # Other languages are not JSON: the prose object is the answer.
        ('Draft {"a": 0}\n```python\n{"a": 1}\n```', 0),
        ('Draft {"a": 0}\n```JSON5\n{"a": 1}\n```', 0),
        # An unclosed fence is not a fenced block: the brace scan takes the first object.
        ('Draft {"a": 0}\n```json\n{"a": 1}\n', 0),
        ('Draft {"a": 0}\n```json', 0),
        # A closing fence is never reused as an opening one: the prose between two blocks
        # is not a block of its own.
        ('```python\nprint(1)\n```\n{"a": 0}\n```json\n{"a": 1}\n```', 1),
        # An opening fence right after a closing one is still found.
        ('Draft {"a": 0}\n```python\nx = 1\n``````json\n{"a": 1}\n```', 1),
    ],
)
def test_fenced_object_is_preferred_to_prose_braces(text: str, expected: int) -> None:
    assert _answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An empty string as the first key: its closing quote is not escaped.
        ('Result: {"": "x", "a": 1}', 1),
        ('Result: {"\\\\": "}", "a": 2}', 2),
        # The object ends at its `}`; the punctuation after it is not part of it.
        ('Answer: {"a": 3}. Done.', 3),
        ('Answer: {"a": 4}!', 4),
    ],
)
def test_balanced_object_ends_at_its_closing_brace(text: str, expected: int) -> None:
    assert _answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # After an unclosed '{' the scan moves to the very next '{', not the last one.
        ('set {"a" then {"a": 3} and {"a": 4}', 3),
        ('Result: {{"a": 1}', 1),
        # After an invalid candidate the scan takes the next '{' past it, not the last one.
        ('draft: {oops} then {"a": 1} or {"a": 2}', 1),
    ],
)
def test_brace_scan_tries_the_next_candidate(text: str, expected: int) -> None:
    assert _answer(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no braces here", "no JSON object found (no '{' in the output)"),
        (
            'prefix {"a": 1',
            "no valid JSON object found: the '{' at position 7 is never closed "
            "(was the output cut off by max_tokens?)",
        ),
    ],
)
def test_output_without_an_object_reports_the_exact_reason(text: str, message: str) -> None:
    compiled = compile_signature("edge_text -> a: int")
    with pytest.raises(SignatureValidationError) as info:
        compiled.parse_output(text)
    (error,) = info.value.errors
    assert (error.field, error.message, error.value) == ("<output>", message, text)
