"""Dotted output paths: `add_connection("a", "result.y", "b", "y")` reaches into a node's
dict output, in both runtimes; what is knowable is checked at build, a missing key at run
time is an `OutputPathError` naming the path and the keys that were there, never None."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import kaizen
from kaizen.errors import OutputPathError, WorkflowExecutionError, WorkflowValidationError
from kaizen.workflow import AsyncLocalRuntime, LocalRuntime, Workflow, WorkflowBuilder

Results = dict[str, dict[str, Any]]


def run_sync(wf: Workflow) -> Results:
    return LocalRuntime().execute(wf)[0]


def run_async(wf: Workflow) -> Results:
    results, _ = asyncio.run(asyncio.wait_for(AsyncLocalRuntime().execute(wf), 10.0))
    return results


RUNTIMES = pytest.mark.parametrize("run", [run_sync, run_async], ids=["sync", "async"])


def echo(**kwargs: Any) -> Any:
    return kwargs


def source_then_sink(produce: Callable[[], Any], *paths: str, **config: Any) -> WorkflowBuilder:
    """Node `a` produces a value; node `b` receives each path as input `in0`, `in1`, ..."""
    builder = WorkflowBuilder()
    builder.add_node("PythonCodeNode", "a", {"function": produce, **config})
    builder.add_node("PythonCodeNode", "b", {"function": echo})
    for n, path in enumerate(paths):
        builder.add_connection("a", path, "b", f"in{n}")
    return builder


def run_error(run: Callable[[Workflow], Results], builder: WorkflowBuilder) -> OutputPathError:
    with pytest.raises(WorkflowExecutionError) as info:
        run(builder.build())
    assert list(info.value.results) == ["a"]  # the source ran; the sink never got None
    cause = info.value.errors["b"].__cause__
    assert isinstance(cause, OutputPathError), repr(cause)
    return cause


# --- run time ---------------------------------------------------------------------------


@RUNTIMES
def test_dotted_and_nested_paths_reach_into_the_result(run: Callable[..., Results]) -> None:
    builder = source_then_sink(
        lambda: {"y": 1, "a": {"b": [1, 2], "c": None}}, "result.y", "result.a.b", "result.a.c"
    )
    results = run(builder.build())
    assert results["b"] == {"result": {"in0": 1, "in1": [1, 2], "in2": None}}


@RUNTIMES
def test_paths_into_an_output_dict_node(run: Callable[..., Results]) -> None:
    builder = source_then_sink(
        lambda: {"rows": {"first": {"id": 7}}}, "rows.first.id", output_dict=True
    )
    assert run(builder.build())["b"] == {"result": {"in0": 7}}


@RUNTIMES
def test_a_dot_is_always_a_path_never_part_of_a_key(run: Callable[..., Results]) -> None:
    builder = source_then_sink(
        lambda: {"a.b": "key with a dot", "a": {"b": "nested"}, "x": {"y": {"z": 1}}},
        "a.b",
        "x.y.z",
        output_dict=True,
    )
    assert run(builder.build())["b"] == {"result": {"in0": "nested", "in1": 1}}


@RUNTIMES
def test_missing_key_names_the_path_and_the_keys_there(run: Callable[..., Results]) -> None:
    builder = source_then_sink(lambda: {"a": {"b": 1, "c": 2}}, "result.a.x")
    error = run_error(run, builder)
    assert (error.node_id, error.path, error.reached, error.missing) == (
        "a",
        "result.a.x",
        "result.a",
        "x",
    )
    assert error.available == ("b", "c")
    assert str(error) == (
        "node 'a' output path 'result.a.x': 'result.a' has no key 'x' (keys there: b, c)"
    )


@RUNTIMES
def test_missing_first_level_key(run: Callable[..., Results]) -> None:
    error = run_error(run, source_then_sink(lambda: {}, "result.y"))
    assert (
        str(error)
        == "node 'a' output path 'result.y': 'result' has no key 'y' (keys there: nothing)"
    )


@RUNTIMES
def test_path_through_a_non_mapping(run: Callable[..., Results]) -> None:
    error = run_error(run, source_then_sink(lambda: {"a": [1, 2]}, "result.a.b"))
    assert error.available is None and error.reached == "result.a"
    assert (error.node_id, error.path, error.missing) == ("a", "result.a.b", "b")
    assert str(error) == (
        "node 'a' output path 'result.a.b': 'result.a' is a list, not a mapping, "
        "so it has no key 'b'"
    )


@RUNTIMES
def test_path_into_a_scalar_result(run: Callable[..., Results]) -> None:
    error = run_error(run, source_then_sink(lambda: 3, "result.y"))
    assert "'result' is a int, not a mapping" in str(error)


@RUNTIMES
def test_undeclared_top_level_output_of_a_dynamic_node(run: Callable[..., Results]) -> None:
    error = run_error(run, source_then_sink(lambda: {"p": 1}, "q.r", output_dict=True))
    assert str(error) == "node 'a' produced no output 'q' for path 'q.r' (it produced: p)"
    assert error.reached == "" and error.available == ("p",)


def test_error_type_is_public_and_still_a_key_error() -> None:
    assert kaizen.OutputPathError is OutputPathError
    assert issubclass(OutputPathError, KeyError) and issubclass(OutputPathError, kaizen.KaizenError)


# --- build time -------------------------------------------------------------------------


def test_first_segment_checked_against_declared_outputs() -> None:
    builder = source_then_sink(lambda: {}, "value.y")
    with pytest.raises(WorkflowValidationError) as info:
        builder.build()
    assert "node 'a' has no output 'value' for path 'value.y' (outputs: result)" in str(info.value)


def test_dotted_path_on_a_declared_output_builds() -> None:
    builder = WorkflowBuilder()
    builder.add_node("MergeNode", "m")
    builder.add_node("PythonCodeNode", "b", {"function": echo})
    builder.add_connection("m", "merged.k", "b", "x")
    assert builder.build().connections[0].path == ("merged", "k")


@pytest.mark.parametrize("path", ["result.", ".result", "result..y", "."])
def test_empty_segment_rejected_at_add_connection(path: str) -> None:
    builder = WorkflowBuilder()
    with pytest.raises(WorkflowValidationError, match="empty path segment"):
        builder.add_connection("a", path, "b", "x")
