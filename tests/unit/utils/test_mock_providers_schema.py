"""The mock LLM's schema samples validate against the schema (checked by `jsonschema`, an
independent implementation) and the regex sampler matches its patterns."""

from __future__ import annotations

import ipaddress
import random
import re
import uuid
from datetime import date, datetime
from urllib.parse import urlparse

import jsonschema
import pytest

from tests.utils._schema_sample import UnsupportedSchemaError, sample_pattern, sample_schema


def _check_format(fmt: str, value: str) -> None:
    """Stricter than jsonschema's optional format checks (which need extra packages)."""
    if fmt == "email":
        local, _, domain = value.partition("@")
        assert local and "." in domain, value
    elif fmt == "uri":
        parsed = urlparse(value)
        assert parsed.scheme in ("http", "https") and parsed.netloc, value
    elif fmt == "uuid":
        assert str(uuid.UUID(value)) == value
    elif fmt == "date-time":
        assert datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    elif fmt == "date":
        date.fromisoformat(value)
    elif fmt == "ipv4":
        ipaddress.IPv4Address(value)
    elif fmt == "ipv6":
        ipaddress.IPv6Address(value)
    elif fmt == "time":
        assert re.fullmatch(r"\d{2}:\d{2}:\d{2}Z", value)


SCHEMAS: dict[str, dict] = {
    "string": {"type": "string"},
    "bounded_string": {"type": "string", "minLength": 5, "maxLength": 7},
    "long_min_string": {"type": "string", "minLength": 40, "maxLength": 60},
    "empty_allowed": {"type": "string", "maxLength": 0},
    "integer": {"type": "integer"},
    "integer_range": {"type": "integer", "minimum": -5, "maximum": 5},
    "integer_exclusive": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3},
    "integer_multiple": {"type": "integer", "minimum": 1, "maximum": 50, "multipleOf": 7},
    "integer_min_only": {"type": "integer", "minimum": 1000},
    "number": {"type": "number"},
    "number_range": {"type": "number", "minimum": 0, "maximum": 1},
    "number_exclusive": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.01},
    "number_max_only": {"type": "number", "maximum": -10},
    "boolean": {"type": "boolean"},
    "null": {"type": "null"},
    "enum": {"enum": ["pos", "neg", "neutral"]},
    "typed_enum": {"type": "string", "enum": ["a", "b"]},
    "const": {"const": 42},
    "nullable": {"type": ["string", "null"], "maxLength": 3},
    "anyOf_optional": {"anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]},
    "oneOf": {"oneOf": [{"type": "integer"}, {"type": "boolean"}]},
    "array": {"type": "array", "items": {"type": "integer"}},
    "array_bounds": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
    "array_unique": {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 9},
        "minItems": 5,
        "uniqueItems": True,
    },
    "prefix_items": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]},
    "object": {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
    "nested": {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string", "format": "uuid"}},
                    "required": ["id"],
                },
            }
        },
        "required": ["items"],
    },
    "ref": {
        "type": "object",
        "$defs": {
            "Point": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}
        },
        "properties": {"p": {"$ref": "#/$defs/Point"}},
        "required": ["p"],
    },
    "allOf": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "boolean"}}, "required": ["b"]},
        ]
    },
    "untyped_object": {"properties": {"x": {"type": "integer"}}, "required": ["x"]},
    "any": {},
    "email": {"type": "string", "format": "email"},
    "uri": {"type": "string", "format": "uri"},
    "uuid": {"type": "string", "format": "uuid"},
    "date-time": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "ipv4": {"type": "string", "format": "ipv4"},
    "ipv6": {"type": "string", "format": "ipv6"},
    "pattern": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
    "pattern_bounded": {"type": "string", "pattern": r"^[a-z]+$", "minLength": 2, "maxLength": 6},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sample_validates_against_schema(name: str, seed: int) -> None:
    schema = SCHEMAS[name]
    value = sample_schema(schema, seed=seed)
    jsonschema.validate(value, schema)
    if "format" in schema:
        _check_format(schema["format"], value)


@pytest.mark.parametrize("name", ["object", "nested", "ref", "allOf", "array_bounds"])
def test_same_seed_same_sample(name: str) -> None:
    assert sample_schema(SCHEMAS[name], seed=5) == sample_schema(SCHEMAS[name], seed=5)


