"""The exact texts of workflow errors (config keys, node types, build problems) and the
builder's defaults: what a user reads when a workflow is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen.errors import UnknownNodeTypeError, WorkflowValidationError
from kaizen.workflow import Node, WorkflowBuilder, get_node_type, register_node


def _config_error(node_type: str, config: dict[str, Any]) -> str:
    builder = WorkflowBuilder()
    builder.add_node(node_type, "n", config)
    with pytest.raises(WorkflowValidationError) as info:
        builder.build()
    return str(info.value)


def test_an_unknown_config_key_names_the_closest_and_every_accepted_key() -> None:
    assert _config_error("MergeNode", {"strategi": "list"}) == (
        "invalid workflow: node 'n' (MergeNode): unknown config key 'strategi'; "
        "did you mean 'strategy'? (accepted: strategy)"
    )
    assert _config_error("PythonCodeNode", {"code": "result = 1", "zzz": 1}) == (
        "invalid workflow: node 'n' (PythonCodeNode): unknown config key 'zzz' "
        "(accepted: code, function, output_dict)"
    )


@pytest.mark.usefixtures("node_registry")
def test_a_node_without_config_keys_says_none_and_missing_keys_are_all_named() -> None:
    @register_node(name="Bare")
    class Bare(Node):
        outputs = ("x",)

    @register_node(name="Needy")
    class Needy(Node):
        outputs = ("x",)
        config_keys = frozenset({"alpha", "beta", "gamma"})
        required_config = frozenset({"alpha", "beta"})

    assert _config_error("Bare", {"k": 1}) == (
        "invalid workflow: node 'n' (Bare): unknown config key 'k' (accepted: none)"
    )
    assert _config_error("Needy", {"gamma": 1}) == (
        "invalid workflow: node 'n' (Needy): missing required config alpha, beta"
    )


def test_every_build_problem_is_listed_in_one_error() -> None:
    builder = WorkflowBuilder()
    builder.add_node("MergeNode", "m", {})
    builder.add_connection("m", "merged", "m", "x")
    builder.add_connection("ghost", "out", "m", "y")
    with pytest.raises(WorkflowValidationError) as info:
        builder.build()
    assert str(info.value) == (
        "invalid workflow: connection m.merged -> m.x: a node cannot feed itself; "
        "connection ghost.out -> m.y: unknown node 'ghost'"
    )


def test_a_workflow_is_named_workflow_unless_named() -> None:
    assert WorkflowBuilder().build().name == "workflow"
    assert WorkflowBuilder("etl").build().name == "etl"


@pytest.mark.usefixtures("node_registry")
def test_unknown_node_type_names_it_and_at_most_three_close_ones() -> None:
    for n in range(5):
        register_node(type(f"Alphanode{n}", (Node,), {"outputs": ("x",)}))
    with pytest.raises(UnknownNodeTypeError) as info:
        get_node_type("Alphanode")
    assert info.value.node_type == "Alphanode"
    assert len(info.value.suggestions) == 3
    assert str(info.value).startswith("unknown node type 'Alphanode'; did you mean ")


def test_a_loosely_similar_node_type_is_still_suggested() -> None:
    # "MergeXYZW" shares 5 of 9 characters with "MergeNode": similarity 0.56 (cutoff 0.5)
    with pytest.raises(UnknownNodeTypeError) as info:
        get_node_type("MergeXYZW")
    assert "MergeNode" in info.value.suggestions
