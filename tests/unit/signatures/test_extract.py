"""Finding the JSON object in model text."""

import pytest

from kaizen.signatures import compile_signature
from kaizen.signatures._extract import NoJSONObject, extract_json_object


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  \n{"a": 1}\n ', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('Here you go:\n```\n{"a": 1}\n```\nDone.', {"a": 1}),
        ('```python\nx = {"b": 2}\n```\n```json\n{"a": 1}\n```', {"a": 1}),
        ('Sure! The answer is {"a": 1} as requested.', {"a": 1}),
        ('{"a": 1} trailing prose', {"a": 1}),
        ('{"s": "a } brace and { another"}', {"s": "a } brace and { another"}),
        ('note {"s": "quote \\" then }"} end', {"s": 'quote " then }'}),
        ('{"outer": {"inner": [1, {"x": 2}]}}', {"outer": {"inner": [1, {"x": 2}]}}),
        ('{not json} then {"a": 1}', {"a": 1}),
        ('draft: {"a": 1, "b": } final: {"a": 2}', {"a": 2}),
        ('set {"a" then {"a": 3}', {"a": 3}),  # the unclosed first '{' is skipped
    ],
)
def test_extracts_the_object(text: str, expected: dict) -> None:
    assert extract_json_object(text) == expected


def test_invalid_outer_object_does_not_yield_a_nested_one() -> None:
    with pytest.raises(NoJSONObject, match="invalid JSON at position 0"):
        extract_json_object('{"a": oops, "b": {"c": 1}}')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", "the output is empty"),
        ("no braces here", "no '{' in the output"),
        ('{"a": "unterminated}', "never closed"),
        ("```json\n[1, 2]\n```", "no '{' in the output"),
    ],
)
def test_reports_why_nothing_was_found(text: str, message: str) -> None:
    with pytest.raises(NoJSONObject, match=message):
        extract_json_object(text)


def test_parse_output_reads_fenced_model_text() -> None:
    compiled = compile_signature("q -> answer, n: int")
    text = 'Sure!\n```json\n{"answer": "4", "n": "4"}\n```'
    assert compiled.parse_output(text) == {"answer": "4", "n": 4}
