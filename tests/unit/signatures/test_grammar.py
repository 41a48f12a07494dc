"""The string grammar: what parses to what, and where and why malformed strings fail."""

import pytest

from kaizen.errors import SignatureError, SignatureParseError
from kaizen.signatures import Signature, parse_signature
from kaizen.signatures.grammar import parse, parse_type, tokenize


def _types(text: str) -> tuple[list[str], list[str]]:
    parsed = parse(text)
    return (
        [f"{f.name}: {f.type}" for f in parsed.inputs],
        [f"{f.name}: {f.type}" for f in parsed.outputs],
    )


@pytest.mark.parametrize(
    ("text", "inputs", "outputs"),
    [
        ("question -> answer", ["question: str"], ["answer: str"]),
        (
            "question, context -> answer, confidence: float",
            ["question: str", "context: str"],
            ["answer: str", "confidence: float"],
        ),
        ("items: list[str] -> summary", ["items: list[str]"], ["summary: str"]),
        (
            "text -> label: Literal['pos', 'neg'], score: float?",
            ["text: str"],
            ["label: Literal['pos', 'neg']", "score: float?"],
        ),
        ("a -> b: Optional[int]", ["a: str"], ["b: int?"]),
        ("a -> b: int | None", ["a: str"], ["b: int?"]),
        ("a -> b: Optional[int]?", ["a: str"], ["b: int?"]),  # Optional is idempotent
        ("a -> b: dict", ["a: str"], ["b: dict"]),
        ("a -> b: dict[str, list[int?]]", ["a: str"], ["b: dict[str, list[int?]]"]),
        ("a -> b: bool, c: int", ["a: str"], ["b: bool", "c: int"]),
        ("-> joke", [], ["joke: str"]),
        ("  a  ->  b  ", ["a: str"], ["b: str"]),
        ("a->b", ["a: str"], ["b: str"]),
        ('a -> b: Literal[-1, 0, True, "x"]', ["a: str"], ["b: Literal[-1, 0, True, 'x']"]),
        ("a -> b: Literal['a', 'a', 'b']", ["a: str"], ["b: Literal['a', 'b']"]),
        ("frage -> antwort_1", ["frage: str"], ["antwort_1: str"]),
        ("données -> résumé", ["données: str"], ["résumé: str"]),
    ],
)
def test_valid_signatures(text: str, inputs: list[str], outputs: list[str]) -> None:
    assert _types(text) == (inputs, outputs)


