"""JSON Schema (or Ollama's ``"json"``) to a GBNF grammar for constrained decoding.

Why not llama.cpp's own converter: it allows free whitespace between tokens, and a 270M
model loops on that whitespace until it runs out of tokens. This grammar leaves no free
whitespace, bounds every string (``maxLength`` or a default), every array (``maxItems`` or a
default) and every number's digits, and restricts string characters to printable ASCII so
that one token always yields at least one character. Together that gives a hard upper bound
on the output length in characters (``Grammar.max_chars``), hence in tokens: with
``n_predict >= max_chars`` every response closes and validates.

The grammar is built as GBNF (the readable, tested form) and handed to llama.cpp in
llguidance's Lark syntax (``Grammar.lark``, the same language): llama.cpp's GBNF sampler
re-checks the whole 262k-token Gemma vocabulary, one token at a time, whenever the model's
first choice breaks the grammar, which doubled the time per token; llguidance computes the
allowed set from a token trie in well under a millisecond. llama.cpp drops an llguidance
grammar it cannot use with only a log line, so the engine checks every constrained output
against ``Grammar.admits`` and fails loud instead of returning unconstrained text.

Keywords the grammar cannot enforce (``pattern``, ``uniqueItems``, numeric bounds it cannot
express, ...) raise ``GrammarError`` naming keyword and path: a 400 beats silent invalidity.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tests.utils.errors import ToolkitError

DEFAULT_STRING_MAX = 200
# Never shrink default string bounds below this to fit a token budget: a 1-character answer
# is useless; the caller raises its token limit to ``max_chars`` instead.
MIN_STRING_MAX = 16
DEFAULT_ARRAY_MAX = 8
GENERIC_OBJECT_MAX_MEMBERS = 8
GENERIC_KEY_MAX = 24
GENERIC_STRING_MAX = 64
GENERIC_ARRAY_MAX = 4
INT_DIGITS = 12
FRACTION_DIGITS = 4
MAX_ENUMERATED_INTS = 1000
MAX_REF_DEPTH = 8

# Printable ASCII without '"' (0x22) and '\' (0x5C): no escapes, one char per token minimum.
_CHAR = r"[ !#-[\]-~]"

# Keywords that only annotate: safe to ignore.
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$schema",
        "$id",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "$defs",
        "definitions",
        "additionalProperties",
        "required",
        "nullable",
    }
)
_UNSUPPORTED = (
    "pattern",
    "patternProperties",
    "uniqueItems",
    "prefixItems",
    "contains",
    "not",
    "if",
    "dependentRequired",
    "dependentSchemas",
    "propertyNames",
    "multipleOf",
    "unevaluatedProperties",
    "minProperties",
    "maxProperties",
)


class GrammarError(ToolkitError, ValueError):
    """The schema cannot be turned into a grammar that guarantees a valid response."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        # A tool's parameters are walked from "tools[i]...", a format from "$".
        prefix = "" if path.startswith("tools[") else "format: "
        super().__init__(f"{prefix}{message} (at {path})")


@dataclass(frozen=True)
class Grammar:
    """A GBNF grammar plus the longest output (in characters) it admits."""

    gbnf: str
    max_chars: int
    string_max: int

    @cached_property
    def lark(self) -> str:
        """The grammar for llama.cpp's llguidance sampler."""
        return to_lark(self.gbnf)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The grammar as a Python regular expression (our grammars are not recursive)."""
        return to_regex(self.gbnf)

    def admits(self, text: str) -> bool:
        """Whether ``text`` is in the grammar's language."""
        return self.pattern.fullmatch(text) is not None


