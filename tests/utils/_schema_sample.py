"""Sample values that satisfy a JSON Schema, and strings that match a regular expression.

Why here and not a library: the mock LLM must produce outputs that pass the *same* output
validation the real model's answers go through, deterministically from a seed, for the
subset of JSON Schema that signatures emit. Anything outside that subset is rejected with
`UnsupportedSchemaError` naming the JSON path, never approximated silently.
"""

from __future__ import annotations

import random
import re
import string
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.utils.errors import ToolkitError

_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]
_ALNUM = string.ascii_letters + string.digits
_MAX_FREE_REPEAT = 4  # extra repetitions drawn for `*`, `+` and `{n,}` in patterns


class UnsupportedSchemaError(ToolkitError, ValueError):
    """The schema (or a pattern in it) uses a feature the sampler cannot satisfy for sure."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# --- regular expressions ------------------------------------------------------------------


def sample_pattern(pattern: str, rng: random.Random, *, path: str = "$") -> str:
    """A string that `re.search(pattern, s)` accepts; verified before it is returned."""
    from re import _parser  # type: ignore[attr-defined]  # stdlib's own regex parser

    try:
        parsed = _parser.parse(pattern)
    except re.error as exc:
        raise UnsupportedSchemaError(path, f"invalid pattern {pattern!r}: {exc}") from None
    text = _RegexSampler(rng, pattern, path).emit(parsed)
    if re.search(pattern, text) is None:  # pragma: no cover - a sampler bug, said loudly
        raise UnsupportedSchemaError(
            path, f"could not generate a match for pattern {pattern!r} (got {text!r})"
        )
    return text


class _RegexSampler:
    def __init__(self, rng: random.Random, pattern: str, path: str) -> None:
        from re import _constants as c  # type: ignore[attr-defined]

        self.c = c
        self.rng = rng
        self.pattern = pattern
        self.path = path

    def _unsupported(self, what: str) -> UnsupportedSchemaError:
        return UnsupportedSchemaError(
            self.path,
            f"pattern {self.pattern!r} uses {what}, which the mock's sample generator does not "
            "support; use a simpler pattern or script the response",
        )

    def emit(self, items: Any) -> str:
        return "".join(self._one(op, av) for op, av in items)

    def _category(self, category: Any) -> str:
        c = self.c
        table = {
            c.CATEGORY_DIGIT: string.digits,
            c.CATEGORY_NOT_DIGIT: string.ascii_letters,
            c.CATEGORY_WORD: _ALNUM + "_",
            c.CATEGORY_NOT_WORD: " -.",
            c.CATEGORY_SPACE: " ",
            c.CATEGORY_NOT_SPACE: _ALNUM,
        }
        if category not in table:
            raise self._unsupported(f"category {category}")
        return table[category]

    def _set(self, items: Any) -> str:
        c = self.c
        negate = False
        chars: set[str] = set()
        for op, av in items:
            if op is c.NEGATE:
                negate = True
            elif op is c.LITERAL:
                chars.add(chr(av))
            elif op is c.RANGE:
                low, high = av
                chars.update(chr(x) for x in range(low, min(high, low + 200) + 1))
            elif op is c.CATEGORY:
                chars.update(self._category(av))
            else:
                raise self._unsupported(f"set item {op}")
        if negate:
            pool = sorted(set(_ALNUM + " -._") - chars)
            if not pool:
                raise self._unsupported("a negated set that excludes every candidate")
            return self.rng.choice(pool)
        return self.rng.choice(sorted(chars))

    def _one(self, op: Any, av: Any) -> str:
        c = self.c
        if op is c.LITERAL:
            return chr(av)
        if op is c.NOT_LITERAL:
            return self.rng.choice([ch for ch in _ALNUM if ord(ch) != av])
        if op is c.ANY:
            return self.rng.choice(_ALNUM)
        if op is c.IN:
            return self._set(av)
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = av
            top = low + _MAX_FREE_REPEAT if high is c.MAXREPEAT else min(high, low + 8)
            return "".join(self.emit(sub) for _ in range(self.rng.randint(low, top)))
        if op is c.SUBPATTERN:
            return self.emit(av[-1])
        if op is getattr(c, "ATOMIC_GROUP", None):
            return self.emit(av)
        if op is c.BRANCH:
            return self.emit(self.rng.choice(av[1]))
        if op is c.AT:
            if av in (c.AT_BEGINNING, c.AT_BEGINNING_STRING, c.AT_END, c.AT_END_STRING):
                return ""
            raise self._unsupported(f"the anchor {av}")
        raise self._unsupported(f"{op}")


# --- JSON Schema --------------------------------------------------------------------------


def _word_text(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high)
    words: list[str] = []
    while len(" ".join(words)) < target:
        words.append(rng.choice(_WORDS))
    text = " ".join(words)[:target].rstrip()
    return text + "x" * (low - len(text)) if len(text) < low else text


def _format_value(fmt: str, rng: random.Random, path: str) -> str:
    word = rng.choice(_WORDS)
    base = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 5 * 365 * 86400))
    if fmt == "email":
        return f"{word}.{rng.randint(1, 999)}@example.com"
    if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
        return f"https://example.com/{word}/{rng.randint(1, 999)}"
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if fmt == "date-time":
        return base.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "date":
        return base.strftime("%Y-%m-%d")
    if fmt == "time":
        return base.strftime("%H:%M:%SZ")
    if fmt == "ipv4":
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if fmt == "ipv6":
        return ":".join(f"{rng.randint(0, 0xFFFF):x}" for _ in range(8))
    if fmt == "hostname":
        return f"{word}-{rng.randint(1, 99)}.example.com"
    if fmt == "duration":
        return f"P{rng.randint(1, 30)}D"
    raise UnsupportedSchemaError(
        path,
        f"format {fmt!r} is not supported by the mock (supported: email, uri, uuid, "
        "date-time, date, time, ipv4, ipv6, hostname, duration)",
    )


class SchemaSampler:
    """Deterministic sample generation for one root schema (so `$ref`s resolve)."""

    def __init__(
        self, root: Mapping[str, Any], rng: random.Random, *, include_optional: bool = False
    ) -> None:
        if not isinstance(root, Mapping):
            raise UnsupportedSchemaError(
                "$", f"schema must be a mapping, got {type(root).__name__}"
            )
        self.root = root
        self.rng = rng
        self.include_optional = include_optional

    def sample(self) -> Any:
        return self.value(self.root, "$")

    def _resolve(self, ref: str, path: str) -> Any:
        """The JSON value `ref` points at, as it is: `value` judges whether it is a schema."""
        if not ref.startswith("#/"):
            raise UnsupportedSchemaError(path, f"only local $ref ('#/...') is supported: {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            if not isinstance(node, Mapping) or part not in node:
                raise UnsupportedSchemaError(path, f"$ref {ref!r} does not resolve")
            node = node[part]
        return node

    def value(self, schema: Any, path: str) -> Any:
        if schema is True or schema == {}:
            return _word_text(self.rng, 3, 12)
        if not isinstance(schema, Mapping):
            raise UnsupportedSchemaError(path, f"expected a schema object, got {schema!r}")
        if "$ref" in schema:
            return self.value(self._resolve(schema["$ref"], path), path)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if not options:
                raise UnsupportedSchemaError(path, "enum is empty: no value can satisfy it")
            return self.rng.choice(options)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                choices = [s for s in schema[key] if not _is_null(s)] or list(schema[key])
                return self.value(self.rng.choice(choices), path)
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self._resolve(part["$ref"], path) if "$ref" in part else part
                for k, v in part.items():
                    if k == "properties":
                        merged["properties"] = {**merged.get("properties", {}), **v}
                    elif k == "required":
                        merged["required"] = [*merged.get("required", []), *v]
                    else:
                        merged[k] = v
            return self.value(merged, path)
        for unsupported in ("not", "if", "dependentSchemas", "patternProperties"):
            if unsupported in schema:
                raise UnsupportedSchemaError(path, f"keyword {unsupported!r} is not supported")
        kind = self._type(schema, path)
        return getattr(self, f"_{kind}")(schema, path)

    def _type(self, schema: Mapping[str, Any], path: str) -> str:
        kind = schema.get("type")
        if isinstance(kind, Sequence) and not isinstance(kind, str):
            options = [k for k in kind if k != "null"] or list(kind)
            kind = self.rng.choice(options) if options else None
        if kind is None:
            if "properties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"
        if kind not in ("string", "integer", "number", "boolean", "null", "array", "object"):
            raise UnsupportedSchemaError(path, f"unknown type {kind!r}")
        return str(kind)

    # -- per type --------------------------------------------------------------------------

    def _string(self, schema: Mapping[str, Any], path: str) -> str:
        low = int(schema.get("minLength", 0))
        limit = schema.get("maxLength")
        high = int(limit) if limit is not None else 10**6
        if high < low:
            raise UnsupportedSchemaError(path, f"maxLength {high} < minLength {low}")
        pattern, fmt = schema.get("pattern"), schema.get("format")
        if pattern is None and fmt is None:
            text_high = min(high, max(low, 24))
            return _word_text(self.rng, max(low, min(1, text_high)), text_high)
        last = ""
        for _ in range(25):
            last = (
                sample_pattern(pattern, self.rng, path=path)
                if pattern is not None
                else _format_value(str(fmt), self.rng, path)
            )
            if low <= len(last) <= high:
                return last
        raise UnsupportedSchemaError(
            path,
            f"could not generate a {'pattern' if pattern else 'format'} value with length "
            f"{low}..{high} (last try {last!r}); relax the bounds or script the response",
        )

    def _bounds(
        self, schema: Mapping[str, Any], path: str, default: tuple[float, float]
    ) -> tuple[float, float]:
        low = schema.get("minimum", schema.get("exclusiveMinimum", None))
        high = schema.get("maximum", schema.get("exclusiveMaximum", None))
        if low is None and high is None:
            low, high = default
        elif low is None:
            low = min(default[0], high - 100)
        elif high is None:
            high = max(default[1], low + 100)
        if low > high:
            raise UnsupportedSchemaError(path, f"minimum {low} > maximum {high}")
        return low, high

    def _integer(self, schema: Mapping[str, Any], path: str) -> int:
        import math

        low, high = self._bounds(schema, path, (0, 100))
        lo, hi = math.ceil(low), math.floor(high)
        if "exclusiveMinimum" in schema and lo == schema["exclusiveMinimum"]:
            lo += 1
        if "exclusiveMaximum" in schema and hi == schema["exclusiveMaximum"]:
            hi -= 1
        step = schema.get("multipleOf")
        if step:
            first, last = math.ceil(lo / step), math.floor(hi / step)
            if first > last:
                raise UnsupportedSchemaError(path, f"no multiple of {step} in [{lo}, {hi}]")
            return int(self.rng.randint(first, last) * step)
        if lo > hi:
            raise UnsupportedSchemaError(path, f"no integer in the range {low}..{high}")
        return self.rng.randint(lo, hi)

    def _number(self, schema: Mapping[str, Any], path: str) -> float:
        low, high = self._bounds(schema, path, (0.0, 1.0))
        if schema.get("multipleOf"):
            return float(self._integer(schema, path))
        for _ in range(50):
            value = round(self.rng.uniform(low, high), 3)
            if not low <= value <= high:
                continue
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                continue
            if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
                continue
            return value
        raise UnsupportedSchemaError(path, f"no number found in the range {low}..{high}")

    def _boolean(self, schema: Mapping[str, Any], path: str) -> bool:
        return self.rng.random() < 0.5

    def _null(self, schema: Mapping[str, Any], path: str) -> None:
        return None

    def _array(self, schema: Mapping[str, Any], path: str) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 3))
        if high < low:
            raise UnsupportedSchemaError(path, f"maxItems {high} < minItems {low}")
        prefix = list(schema.get("prefixItems", ()))
        count = max(self.rng.randint(max(low, 1 if high else 0), high), len(prefix))
        items_schema = schema.get("items", {})
        out: list[Any] = []
        attempts = 0
        while len(out) < count:
            index = len(out)
            item_schema = prefix[index] if index < len(prefix) else items_schema
            value = self.value(item_schema, f"{path}[{index}]")
            attempts += 1
            if schema.get("uniqueItems") and value in out:
                if attempts > 20 * count:
                    raise UnsupportedSchemaError(
                        path, f"cannot find {count} unique items for this item schema"
                    )
                continue
            out.append(value)
        return out

    def _object(self, schema: Mapping[str, Any], path: str) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = list(schema.get("required", ()))
        missing = [name for name in required if name not in properties]
        if missing:
            raise UnsupportedSchemaError(
                path, f"required properties without a schema: {', '.join(missing)}"
            )
        names = list(properties) if self.include_optional else required
        return {name: self.value(properties[name], f"{path}.{name}") for name in names}


def _is_null(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def sample_schema(
    schema: Mapping[str, Any], *, seed: int | str = 0, include_optional: bool = False
) -> Any:
    """One deterministic sample for `schema`: same seed, same value."""
    return SchemaSampler(schema, random.Random(seed), include_optional=include_optional).sample()
