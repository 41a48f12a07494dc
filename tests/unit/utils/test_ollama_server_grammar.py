"""The JSON-Schema-to-GBNF builder, checked without a model.

Our grammars are not recursive, so each one expands into a Python regular expression: that
gives an independent way to prove which texts a grammar admits (valid JSON, no whitespace,
bounded strings) and which it rejects.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.utils.ollama_server.grammar import (
    DEFAULT_STRING_MAX,
    MIN_STRING_MAX,
    GrammarError,
    grammar_for_format,
    literal,
)

_TOKEN = re.compile(
    r'\s*(?:(?P<lit>"(?:\\.|[^"\\])*")|(?P<cls>\[(?:\\.|[^\]\\])*\])'
    r"|(?P<rep>\{\d+,\d+\})|(?P<name>[A-Za-z][A-Za-z0-9-]*)|(?P<op>[()|?*+]))"
)


def _to_regex(gbnf: str) -> re.Pattern[str]:
    rules = dict(line.split(" ::= ", 1) for line in gbnf.strip().splitlines())

    def expand(body: str) -> str:
        out: list[str] = []
        pos = 0
        while pos < len(body.rstrip()):
            match = _TOKEN.match(body, pos)
            assert match, f"unparsable GBNF at {body[pos:]!r}"
            pos = match.end()
            if match["lit"]:
                out.append(re.escape(json.loads(match["lit"])))
            elif match["cls"]:
                out.append(match["cls"])
            elif match["rep"]:
                out.append(match["rep"])
            elif match["name"]:
                out.append(f"(?:{expand(rules[match['name']])})")
            else:
                out.append("(?:" if match["op"] == "(" else match["op"])
        return "".join(out)

    return re.compile(expand(rules["root"]))


def admits(fmt: object, text: str, **kwargs: object) -> bool:
    grammar = grammar_for_format(fmt, **kwargs)  # type: ignore[arg-type]
    return _to_regex(grammar.gbnf).fullmatch(text) is not None


QA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["answer", "confidence"],
}


def test_object_in_property_order_without_whitespace() -> None:
    assert admits(QA, '{"answer":"Paris","confidence":0.75}')
    assert not admits(QA, '{"answer": "Paris", "confidence": 0.75}')
    assert not admits(QA, '{"confidence":0.75,"answer":"Paris"}')


def test_number_bounds_zero_to_one() -> None:
    for ok in ("0", "0.5", "1", "1.0", "0.1234"):
        assert admits(QA, f'{{"answer":"a","confidence":{ok}}}'), ok
    for bad in ("1.5", "2", "-0.1", "0.12345", "1e3"):
        assert not admits(QA, f'{{"answer":"a","confidence":{bad}}}'), bad


def test_strings_are_bounded_ascii_without_escapes() -> None:
    schema = {"type": "string", "minLength": 2, "maxLength": 5}
    assert admits(schema, '"abcde"')
    assert not admits(schema, '"abcdef"')
    assert not admits(schema, '"a"')
    assert not admits(schema, '"a\\"b"')
    assert not admits(schema, '"caf\u00e9"')
    unbounded = grammar_for_format({"type": "string"})
    assert unbounded.max_chars == DEFAULT_STRING_MAX + 2


def test_integer_ranges_enums_consts_booleans_null() -> None:
    assert admits({"type": "integer", "minimum": 1, "maximum": 12}, "12")
    assert not admits({"type": "integer", "minimum": 1, "maximum": 12}, "13")
    assert admits({"type": "integer"}, "-42")
    assert not admits({"type": "integer", "minimum": 0}, "-1")
    assert admits({"enum": ["red", 3, None]}, "null")
    assert not admits({"enum": ["red", 3, None]}, '"blue"')
    assert admits({"const": {"a": 1}}, '{"a":1}')
    assert admits({"type": "boolean"}, "false")
    assert admits({"type": ["string", "null"]}, "null")


def test_arrays_respect_item_bounds() -> None:
    schema = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}
    assert admits(schema, "[1,2,3]")
    assert not admits(schema, "[]")
    assert not admits(schema, "[1,2,3,4]")
    assert not admits(schema, "[1, 2]")


def test_refs_any_of_and_nested_objects() -> None:
    schema = {
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        "type": "object",
        "properties": {
            "p": {"$ref": "#/$defs/Point"},
            "v": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 3}]},
        },
    }
    assert admits(schema, '{"p":{"x":3},"v":"abc"}')
    assert admits(schema, '{"p":{"x":3},"v":7}')
    assert not admits(schema, '{"p":{"x":"3"},"v":7}')


def test_json_format_is_a_bounded_object() -> None:
    assert admits("json", '{"a":1,"b":"x","c":[true,null]}')
    assert admits("json", "{}")
    assert not admits("json", "[1]")
    assert not admits("json", '{"a": 1}')
    assert grammar_for_format("json").max_chars < 4096


@pytest.mark.parametrize("fmt", [QA, "json", {"type": "array", "items": {"type": "string"}}])
def test_budget_shrinks_default_strings_until_output_fits(fmt: object) -> None:
    full = grammar_for_format(fmt)  # type: ignore[arg-type]
    fitted = grammar_for_format(fmt, budget=64)  # type: ignore[arg-type]
    assert fitted.string_max < full.string_max
    floor = grammar_for_format(fmt, string_max=MIN_STRING_MAX)  # type: ignore[arg-type]
    assert fitted.max_chars <= max(64, floor.max_chars)
    assert fitted.string_max >= MIN_STRING_MAX


def test_budget_fit_is_tight_for_qa() -> None:
    fitted = grammar_for_format(QA, budget=64)
    assert fitted.max_chars <= 64
    assert grammar_for_format(QA, string_max=fitted.string_max + 1).max_chars > 64


def test_tiny_budget_keeps_useful_strings_and_reports_the_real_length() -> None:
    fitted = grammar_for_format(QA, budget=8)
    assert fitted.string_max == MIN_STRING_MAX
    assert fitted.max_chars > 8  # the caller raises num_predict to this so the JSON closes


def test_max_chars_is_an_upper_bound() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "maxLength": 4}}}
    longest = '{"s":"abcd"}'
    grammar = grammar_for_format(schema)
    assert admits(schema, longest)
    assert grammar.max_chars == len(longest)


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"type": "string", "pattern": "^a$"}, "pattern"),
        ({"type": "array", "uniqueItems": True}, "uniqueItems"),
        ({"type": "number", "exclusiveMinimum": 0}, "exclusiveMinimum"),
        ({"$ref": "https://example.com/s.json"}, "local $ref"),
        ({"$ref": "#/$defs/Missing"}, "does not resolve"),
        ({"type": "object", "required": ["a"], "properties": {}}, "required"),
        ({"type": "uuid"}, "unknown JSON Schema type"),
        ({"type": "string", "maxLength": -1}, "maxLength"),
    ],
)
def test_unsupported_schemas_fail_loud_naming_the_keyword(schema: dict, keyword: str) -> None:
    with pytest.raises(GrammarError, match=re.escape(keyword)) as info:
        grammar_for_format(schema)
    assert "(at $" in str(info.value)


def test_recursive_refs_are_rejected_not_looped() -> None:
    schema = {
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
        "$ref": "#/$defs/Node",
    }
    with pytest.raises(GrammarError, match="recursive"):
        grammar_for_format(schema)


def test_invalid_format_value() -> None:
    with pytest.raises(GrammarError, match="must be"):
        grammar_for_format("yaml")


def test_literal_escapes_quotes_backslashes_newlines() -> None:
    assert literal('a"b\\c\n') == '"a\\"b\\\\c\\n"'


@pytest.mark.parametrize(
    "fmt",
    [
        QA,
        "json",
        {"type": "array", "items": {"type": "string", "maxLength": 0}, "maxItems": 1},
        {"enum": ["a/b", "[x]"]},
    ],
)
def test_admits_agrees_with_the_independent_expansion(fmt: object) -> None:
    grammar = grammar_for_format(fmt)  # type: ignore[arg-type]
    independent = _to_regex(grammar.gbnf)
    for text in ('{"answer":"Paris","confidence":0.75}', '{"a":1}', "{}", '[""]', "[]"):
        assert grammar.admits(text) == (independent.fullmatch(text) is not None), text
    for text in ('[""]', '"a/b"', '"[x]"'):
        assert grammar.admits(text) == (independent.fullmatch(text) is not None), text


def test_lark_form_for_llguidance() -> None:
    lark = grammar_for_format(QA).lark
    lines = lark.splitlines()
    assert lines[:3] == ["%llguidance {}", "start: root", "root: obj"]
    # Character classes become regexes with '[' escaped (Rust regex would nest it).
    assert "char: /[ !#-\\[\\]-~]/" in lines
    assert 'obj: "{" "\\"answer\\":" "\\"" char{0,200} "\\""' in lark


def test_lark_drops_zero_repetitions_llguidance_rejects() -> None:
    fmt = {"type": "array", "items": {"type": "string", "maxLength": 0}, "maxItems": 1}
    lark = grammar_for_format(fmt).lark
    assert "{0,0}" not in lark
    assert 'item: "\\"" "\\""' in lark.splitlines()
    assert 'arr: "[" ( item )? "]"' in lark.splitlines()
