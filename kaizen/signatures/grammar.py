r"""The one grammar of string signatures: a hand-written tokenizer and recursive-descent parser.

    signature   = [ fields ] "->" fields ;
    fields      = field { "," field } ;
    field       = name [ ":" type ] ;                 (* no type means str *)
    type        = primary [ "?" | "|" "None" ] ;      (* both mean Optional[primary] *)
    primary     = "str" | "int" | "float" | "bool"
                | "list" "[" type "]"
                | "dict" [ "[" "str" "," type "]" ]
                | "Literal" "[" literal { "," literal } "]"
                | "Optional" "[" type "]" ;
    literal     = string | integer | "True" | "False" ;
    name        = identifier ;                        (* a Python identifier, see below *)
    string      = "'" { char } "'" | '"' { char } '"' ;   (* Python escapes: \\ \' \" \n \r
                                                             \t \0 \xhh \uhhhh \Uhhhhhhhh *)
    integer     = [ "-" ] digit { digit } ;

Whitespace between tokens is ignored. A name must be a Python identifier that is not a
keyword, does not start with "_" and is not "compile" or "from_string". Names are unique
across both sides; at least one output is required, inputs may be empty (`"-> joke"`).

Examples: `"question, context -> answer, confidence: float"`,
`"items: list[str] -> summary"`, `"text -> label: Literal['pos', 'neg'], score: float?"`.

Every malformed string raises `SignatureParseError(text, position, reason)` with the 0-based
position of the offending token (the end of the text for a missing part).
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

from kaizen.errors import SignatureParseError
from kaizen.signatures.fields import name_problem
from kaizen.signatures.typespec import (
    DICT_T,
    SCALAR_SPECS,
    STR_T,
    TypeSpec,
    dict_of,
    list_of,
    literal,
    optional,
)

# token kinds
NAME: Final = "name"
STRING: Final = "string"
INT: Final = "integer"
OP: Final = "op"
END: Final = "end"

_OPS = frozenset(",:[]?|")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "0": "\0"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_HEX = frozenset("0123456789abcdefABCDEF")
TYPE_NAMES: Final = ("str", "int", "float", "bool", "list", "dict", "Literal", "Optional")
_TYPE_ALIASES = {
    "string": "str",
    "text": "str",
    "integer": "int",
    "number": "float",
    "double": "float",
    "boolean": "bool",
    "List": "list",
    "array": "list",
    "Dict": "dict",
    "object": "dict",
    "literal": "Literal",
    "optional": "Optional",
}


class Token(NamedTuple):
    kind: str
    value: Any
    pos: int


class ParsedField(NamedTuple):
    name: str
    type: TypeSpec
    pos: int


class ParsedSignature(NamedTuple):
    inputs: tuple[ParsedField, ...]
    outputs: tuple[ParsedField, ...]


_NAME_RE = re.compile(r"[^\W\d]\w*")  # one identifier token; the grammar itself is below
_INT_RE = re.compile(r"-?[0-9]+")
_new_token = tuple.__new__  # NamedTuple's own __new__ is a Python-level call


def tokenize(text: str) -> list[Token]:
    """Tokens of `text`, ending with an END token at `len(text)`."""
    tokens: list[Token] = []
    append = tokens.append
    name_at, int_at = _NAME_RE.match, _INT_RE.match
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\n\r" or ch.isspace():
            i += 1
            continue
        if ch in _OPS:
            append(_new_token(Token, (OP, ch, i)))
            i += 1
            continue
        match = name_at(text, i)
        if match is not None:
            append(_new_token(Token, (NAME, match.group(), i)))
            i = match.end()
            continue
        if ch == "-" and text.startswith("->", i):
            append(_new_token(Token, (OP, "->", i)))
            i += 2
            continue
        match = int_at(text, i)
        if match is not None:
            append(_new_token(Token, (INT, int(match.group()), i)))
            i = match.end()
        elif ch in "'\"":
            value, i_next = _string(text, i)
            append(_new_token(Token, (STRING, value, i)))
            i = i_next
        else:
            raise SignatureParseError(text, i, _bad_char(text, i))
    append(_new_token(Token, (END, None, n)))
    return tokens


def _bad_char(text: str, i: int) -> str:
    ch = text[i]
    if text.startswith("=>", i) or ch in "→⇒":
        return f"unexpected {'=>' if ch == '=' else ch!r} (write '->')"
    return f"unexpected character {ch!r}"


def _string(text: str, start: int) -> tuple[str, int]:
    """A quoted literal starting at `start`: (its value, index after the closing quote)."""
    quote = text[start]
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            code = text[i + 1 : i + 2]
            if code in _ESCAPES:
                out.append(_ESCAPES[code])
                i += 2
                continue
            width = _HEX_ESCAPES.get(code)
            digits = text[i + 2 : i + 2 + width] if width else ""
            if width and len(digits) == width and all(c in _HEX for c in digits):
                out.append(chr(int(digits, 16)))
                i += 2 + width
                continue
            raise SignatureParseError(text, i, f"invalid escape {text[i : i + 2]!r} in string")
        if ch == "\n":
            break
        out.append(ch)
        i += 1
    raise SignatureParseError(text, start, "unterminated string literal")


def _describe(token: Token) -> str:
    if token.kind == END:
        return "end of signature"
    if token.kind == STRING:
        return f"string {token.value!r}"
    return repr(str(token.value))


class _Parser:
    __slots__ = ("i", "text", "tokens")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- helpers ---------------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.i]

    def at(self, op: str) -> bool:
        token = self.tokens[self.i]
        return token.kind == OP and token.value == op

    def error(self, token: Token | int, reason: str) -> SignatureParseError:
        pos = token if isinstance(token, int) else token.pos
        return SignatureParseError(self.text, pos, reason)

    def expect(self, op: str) -> Token:
        token = self.tokens[self.i]
        if token.kind != OP or token.value != op:
            raise self.error(token, f"expected {op!r}, found {_describe(token)}")
        self.i += 1
        return token

    # -- signature -------------------------------------------------------------------------

    def signature(self) -> ParsedSignature:
        if not self.text.strip():
            raise self.error(0, "empty signature")
        inputs: list[ParsedField] = []
        if not self.at("->"):
            self.fields(inputs, None)
            token = self.peek()
            if token.kind == END:
                raise self.error(token, "missing '->'")
            if not self.at("->"):
                raise self.error(token, self._after_field(token, "',' or '->'"))
        self.i += 1  # '->'
        if self.peek().kind == END:
            raise self.error(self.peek(), "expected an output field after '->'")
        outputs: list[ParsedField] = []
        self.fields(outputs, {f.name for f in inputs})
        token = self.peek()
        if self.at("->"):
            raise self.error(token, "more than one '->'")
        if token.kind != END:
            raise self.error(token, self._after_field(token, "',' or end of signature"))
        return ParsedSignature(tuple(inputs), tuple(outputs))

    def _after_field(self, token: Token, wanted: str) -> str:
        if token.kind == OP and token.value == "?":
            if self.tokens[self.i - 1].value == "?":
                return "repeated '?' (the type is already optional)"
            return "'?' must follow a type: write 'name: str?'"
        return f"expected {wanted}, found {_describe(token)}"

    def fields(self, out: list[ParsedField], input_names: set[str] | None) -> None:
        while True:
            out.append(self.field(out, input_names))
            if not self.at(","):
                return
            self.i += 1

    def field(self, side: list[ParsedField], input_names: set[str] | None) -> ParsedField:
        token = self.peek()
        if token.kind != NAME:
            raise self.error(token, f"expected identifier, found {_describe(token)}")
        name: str = token.value
        problem = name_problem(name)
        if problem:
            raise self.error(token, problem)
        if any(f.name == name for f in side):
            raise self.error(token, f"duplicate field {name!r}")
        if input_names is not None and name in input_names:
            raise self.error(token, f"field {name!r} is both an input and an output")
        self.i += 1
        spec = STR_T
        if self.at(":"):
            self.i += 1
            spec = self.type()
        return ParsedField(name, spec, token.pos)

    # -- types -----------------------------------------------------------------------------

    def type(self) -> TypeSpec:
        spec = self.primary()
        if self.at("?"):
            self.i += 1
            return optional(spec)
        if self.at("|"):
            self.i += 1
            token = self.peek()
            if token.kind != NAME or token.value != "None":
                raise self.error(token, "only 'T | None' unions are supported")
            self.i += 1
            return optional(spec)
        return spec

    def primary(self) -> TypeSpec:
        token = self.peek()
        if token.kind != NAME:
            raise self.error(token, f"expected a type, found {_describe(token)}")
        self.i += 1
        name: str = token.value
        scalar = SCALAR_SPECS.get(name)
        if scalar is not None:
            return scalar
        if name == "list":
            if not self.at("["):
                raise self.error(token, "list needs an element type, e.g. list[str]")
            self.i += 1
            item = self.type()
            self.expect("]")
            return list_of(item)
        if name == "dict":
            if not self.at("["):
                return DICT_T
            self.i += 1
            key = self.peek()
            if key.kind != NAME or key.value != "str":
                raise self.error(key, "dict keys must be str (JSON object keys)")
            self.i += 1
            self.expect(",")
            value = self.type()
            self.expect("]")
            return dict_of(value)
        if name == "Literal":
            self.expect("[")
            values = [self.literal()]
            while self.at(","):
                self.i += 1
                values.append(self.literal())
            self.expect("]")
            return literal(tuple(values))
        if name == "Optional":
            self.expect("[")
            inner = self.type()
            self.expect("]")
            return optional(inner)
        raise self.error(token, _unknown_type(name))

    def literal(self) -> Any:
        token = self.peek()
        self.i += 1
        if token.kind in (STRING, INT):
            return token.value
        if token.kind == NAME and token.value in ("True", "False"):
            return token.value == "True"
        raise self.error(
            token,
            f"expected a literal (quoted string, integer, True or False), found {_describe(token)}",
        )


def _unknown_type(name: str) -> str:
    if name == "None":
        return "'None' is only allowed as 'T | None' (or write 'T?')"
    suggestion = _TYPE_ALIASES.get(name)
    if suggestion is None:
        import difflib  # error path only: keeps the import of this module cheap

        close = difflib.get_close_matches(name, TYPE_NAMES, n=1, cutoff=0.6)
        suggestion = close[0] if close else None
    if suggestion is not None:
        return f"unknown type {name!r} (did you mean {suggestion!r}?)"
    return f"unknown type {name!r}; expected one of {', '.join(TYPE_NAMES)}"


def parse(text: str) -> ParsedSignature:
    """Parse a signature string; SignatureParseError with position and reason if malformed."""
    return _Parser(text).signature()


def parse_type(text: str) -> TypeSpec:
    """Parse a lone type expression (`list[str]`, `int | None`, ...)."""
    parser = _Parser(text)
    spec = parser.type()
    token = parser.peek()
    if token.kind != END:
        raise parser.error(token, f"unexpected {_describe(token)} after the type")
    return spec