def literal(text: str) -> str:
    """A GBNF string literal for ``text``."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)


@dataclass
class _Builder:
    root_schema: dict[str, Any]
    string_max: int
    rules: dict[str, str] = field(default_factory=dict)
    _by_body: dict[str, str] = field(default_factory=dict)

    def rule(self, base: str, body: str) -> str:
        """Name a rule body (identical bodies share one rule)."""
        if body in self._by_body:
            return self._by_body[body]
        name = base
        n = 1
        while name in self.rules:
            n += 1
            name = f"{base}{n}"
        self.rules[name] = body
        self._by_body[body] = name
        return name

    def grammar(self, root: str, length: int) -> Grammar:
        lines = [f"root ::= {root}"] + [f"{name} ::= {body}" for name, body in self.rules.items()]
        return Grammar("\n".join(lines) + "\n", length, self.string_max)

    def format_value(self, fmt: str | dict[str, Any] | None) -> tuple[str, int]:
        """A ``format`` value: ``"json"``, a schema, or (None) a plain string."""
        if fmt is None:
            return self.string({}, "$", 0)
        if fmt == "json":
            return self.generic_object("$")
        if not isinstance(fmt, dict):
            raise GrammarError("$", f'must be "json" or a JSON Schema object, got {fmt!r}')
        self.root_schema = fmt
        return self.visit(fmt, "$")

    # -- dispatch -----------------------------------------------------------------------
    def visit(self, schema: Any, path: str, ref_depth: int = 0) -> tuple[str, int]:
        if schema is True or schema == {}:
            return self.generic_value(path)
        if not isinstance(schema, dict):
            raise GrammarError(path, f"a schema must be an object, got {type(schema).__name__}")
        for keyword in _UNSUPPORTED:
            if keyword in schema:
                raise GrammarError(path, f"JSON Schema keyword {keyword!r} is not supported")
        if "$ref" in schema:
            return self.ref(schema, path, ref_depth)
        if "const" in schema:
            text = _compact(schema["const"])
            return literal(text), len(text)
        if "enum" in schema:
            return self.enum(schema["enum"], path)
        for combinator in ("anyOf", "oneOf"):
            if combinator in schema:
                return self.alternatives(schema, combinator, path, ref_depth)
        if "allOf" in schema:
            parts = schema["allOf"]
            if not isinstance(parts, list) or len(parts) != 1:
                raise GrammarError(path, "'allOf' is supported with exactly one subschema")
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            merged.update(parts[0])
            return self.visit(merged, path, ref_depth)
        kind = schema.get("type")
        if kind is None:
            if "properties" in schema:
                kind = "object"
            elif "items" in schema:
                kind = "array"
            else:
                return self.generic_value(path)
        if isinstance(kind, list):
            if not kind:
                raise GrammarError(path, "'type' must not be an empty list")
            options = [self.visit({**schema, "type": k}, path, ref_depth) for k in kind]
            return _alternation(options)
        handler = {
            "object": self.object,
            "array": self.array,
            "string": self.string,
            "integer": self.integer,
            "number": self.number,
            "boolean": lambda s, p, d: ('"true" | "false"', 5),
            "null": lambda s, p, d: ('"null"', 4),
        }.get(kind)
        if handler is None:
            raise GrammarError(path, f"unknown JSON Schema type {kind!r}")
        expr, length = handler(schema, path, ref_depth)
        return f"( {expr} )" if "|" in expr else expr, length

    def ref(self, schema: dict[str, Any], path: str, ref_depth: int) -> tuple[str, int]:
        ref = schema["$ref"]
        if ref_depth >= MAX_REF_DEPTH:
            raise GrammarError(path, f"$ref {ref!r} nests deeper than {MAX_REF_DEPTH} (recursive?)")
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise GrammarError(path, f"only local $ref ('#/...') is supported, got {ref!r}")
        target: Any = self.root_schema
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise GrammarError(path, f"$ref {ref!r} does not resolve")
            target = target[part]
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        resolved = {**target, **extra} if isinstance(target, dict) else target
        return self.visit(resolved, path, ref_depth + 1)

    def enum(self, values: Any, path: str) -> tuple[str, int]:
        if not isinstance(values, list) or not values:
            raise GrammarError(path, "'enum' must be a non-empty list")
        texts = [_compact(v) for v in values]
        return "( " + " | ".join(literal(t) for t in texts) + " )", max(map(len, texts))

    def alternatives(
        self, schema: dict[str, Any], combinator: str, path: str, ref_depth: int
    ) -> tuple[str, int]:
        branches = schema[combinator]
        if not isinstance(branches, list) or not branches:
            raise GrammarError(path, f"{combinator!r} must be a non-empty list")
        rest = {k: v for k, v in schema.items() if k != combinator}
        options = [
            self.visit(
                {**rest, **b} if isinstance(b, dict) else b, f"{path}/{combinator}/{i}", ref_depth
            )
            for i, b in enumerate(branches)
        ]
        return _alternation(options)

    # -- scalars ------------------------------------------------------------------------
    def string(self, schema: dict[str, Any], path: str, _d: int) -> tuple[str, int]:
        low = _nonneg_int(schema, "minLength", path, 0)
        high = _nonneg_int(schema, "maxLength", path, None)
        high = max(low, self.string_max) if high is None else high
        if high < low:
            raise GrammarError(path, f"maxLength {high} is below minLength {low}")
        char = self.rule("char", _CHAR)
        return f'"\\"" {char}{{{low},{high}}} "\\""', high + 2

    def integer(self, schema: dict[str, Any], path: str, _d: int) -> tuple[str, int]:
        low, high = _int_bounds(schema, path)
        if low is not None and high is not None and high - low <= MAX_ENUMERATED_INTS:
            if high < low:
                raise GrammarError(path, f"no integer between {low} and {high}")
            texts = [str(v) for v in range(low, high + 1)]
            name = self.rule("int-range", " | ".join(literal(t) for t in texts))
            return name, max(map(len, texts))
        if high is not None and high < 0:
            raise GrammarError(path, "a negative 'maximum' is only supported with a 'minimum'")
        if low is not None and low > 0:
            raise GrammarError(path, "a positive 'minimum' is only supported with a 'maximum'")
        unsigned = self.rule("uint", f'"0" | [1-9] [0-9]{{0,{INT_DIGITS - 1}}}')
        if low is not None and low == 0 and high is None:
            return unsigned, INT_DIGITS
        if low is None and high is not None:
            raise GrammarError(path, "'maximum' without 'minimum' is not supported for integers")
        return f'"-"? {unsigned}', INT_DIGITS + 1

    def number(self, schema: dict[str, Any], path: str, _d: int) -> tuple[str, int]:
        for keyword in ("exclusiveMinimum", "exclusiveMaximum"):
            if keyword in schema:
                raise GrammarError(path, f"{keyword!r} is not supported for numbers")
        low = _number(schema, "minimum", path)
        high = _number(schema, "maximum", path)
        frac = self.rule("frac", f'"." [0-9]{{1,{FRACTION_DIGITS}}}')
        unsigned = self.rule("uint", f'"0" | [1-9] [0-9]{{0,{INT_DIGITS - 1}}}')
        if low is None and high is None:
            return f'"-"? {unsigned} {frac}?', INT_DIGITS + 2 + FRACTION_DIGITS
        if low is None or low != int(low) or low < 0:
            raise GrammarError(
                path, "number bounds are supported as an integer 'minimum' >= 0 (plus 'maximum')"
            )
        if high is None:
            return f"{unsigned} {frac}?", INT_DIGITS + 1 + FRACTION_DIGITS
        if high != int(high) or high - low > MAX_ENUMERATED_INTS or high < low:
            raise GrammarError(path, "number 'maximum' must be an integer within 1000 of 'minimum'")
        below = [str(v) for v in range(int(low), int(high))]
        zeros = self.rule("zeros", f'"." "0"{{1,{FRACTION_DIGITS}}}')
        top = f"{literal(str(int(high)))} {zeros}?"
        if not below:
            return f"( {top} )", len(str(int(high))) + 1 + FRACTION_DIGITS
        ints = self.rule("num-int", " | ".join(literal(t) for t in below))
        longest = max(len(str(int(high))), *map(len, below)) + 1 + FRACTION_DIGITS
        return f"( {ints} {frac}? | {top} )", longest

    # -- containers ---------------------------------------------------------------------
    def object(self, schema: dict[str, Any], path: str, ref_depth: int) -> tuple[str, int]:
        props = schema.get("properties")
        required = schema.get("required", [])
        if props is None:
            if schema.get("additionalProperties") is False:
                return '"{}"', 2
            if required:
                raise GrammarError(path, "'required' without 'properties' is not supported")
            return self.generic_object(path)
        if not isinstance(props, dict):
            raise GrammarError(path, "'properties' must be an object")
        missing = [r for r in required if r not in props]
        if missing:
            raise GrammarError(
                path, f"required properties {missing} have no schema in 'properties'"
            )
        if not props:
            return '"{}"', 2
        parts: list[str] = []
        length = 2 + len(props) - 1
        for i, (key, sub) in enumerate(props.items()):
            expr, sub_len = self.visit(sub, f"{path}/properties/{key}", ref_depth)
            key_text = _compact(str(key)) + ":"
            prefix = ("," if i else "") + key_text
            parts.append(f"{literal(prefix)} {expr}")
            length += len(key_text) + sub_len
        body = '"{" ' + " ".join(parts) + ' "}"'
        return self.rule("obj", body), length

    def array(self, schema: dict[str, Any], path: str, ref_depth: int) -> tuple[str, int]:
        low = _nonneg_int(schema, "minItems", path, 0)
        high = _nonneg_int(schema, "maxItems", path, None)
        high = max(low, DEFAULT_ARRAY_MAX) if high is None else high
        if high < low:
            raise GrammarError(path, f"maxItems {high} is below minItems {low}")
        items = schema.get("items", True)
        if high == 0:
            return '"[]"', 2
        expr, item_len = self.visit(items, f"{path}/items", ref_depth)
        item = self.rule("item", expr)
        return self.rule("arr", _repeat(item, low, high)), 2 + high * item_len + (high - 1)

    # -- untyped JSON -------------------------------------------------------------------
    def generic_scalar(self) -> tuple[str, int]:
        string, s_len = self.string({"maxLength": min(self.string_max, GENERIC_STRING_MAX)}, "", 0)
        number, n_len = self.number({}, "", 0)
        body = f'{string} | {number} | "true" | "false" | "null"'
        return self.rule("scalar", body), max(s_len, n_len, 5)

    def generic_value(self, _path: str) -> tuple[str, int]:
        """Any JSON value, bounded: a scalar, or a flat array or object of scalars."""
        scalar, s_len = self.generic_scalar()
        arr_len = 2 + GENERIC_ARRAY_MAX * s_len + GENERIC_ARRAY_MAX - 1
        arr = self.rule("flat-arr", _repeat(scalar, 0, GENERIC_ARRAY_MAX))
        obj, o_len = self._members(scalar, s_len)
        value = self.rule("value", f"{scalar} | {arr} | {obj}")
        return value, max(s_len, arr_len, o_len)

    def generic_object(self, _path: str) -> tuple[str, int]:
        """An object of up to N members whose values are scalars or flat arrays."""
        scalar, s_len = self.generic_scalar()
        arr = self.rule("flat-arr", _repeat(scalar, 0, GENERIC_ARRAY_MAX))
        arr_len = 2 + GENERIC_ARRAY_MAX * s_len + GENERIC_ARRAY_MAX - 1
        member_value = self.rule("member-value", f"{scalar} | {arr}")
        return self._members(member_value, max(s_len, arr_len))

    def _members(self, value: str, value_len: int) -> tuple[str, int]:
        char = self.rule("char", _CHAR)
        key = self.rule("key", f'"\\"" {char}{{1,{GENERIC_KEY_MAX}}} "\\""')
        member = self.rule("member", f'{key} ":" {value}')
        n = GENERIC_OBJECT_MAX_MEMBERS
        body = '"{" ( ' + member + f' ( "," {member} ){{0,{n - 1}}} )? "}}"'
        length = 2 + n * (GENERIC_KEY_MAX + 3 + value_len) + n - 1
        return self.rule("generic-obj", body), length


# The GBNF subset _Builder writes: literals, character classes, {m,n}, ?*+, ( | ), rule names.
_GBNF_TOKEN = re.compile(
    r'\s*(?:(?P<lit>"(?:\\.|[^"\\])*")|(?P<cls>\[(?:\\.|[^\]\\])*\])'
    r"|(?P<rep>\{\d+,\d+\})|(?P<name>[A-Za-z][A-Za-z0-9-]*)|(?P<op>[()|?*+]))"
)


def _gbnf_rules(gbnf: str) -> dict[str, list[re.Match[str]]]:
    rules: dict[str, list[re.Match[str]]] = {}
    for line in gbnf.strip().splitlines():
        name, body = line.split(" ::= ", 1)
        tokens, pos, end = [], 0, len(body.rstrip())
        while pos < end:
            match = _GBNF_TOKEN.match(body, pos)
            if match is None:
                raise ValueError(f"unparsable GBNF in rule {name!r} at {body[pos:]!r}")
            tokens.append(match)
            pos = match.end()
        rules[name] = tokens
    return rules


def _class_escaped(cls: str) -> str:
    """``[...]`` with ``[`` and ``/`` escaped: Rust regex nests ``[``, Lark ends at ``/``."""
    inner = re.sub(r"\\.|([\[/])", lambda m: "\\" + m[1] if m[1] else m[0], cls[1:-1])
    return f"[{inner}]"


def to_lark(gbnf: str) -> str:
    """``gbnf`` (as ``_Builder`` writes it) in llguidance's Lark syntax, the same language.

    Rules stay rules (each literal or character is a lexeme): measured faster than turning
    bounded strings into one big regex terminal. ``x{0,0}`` is dropped rather than written,
    because llguidance rejects it (and llama.cpp then samples unconstrained).
    """
    lines = ["%llguidance {}", "start: root"]
    for name, tokens in _gbnf_rules(gbnf).items():
        groups: list[list[str]] = [[]]
        for match in tokens:
            out = groups[-1]
            if match["lit"]:
                out.append(match["lit"])
            elif match["cls"]:
                out.append(f"/{_class_escaped(match['cls'])}/")
            elif match["name"]:
                out.append(match["name"])
            elif match["rep"]:
                if match["rep"] == "{0,0}":
                    out.pop()
                else:
                    out[-1] += match["rep"]
            elif match["op"] == "(":
                groups.append([])
            elif match["op"] == ")":
                inner = groups.pop()
                groups[-1].append("( " + " ".join(inner) + " )")
            elif match["op"] == "|":
                out.append("|")
            else:
                out[-1] += match["op"]
        lines.append(f"{name}: {' '.join(groups[0])}")
    return "\n".join(lines) + "\n"


def to_regex(gbnf: str) -> re.Pattern[str]:
    """``gbnf`` (as ``_Builder`` writes it, never recursive) as a Python regex."""
    rules = _gbnf_rules(gbnf)

    def expand(name: str) -> str:
        out: list[str] = []
        for match in rules[name]:
            if match["lit"]:
                out.append(re.escape(json.loads(match["lit"])))
            elif match["cls"]:
                out.append(_class_escaped(match["cls"]))
            elif match["rep"]:
                out.append(match["rep"])
            elif match["name"]:
                out.append(f"(?:{expand(match['name'])})")
            else:
                out.append("(?:" if match["op"] == "(" else match["op"])
        return "".join(out)

    return re.compile(expand("root"))


def _repeat(item: str, low: int, high: int) -> str:
    if low == 0:
        return f'"[" ( {item} ( "," {item} ){{0,{high - 1}}} )? "]"'
    return f'"[" {item} ( "," {item} ){{{low - 1},{high - 1}}} "]"'


def _alternation(options: list[tuple[str, int]]) -> tuple[str, int]:
    if len(options) == 1:
        return options[0]
    return "( " + " | ".join(e for e, _ in options) + " )", max(n for _, n in options)


def _nonneg_int(schema: dict[str, Any], key: str, path: str, default: int | None) -> Any:
    value = schema.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GrammarError(path, f"{key!r} must be a non-negative integer, got {value!r}")
    return value


def _number(schema: dict[str, Any], key: str, path: str) -> float | None:
    value = schema.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GrammarError(path, f"{key!r} must be a number, got {value!r}")
    return float(value)


def _int_bounds(schema: dict[str, Any], path: str) -> tuple[int | None, int | None]:
    import math

    low = _number(schema, "minimum", path)
    high = _number(schema, "maximum", path)
    ex_low = _number(schema, "exclusiveMinimum", path)
    ex_high = _number(schema, "exclusiveMaximum", path)
    lows = [math.ceil(v) for v in (low,) if v is not None]
    lows += [math.floor(v) + 1 for v in (ex_low,) if v is not None]
    highs = [math.floor(v) for v in (high,) if v is not None]
    highs += [math.ceil(v) - 1 for v in (ex_high,) if v is not None]
    return (max(lows) if lows else None), (min(highs) if highs else None)


def _build(fmt: str | dict[str, Any], string_max: int) -> Grammar:
    builder = _Builder({}, string_max)
    return builder.grammar(*builder.format_value(fmt))


def _fit(build: Callable[[int], Grammar], budget: int | None, string_max: int) -> Grammar:
    """The largest default string bound (down to ``MIN_STRING_MAX``) whose grammar fits
    ``budget`` characters, or the floor's grammar if none does."""
    best = build(string_max)
    floor = min(MIN_STRING_MAX, string_max)
    if budget is None or best.max_chars <= budget:
        return best
    low, high = floor + 1, string_max - 1
    best = build(floor)
    while low <= high:
        mid = (low + high) // 2
        candidate = build(mid)
        if candidate.max_chars <= budget:
            best, low = candidate, mid + 1
        else:
            high = mid - 1
    return best


def grammar_for_format(
    fmt: str | dict[str, Any], *, budget: int | None = None, string_max: int = DEFAULT_STRING_MAX
) -> Grammar:
    """The grammar for an Ollama ``format`` value.

    With a token ``budget`` (``num_predict``), the default string bound (for strings without
    ``maxLength``) shrinks until the whole output fits the budget, so the response can close,
    but not below ``MIN_STRING_MAX``. If even that does not fit, the caller must raise its
    token limit to ``max_chars`` (one token is at least one character).
    """
    return _fit(lambda n: _build(fmt, n), budget, string_max)


ANSWER_KEY = "content"


def grammar_for_tools(
    tools: Sequence[tuple[str, dict[str, Any]]],
    fmt: str | dict[str, Any] | None = None,
    *,
    budget: int | None = None,
    string_max: int = DEFAULT_STRING_MAX,
    answer: bool = True,
) -> Grammar:
    """Either a call ``{"name":<tool>,"arguments":<its parameters>}`` to one of ``tools``
    (name, parameters schema), or, unless ``answer`` is off (OpenAI's ``tool_choice``
    "required" or a named tool), an answer ``{"content":<text, or the format's value>}``.

    Why an answer is wrapped in JSON too: the model then chooses between calling and
    answering at one token (``name`` or ``content``), and the answer stays bounded, so
    every output closes within ``max_chars`` like a ``format`` output. Each tool's
    arguments come from the schema walk ``format`` uses, so every call is schema-valid.
    """
    if not tools:
        raise GrammarError("tools", "at least one tool is required")
    return _fit(lambda n: _build_tools(tools, fmt, n, answer), budget, string_max)


def _build_tools(
    tools: Sequence[tuple[str, dict[str, Any]]], fmt: Any, string_max: int, answer: bool
) -> Grammar:
    builder = _Builder({}, string_max)
    options: list[tuple[str, int]] = []
    for i, (name, parameters) in enumerate(tools):
        builder.root_schema = parameters  # each tool's "$ref"s resolve in its own schema
        args, args_len = builder.visit(parameters, f"tools[{i}].function.parameters")
        head = '{"name":' + _compact(name) + ',"arguments":'
        options.append((f"{literal(head)} {args} {literal('}')}", len(head) + args_len + 1))
    if answer:
        value, value_len = builder.format_value(fmt)
        head = "{" + _compact(ANSWER_KEY) + ":"
        options.append((f"{literal(head)} {value} {literal('}')}", len(head) + value_len + 1))
    branches = [builder.rule("branch", expr) for expr, _ in options]
    return builder.grammar(" | ".join(branches), max(n for _, n in options))
