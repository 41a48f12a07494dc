"""node_tool's rules, on a recording node (the real databases are in the integration tier)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from kaizen.tools import ToolArgumentsError, ToolDefinitionError
from kaizen.tools.nodes import node_tool
from kaizen.workflow.node import Node


class Recording(Node):
    node_type: ClassVar[str] = "Recording"
    config_keys = frozenset({"query"})

    def __init__(self) -> None:
        super().__init__("rec", {"query": "fixed"})
        self.seen: list[dict[str, Any]] = []

    def run(self, **inputs: Any) -> dict[str, Any]:
        self.seen.append(inputs)
        return {"result": sorted(inputs), "other": 1}


def test_structured_nodes_need_to_inputs() -> None:
    with pytest.raises(ToolDefinitionError, match="pass to_inputs="):
        node_tool(Recording(), name="t", description="d", parameters={"x": int})


def test_to_inputs_and_output_shape_what_the_node_gets_and_returns() -> None:
    node = Recording()
    t = node_tool(
        node,
        name="find",
        description="Find by colour.",
        parameters={"colour": str, "limit": int},
        to_inputs=lambda v: {"filter": {"colour": v["colour"]}, "limit": v["limit"]},
        output="result",
    )
    assert t.description == "Find by colour." and t.name == "find"
    assert t.call({"colour": "red", "limit": 2}) == ["filter", "limit"]
    assert node.seen == [{"filter": {"colour": "red"}, "limit": 2}]
    with pytest.raises(ToolArgumentsError):
        t.call({"colour": "red"})
    assert len(node.seen) == 1, "invalid arguments never reach the node"
