"""Error types: the hierarchy callers catch on, and messages that name what went wrong."""

from __future__ import annotations

import pytest

from kaizen import errors as E


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (E.ConfigurationError, (E.KaizenError, ValueError)),
        (E.SignatureError, (E.KaizenError, TypeError)),
        (E.SignatureParseError, (E.SignatureError, ValueError)),
        (E.SignatureValidationError, (E.KaizenError, ValueError)),
        (E.WorkflowValidationError, (E.KaizenError, ValueError)),
        (E.UnknownNodeTypeError, (E.WorkflowValidationError,)),
        (E.NodeExecutionError, (E.KaizenError,)),
        (E.WorkflowExecutionError, (E.KaizenError,)),
        (E.ProviderNotFoundError, (E.ProviderError, LookupError)),
        (E.ProviderNotAllowedError, (E.ProviderError, PermissionError)),
        (E.ProviderConnectionError, (E.ProviderError, ConnectionError)),
        (E.ProviderTimeoutError, (E.ProviderError, TimeoutError)),
        (E.ModelNotFoundError, (E.ProviderError, LookupError)),
        (E.ProviderResponseError, (E.ProviderError,)),
        (E.DuplicateAgentError, (E.AgentError, ValueError)),
        (E.OutputValidationError, (E.AgentError, E.SignatureValidationError)),
    ],
)
def test_hierarchy(cls: type, bases: tuple[type, ...]) -> None:
    for base in bases:
        assert issubclass(cls, base)
    assert issubclass(cls, E.KaizenError)


def test_configuration_error_names_key() -> None:
    err = E.ConfigurationError("temperature", "must be between 0 and 2")
    assert err.key == "temperature"
    assert str(err) == "temperature: must be between 0 and 2"


def test_signature_parse_error_points_at_position() -> None:
    err = E.SignatureParseError("a -> ", 5, "expected a field name")
    assert (err.text, err.position, err.reason) == ("a -> ", 5, "expected a field name")
    lines = str(err).splitlines()
    assert lines[0] == "expected a field name at position 5:"
    assert lines[2].index("^") == lines[1].index("a") + 5


def test_signature_validation_error_lists_fields() -> None:
    errs = [E.FieldError("answer", "missing"), E.FieldError("score", "not a float", "x")]
    err = E.SignatureValidationError("QA", errs, raw="{}")
    assert err.fields == ("answer", "score")
    assert err.errors == tuple(errs)
    assert err.raw == "{}"
    assert str(err) == "QA: answer: missing; score: not a float"
    assert str(errs[1]) == "score: not a float" and errs[1].value == "x"


@pytest.mark.parametrize(
    ("suggestions", "expected"),
    [
        ((), "unknown node type 'Foo'"),
        (("FooNode",), "unknown node type 'Foo'; did you mean 'FooNode'?"),
        (("A", "B"), "unknown node type 'Foo'; did you mean 'A', 'B'?"),
    ],
)
def test_unknown_node_type_message(suggestions: tuple[str, ...], expected: str) -> None:
    err = E.UnknownNodeTypeError("Foo", suggestions)
    assert str(err) == expected
    assert err.suggestions == suggestions and err.node_type == "Foo"


def test_node_execution_error_wraps_cause() -> None:
    cause = KeyError("x")
    err = E.NodeExecutionError("n1", cause)
    assert err.node_id == "n1" and err.cause is cause
    assert str(err) == "node 'n1' failed: KeyError: 'x'"


def test_workflow_execution_error_copies_and_summarises() -> None:
    results = {"a": {"result": 1}}
    errors = {"b": ValueError("boom")}
    err = E.WorkflowExecutionError("run1", results, errors, ["c"])
    results["z"] = {}
    errors.clear()
    assert err.results == {"a": {"result": 1}}
    assert list(err.errors) == ["b"]
    assert err.skipped == ("c",)
    assert "run1" in str(err) and "1 node(s)" in str(err) and "b: ValueError: boom" in str(err)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "down"),
        ({"provider": "ollama"}, "down (ollama)"),
        ({"provider": "ollama", "url": "http://h:1"}, "down (ollama at http://h:1)"),
    ],
)
def test_provider_error_says_where(kwargs: dict[str, str], expected: str) -> None:
    err = E.ProviderConnectionError("down", **kwargs)
    assert str(err) == expected
    assert err.provider == kwargs.get("provider", "")
    assert err.url == kwargs.get("url")


def test_provider_response_error_keeps_status() -> None:
    err = E.ProviderResponseError("bad", provider="p", url="http://u", status=503)
    assert err.status == 503 and err.url == "http://u"


def test_output_validation_error_keeps_every_raw_output() -> None:
    first = E.SignatureValidationError("QA", [E.FieldError("answer", "missing")])
    last = E.SignatureValidationError("QA", [E.FieldError("score", "not a number")])
    err = E.OutputValidationError("qa", [("raw one", first), ("raw two", last)])
    assert err.raw_output == "raw two" and err.raw == "raw two"
    assert [raw for raw, _ in err.attempts] == ["raw one", "raw two"]
    assert err.fields == ("score",) and err.signature == "QA"
    assert "'qa'" in str(err) and "2 attempt(s)" in str(err) and "'raw two'" in str(err)
    with pytest.raises(E.SignatureValidationError):
        raise err