@pytest.mark.parametrize(
    ("literal_text", "value"),
    [
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'a\nb'", "a\nb"),
        (r"'\x41\u00e9\U0001F600'", "Aé😀"),
        (r"'back\\slash'", "back\\slash"),
        ("'→ unicode'", "→ unicode"),
    ],
)
def test_string_literal_escapes(literal_text: str, value: str) -> None:
    (field,) = parse(f"a -> b: Literal[{literal_text}]").outputs
    assert field.type.values == (value,)


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "empty signature"),
        ("   ", 0, "empty signature"),
        ("question, answer", 16, "missing '->'"),
        ("question", 8, "missing '->'"),
        (", a -> b", 0, "expected identifier, found ','"),
        ("a, -> b", 3, "expected identifier, found '->'"),
        ("a ->", 4, "expected an output field after '->'"),
        ("a -> b,", 7, "expected identifier, found end of signature"),
        ("a b -> c", 2, "expected ',' or '->', found 'b'"),
        ("a -> b c", 7, "expected ',' or end of signature, found 'c'"),
        ("a -> b -> c", 7, "more than one '->'"),
        ("a -> b: flot", 8, "unknown type 'flot' (did you mean 'float'?)"),
        ("a -> b: string", 8, "unknown type 'string' (did you mean 'str'?)"),
        ("a -> b: List[str]", 8, "unknown type 'List' (did you mean 'list'?)"),
        ("a -> b: widget", 8, "unknown type 'widget'; expected one of str, int"),
        ("a -> b: None", 8, "'None' is only allowed as 'T | None'"),
        ("a -> b:", 7, "expected a type, found end of signature"),
        ("a: -> b", 3, "expected a type, found '->'"),
        ("a -> b: list", 8, "list needs an element type, e.g. list[str]"),
        ("a -> b: list[str", 16, "expected ']', found end of signature"),
        ("a -> b: dict[int, str]", 13, "dict keys must be str"),
        ("a -> b: dict[str]", 16, "expected ',', found ']'"),
        ("a -> b: Literal[]", 16, "expected a literal (quoted string, integer, True or False)"),
        ("a -> b: Literal['x', y]", 21, "expected a literal"),
        ("a -> b: Literal", 15, "expected '[', found end of signature"),
        ("a -> b: int | str", 14, "only 'T | None' unions are supported"),
        ("a -> b: int??", 12, "repeated '?' (the type is already optional)"),
        ("a? -> b", 1, "'?' must follow a type: write 'name: str?'"),
        ("a, a -> b", 3, "duplicate field 'a'"),
        ("a -> b, b", 8, "duplicate field 'b'"),
        ("a -> a", 5, "field 'a' is both an input and an output"),
        ("class -> b", 0, "'class' is a Python keyword and cannot be a field name"),
        ("a -> compile", 5, "field name 'compile' is reserved"),
        ("_a -> b", 0, "field name '_a' must not start with '_'"),
        ("1a -> b", 0, "expected identifier, found '1'"),
        ("a$ -> b", 1, "unexpected character '$'"),
        ("a => b", 2, "unexpected '=>' (write '->')"),
        ("a → b", 2, "unexpected '→' (write '->')"),
        ("a - b", 2, "unexpected character '-'"),
        ("a -> b: Literal['x]", 16, "unterminated string literal"),
        ("a -> b: Literal['x\\q']", 18, "invalid escape '\\\\q' in string"),
        ("a -> b: Literal[1.5]", 17, "unexpected character '.'"),
    ],
)
def test_malformed_signatures_report_position_and_reason(
    text: str, position: int, reason: str
) -> None:
    with pytest.raises(SignatureParseError) as info:
        Signature.from_string(text)
    error = info.value
    assert (error.position, error.text) == (position, text)
    assert error.reason.startswith(reason), error.reason
    assert isinstance(error, SignatureError)


def test_parse_error_message_points_a_caret_at_the_position() -> None:
    with pytest.raises(SignatureParseError) as info:
        parse("a -> b: flot")
    assert str(info.value).endswith("  a -> b: flot\n          ^")


def test_non_string_signature_is_a_signature_error() -> None:
    with pytest.raises(SignatureError, match="must be a str, got int"):
        Signature.from_string(42)  # type: ignore[arg-type]


def test_tokenizer_ends_with_end_token_at_text_length() -> None:
    tokens = tokenize("a: list[int] -> b")
    assert [t.value for t in tokens] == ["a", ":", "list", "[", "int", "]", "->", "b", None]
    assert tokens[-1].pos == len("a: list[int] -> b")


def test_parse_type_rejects_trailing_tokens() -> None:
    assert str(parse_type("list[int]")) == "list[int]"
    with pytest.raises(SignatureParseError, match="unexpected 'x' after the type"):
        parse_type("int x")


def test_from_string_is_cached_and_named() -> None:
    first = Signature.from_string("q -> a")
    assert Signature.from_string("q -> a") is first
    assert first.__name__ == "StringSignature"
    assert issubclass(first, Signature)
    named = parse_signature("q -> a", "Answer briefly.", name="Brief")
    assert named is not first
    assert named.__name__ == "Brief"
    assert named.compile().instructions == "Answer briefly."


def test_string_signature_has_python_annotations() -> None:
    sig = Signature.from_string("q: list[int] -> a: float?")
    assert sig.__annotations__["q"] == list[int]
    assert sig.__annotations__["a"] == (float | None)