def test_seeds_vary_the_sample() -> None:
    schema = {
        "type": "object",
        "properties": {"s": {"type": "string"}, "n": {"type": "number"}},
        "required": ["s", "n"],
    }
    assert len({repr(sample_schema(schema, seed=s)) for s in range(10)}) >= 8


def test_optional_properties_only_on_request() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string", "format": "email"}},
        "required": ["a"],
    }
    assert set(sample_schema(schema, seed=1)) == {"a"}
    full = sample_schema(schema, seed=1, include_optional=True)
    assert set(full) == {"a", "b"}
    jsonschema.validate(full, schema)
    _check_format("email", full["b"])


def test_nullable_prefers_a_real_value() -> None:
    values = {repr(sample_schema(SCHEMAS["anyOf_optional"], seed=s)) for s in range(5)}
    assert "None" not in values


PATTERNS = [
    r"^\d{3}-\d{2}-\d{4}$",
    r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
    r"^(red|green|blue)$",
    r"^#[0-9a-fA-F]{6}$",
    r"^[^\s]+$",
    r"^v\d+\.\d+\.\d+(-rc\d+)?$",
    r"abc",
    r"^\w+\s\w+$",
    r"^[A-Z][a-z]*(?:-[A-Z][a-z]*)*$",
    r"^.{5}$",
    r"^[^aeiou]{3,5}$",
    r"^\D\S\W$",
    r"^(?i:hello)$",
    r"^x*?y+?$",
    r"^(?>ab)c$",
]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("seed", [0, 7])
def test_pattern_samples_match(pattern: str, seed: int) -> None:
    text = sample_pattern(pattern, random.Random(seed))
    assert re.search(pattern, text), (pattern, text)


@pytest.mark.parametrize(
    ("pattern", "feature"),
    [
        (r"^(a)\1$", "GROUPREF"),
        (r"^(?=a)a$", "ASSERT"),
        (r"^(?!a)b$", "ASSERT_NOT"),
        (r"\bword\b", "AT_BOUNDARY"),
    ],
)
def test_unsupported_pattern_features_are_rejected_by_name(pattern: str, feature: str) -> None:
    with pytest.raises(UnsupportedSchemaError, match=feature) as info:
        sample_pattern(pattern, random.Random(0), path="$.field")
    assert info.value.path == "$.field"
    assert "script the response" in str(info.value)


def test_invalid_pattern_is_reported() -> None:
    with pytest.raises(UnsupportedSchemaError, match="invalid pattern"):
        sample_pattern("([a-z", random.Random(0))


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "string", "format": "credit-card"}, "format 'credit-card' is not supported"),
        ({"type": "string", "minLength": 5, "maxLength": 2}, "maxLength 2 < minLength 5"),
        ({"type": "integer", "minimum": 5, "maximum": 1}, "minimum 5 > maximum 1"),
        ({"type": "integer", "minimum": 1, "maximum": 6, "multipleOf": 10}, "no multiple of 10"),
        ({"enum": []}, "enum is empty"),
        ({"type": "tuple"}, "unknown type 'tuple'"),
        ({"not": {"type": "string"}}, "keyword 'not'"),
        ({"$ref": "http://example.com/s.json"}, "only local \\$ref"),
        ({"$ref": "#/$defs/Missing"}, "does not resolve"),
        ({"type": "object", "required": ["x"]}, "required properties without a schema: x"),
        (
            {
                "type": "array",
                "items": {"type": "boolean"},
                "minItems": 3,
                "maxItems": 3,
                "uniqueItems": True,
            },
            "cannot find 3 unique items",
        ),
        ({"type": "string", "pattern": "^[a-z]{10}$", "maxLength": 3}, "length 0..3"),
        ({"type": "array", "minItems": 4, "maxItems": 1}, "maxItems 1 < minItems 4"),
    ],
)
def test_unsatisfiable_or_unsupported_schemas_fail_loudly(schema: dict, message: str) -> None:
    with pytest.raises(UnsupportedSchemaError, match=message):
        sample_schema(schema, seed=0)


def test_error_names_the_json_path() -> None:
    schema = {
        "type": "object",
        "properties": {
            "outer": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "isbn"}}
        },
        "required": ["outer"],
    }
    with pytest.raises(UnsupportedSchemaError) as info:
        sample_schema(schema, seed=0)
    assert info.value.path == "$.outer[0]"


def test_non_mapping_root_is_rejected() -> None:
    with pytest.raises(UnsupportedSchemaError, match="must be a mapping"):
        sample_schema(["not", "a", "schema"], seed=0)  # type: ignore[arg-type]
