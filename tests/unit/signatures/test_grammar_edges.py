"""Edge cases of the string grammar: hex escapes with bad digits, newlines inside string
literals, `True`/`False` literals, stray operators after a field, and the exact wording of
the dict-key and unknown-type errors (including the alias suggestions)."""

from __future__ import annotations

import pytest

from kaizen.errors import SignatureParseError
from kaizen.signatures import Signature
from kaizen.signatures.grammar import parse

_NOT_A_LITERAL = "expected a literal (quoted string, integer, True or False), found"


def _parse_error(text: str) -> tuple[int, str]:
    with pytest.raises(SignatureParseError) as info:
        Signature.from_string(text)
    assert info.value.text == text
    return info.value.position, info.value.reason


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        # \x, \u and \U need exactly 2, 4 and 8 hex digits before the string goes on.
        (r"a -> b: Literal['\xZZ']", 17, r"invalid escape '\\x' in string"),
        (r"a -> b: Literal['\x4']", 17, r"invalid escape '\\x' in string"),
        (r"a -> b: Literal['\x4", 17, r"invalid escape '\\x' in string"),
        (r"a -> b: Literal['\u12g4']", 17, r"invalid escape '\\u' in string"),
        (r"a -> b: Literal['\U0001F60']", 17, r"invalid escape '\\U' in string"),
        # A string literal ends at the end of its line.
        ("a -> b: Literal['x\ny']", 16, "unterminated string literal"),
        ('a -> b: Literal["x\n"]', 16, "unterminated string literal"),
        # Only True and False (capitalised) are boolean literals.
        ("a -> b: Literal[false]", 16, f"{_NOT_A_LITERAL} 'false'"),
        ("a -> b: Literal[FALSE]", 16, f"{_NOT_A_LITERAL} 'FALSE'"),
        ("a -> b: Literal[true]", 16, f"{_NOT_A_LITERAL} 'true'"),
        # An operator after a field that is not '?' is reported as what it is.
        ("a ] -> b", 2, "expected ',' or '->', found ']'"),
        ("a: int [ -> b", 7, "expected ',' or '->', found '['"),
        ("a -> b ]", 7, "expected ',' or end of signature, found ']'"),
        ("a -> b: int :", 12, "expected ',' or end of signature, found ':'"),
        ("a -> b | None", 7, "expected ',' or end of signature, found '|'"),
        ("a -> b?", 6, "'?' must follow a type: write 'name: str?'"),
        # dict keys
        ("a -> b: dict[int, str]", 13, "dict keys must be str (JSON object keys)"),
        ("a -> b: dict[, str]", 13, "dict keys must be str (JSON object keys)"),
        # unknown types: an alias is suggested even when it is not spelled alike
        ("a -> b: text", 8, "unknown type 'text' (did you mean 'str'?)"),
        ("a -> b: number", 8, "unknown type 'number' (did you mean 'float'?)"),
        ("a -> b: double", 8, "unknown type 'double' (did you mean 'float'?)"),
        ("a -> b: array", 8, "unknown type 'array' (did you mean 'list'?)"),
        ("a -> b: object", 8, "unknown type 'object' (did you mean 'dict'?)"),
        ("a -> b: boolean", 8, "unknown type 'boolean' (did you mean 'bool'?)"),
        ("a -> b: integr", 8, "unknown type 'integr' (did you mean 'int'?)"),
        ("a -> b: Optinal[int]", 8, "unknown type 'Optinal' (did you mean 'Optional'?)"),
        (
            "a -> b: blob",
            8,
            "unknown type 'blob'; expected one of str, int, float, bool, list, dict, Literal, "
            "Optional",
        ),
    ],
)
def test_malformed_signature_exact_reason(text: str, position: int, reason: str) -> None:
    assert _parse_error(text) == (position, reason)


@pytest.mark.parametrize(
    ("literal_text", "values"),
    [
        ("True, False", (True, False)),
        ("False", (False,)),
        ("False, 0, 'False'", (False, 0, "False")),
        (r"'\x41\x7a'", ("Az",)),
        (r"'\u00E9\U0001f600'", ("é😀",)),
    ],
)
def test_literal_values(literal_text: str, values: tuple[object, ...]) -> None:
    (field,) = parse(f"a -> b: Literal[{literal_text}]").outputs
    assert field.type.values == values
    assert [type(v) for v in field.type.values] == [type(v) for v in values]
