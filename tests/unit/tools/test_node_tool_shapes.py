"""node_tool's defaults by node type, its output choice, timeout, and the function it wraps.

Why: for SQL and Redis nodes the model's values must reach the node's bound-parameter input
(`params` / `args`) in the declared order and the tool must read the node's data output
(`rows` / `result`), recognised by node type; any other node needs `to_inputs`, and without
`output` the tool returns every output. The timeout must reach the tool (a hung query
becomes a ToolTimeoutError), and the wrapped function keeps a real, introspectable
signature (keyword-only, annotated), as `Tool.function` promises a plain callable.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, ClassVar

import pytest

from kaizen.tools import ToolDefinitionError, ToolTimeoutError
from kaizen.tools.nodes import node_tool
from kaizen.workflow.node import Node


def _recording(class_name: str) -> Any:
    """A node class named `class_name` that records its inputs (outputs: rows, result)."""

    class Recorder(Node):
        node_type: ClassVar[str] = class_name
        config_keys = frozenset({"query"})

        def __init__(self) -> None:
            super().__init__("rec", {"query": "fixed"})
            self.seen: list[dict[str, Any]] = []

        def run(self, **inputs: Any) -> dict[str, Any]:
            self.seen.append(inputs)
            return {"rows": [{"n": 1}], "result": "OK", "other": 2}

    Recorder.__name__ = Recorder.__qualname__ = class_name
    return Recorder()


@pytest.mark.parametrize(
    ("node_type", "bound", "read"),
    [
        ("PostgresQueryNode", "params", [{"n": 1}]),
        ("MySQLQueryNode", "params", [{"n": 1}]),
        ("RedisCommandNode", "args", "OK"),
    ],
)
def test_sql_and_redis_nodes_get_the_values_in_order_as_bound_parameters(
    node_type: str, bound: str, read: object
) -> None:
    node = _recording(node_type)
    t = node_tool(node, name="find", description="Find.", parameters={"colour": str, "limit": int})
    assert t.call({"limit": 3, "colour": "red"}) == read
    assert node.seen == [{bound: ["red", 3]}]


def test_any_other_node_needs_to_inputs_and_the_error_names_tool_and_type() -> None:
    with pytest.raises(
        ToolDefinitionError, match=r"^tool 'find': Recording takes structured inputs; "
    ) as info:
        node_tool(_recording("Recording"), name="find", description="d", parameters={"x": int})
    assert info.value.tool == "find"


def test_without_output_the_tool_returns_every_output() -> None:
    node = _recording("Recording")
    t = node_tool(
        node,
        name="find",
        description="Find.",
        parameters={"x": int},
        to_inputs=lambda values: {"filter": values},
    )
    assert t.call({"x": 1}) == {"rows": [{"n": 1}], "result": "OK", "other": 2}
    assert node.seen == [{"filter": {"x": 1}}]


def test_the_timeout_bounds_the_node_run() -> None:
    release = threading.Event()
    node = _recording("PostgresQueryNode")
    node.run = lambda **inputs: release.wait(5) and {"rows": []}
    t = node_tool(node, name="slow", description="d", parameters={"x": int}, timeout=0.05)
    assert t.timeout == 0.05
    try:
        with pytest.raises(ToolTimeoutError) as info:
            t.call({"x": 1})
    finally:
        release.set()
    assert info.value.tool == "slow" and info.value.timeout_s == 0.05


def test_the_wrapped_function_has_a_keyword_only_annotated_signature() -> None:
    t = node_tool(
        _recording("PostgresQueryNode"),
        name="find",
        description="Find.",
        parameters={"colour": str, "limit": int},
    )
    assert t.name == t.function.__name__ == "find"
    assert str(inspect.signature(t.function)) == "(*, colour: str, limit: int)"
