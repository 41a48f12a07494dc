"""LocalRuntime: results and run ids, parameter checks, and failures that are never success."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from kaizen.errors import NodeExecutionError, WorkflowExecutionError, WorkflowValidationError
from kaizen.workflow import LocalRuntime, WorkflowBuilder


def add(x: int, y: int = 0) -> int:
    return x + y


def double(x: int) -> int:
    return 2 * x


def boom(**_: Any) -> None:
    raise ValueError("boom")


def node(builder: WorkflowBuilder, node_id: str, fn: Any, **config: Any) -> None:
    builder.add_node("PythonCodeNode", node_id, {"function": fn, **config})


def execute(builder: WorkflowBuilder, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    results, _ = LocalRuntime().execute(builder.build(), parameters)
    return results


def test_three_node_chain() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", add)
    node(builder, "b", double)
    node(builder, "c", add)
    builder.add_connection("a", "result", "b", "x")
    builder.add_connection("b", "result", "c", "x")
    results, run_id = LocalRuntime().execute(
        builder.build(), parameters={"a": {"x": 1, "y": 2}, "c": {"y": 10}}
    )
    assert results == {"a": {"result": 3}, "b": {"result": 6}, "c": {"result": 16}}
    assert list(results) == ["a", "b", "c"]
    assert re.fullmatch(r"[0-9a-f]{32}", run_id)


def test_run_id_is_fresh_per_run_or_given() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", lambda: 1)
    wf = builder.build()
    runtime = LocalRuntime()
    assert runtime.execute(wf)[1] != runtime.execute(wf)[1]
    assert runtime.execute(wf, run_id="mine")[1] == "mine"


def test_connection_overrides_nothing_else_and_parameters_are_not_mutated() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", lambda: 5)
    node(builder, "b", add)
    builder.add_connection("a", "result", "b", "x")
    params = {"b": {"y": 1}}
    assert execute(builder, params)["b"] == {"result": 6}
    assert params == {"b": {"y": 1}}


def test_not_built_builder_gets_a_hint() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", add)
    with pytest.raises(TypeError) as info:
        LocalRuntime().execute(builder)  # type: ignore[arg-type]
    assert str(info.value) == (
        "execute() needs a built Workflow, got WorkflowBuilder; "
        "call .build() on the WorkflowBuilder first"
    )


def test_non_workflow_has_no_build_hint() -> None:
    with pytest.raises(TypeError) as info:
        LocalRuntime().execute({"a": 1})  # type: ignore[arg-type]
    assert str(info.value) == "execute() needs a built Workflow, got dict"


def test_parameters_for_unknown_node() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", add)
    node(builder, "b", add)
    with pytest.raises(WorkflowValidationError, match=r"unknown node 'ghost' \(nodes: a, b\)"):
        execute(builder, {"ghost": {"x": 1}})


def test_parameters_must_be_mappings() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", add)
    with pytest.raises(WorkflowValidationError) as info:
        execute(builder, {"a": [1]})
    assert str(info.value) == "parameters for node 'a' must be a mapping, got list"


def fan_out_with_failure() -> WorkflowBuilder:
    """ok -> bad -> after -> later, and an independent branch ok -> side."""
    builder = WorkflowBuilder()
    node(builder, "ok", lambda: 1)
    node(builder, "bad", boom)
    node(builder, "after", double)
    node(builder, "later", double)
    node(builder, "side", double)
    node(builder, "solo", lambda: "alone")
    builder.add_connection("ok", "result", "bad", "x")
    builder.add_connection("bad", "result", "after", "x")
    builder.add_connection("after", "result", "later", "x")
    builder.add_connection("ok", "result", "side", "x")
    return builder


def test_failure_raises_with_partial_results_errors_and_skipped() -> None:
    with pytest.raises(WorkflowExecutionError) as info:
        LocalRuntime().execute(fan_out_with_failure().build(), run_id="r1")
    err = info.value
    assert err.run_id == "r1"
    assert err.results == {"ok": {"result": 1}, "side": {"result": 2}, "solo": {"result": "alone"}}
    assert list(err.errors) == ["bad"]
    wrapped = err.errors["bad"]
    assert isinstance(wrapped, NodeExecutionError) and wrapped.node_id == "bad"
    assert isinstance(wrapped.__cause__, ValueError) and wrapped.cause is wrapped.__cause__
    assert err.skipped == ("after", "later")
    assert "bad: NodeExecutionError: node 'bad' failed: ValueError: boom" in str(err)


def test_two_independent_failures_both_reported() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", boom)
    node(builder, "b", lambda: 1 / 0)
    with pytest.raises(WorkflowExecutionError) as info:
        execute(builder)
    assert set(info.value.errors) == {"a", "b"} and info.value.results == {}
    assert isinstance(info.value.errors["b"].__cause__, ZeroDivisionError)


def test_missing_required_argument_is_a_node_failure() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", add)
    with pytest.raises(WorkflowExecutionError) as info:
        execute(builder)
    assert isinstance(info.value.errors["a"].__cause__, TypeError)


class NotADict:
    pass


def test_node_returning_non_dict_fails() -> None:
    from kaizen.workflow import Node

    class Bad(Node):
        outputs = ("x",)

        def run(self, **inputs: Any) -> Any:
            return NotADict()

    from kaizen.workflow import AsyncLocalRuntime
    from kaizen.workflow.graph import Workflow

    wf = Workflow._from_parts({"bad": Bad("bad", {})}, (), ("bad",), "w")
    for execute in (LocalRuntime().execute, lambda w: asyncio.run(AsyncLocalRuntime().execute(w))):
        with pytest.raises(WorkflowExecutionError) as info:
            execute(wf)
        error = info.value.errors["bad"]
        assert str(error.__cause__) == "node 'bad' returned NotADict, expected a dict"


def test_missing_dynamic_output_names_what_was_produced() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", lambda: {"p": 1, "q": 2}, output_dict=True)
    node(builder, "b", double)
    builder.add_connection("a", "r", "b", "x")
    with pytest.raises(WorkflowExecutionError) as info:
        execute(builder)
    assert "node 'a' produced no output 'r' (it produced: p, q)" in str(info.value)
    assert info.value.results == {"a": {"p": 1, "q": 2}}


def test_same_workflow_runs_repeatedly_with_different_parameters() -> None:
    builder = WorkflowBuilder()
    node(builder, "a", double)
    wf = builder.build()
    runtime = LocalRuntime()
    assert [runtime.execute(wf, {"a": {"x": n}})[0]["a"]["result"] for n in range(3)] == [0, 2, 4]


def test_parameter_and_connection_on_the_same_input_is_rejected() -> None:
    from kaizen.errors import WorkflowValidationError
    from kaizen.workflow import LocalRuntime, WorkflowBuilder

    wf = WorkflowBuilder()
    wf.add_node("PythonCodeNode", "a", {"function": lambda: 1})
    wf.add_node("PythonCodeNode", "b", {"function": lambda x: x})
    wf.add_connection("a", "result", "b", "x")
    with pytest.raises(WorkflowValidationError, match=r"b\.x is given as a parameter"):
        LocalRuntime().execute(wf.build(), parameters={"b": {"x": 5}})


async def test_async_function_node_under_sync_runtime_in_a_loop_names_the_fix() -> None:
    from kaizen.errors import WorkflowExecutionError
    from kaizen.workflow import LocalRuntime, WorkflowBuilder

    async def fn() -> int:
        return 1

    wf = WorkflowBuilder()
    wf.add_node("PythonCodeNode", "a", {"function": fn})
    with pytest.raises(WorkflowExecutionError, match="AsyncLocalRuntime"):
        LocalRuntime().execute(wf.build())
