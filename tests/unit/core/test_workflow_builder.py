"""WorkflowBuilder: node types by name, 4-argument connections, every problem found at build,
and an immutable built Workflow."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from kaizen.errors import UnknownNodeTypeError, WorkflowValidationError
from kaizen.workflow import Connection, Workflow, WorkflowBuilder, registered_node_types


def ident(**kwargs: Any) -> Any:
    return kwargs


def fn_node(builder: WorkflowBuilder, *ids: str) -> None:
    for node_id in ids:
        builder.add_node("PythonCodeNode", node_id, {"function": ident})


def chain(*ids: str) -> WorkflowBuilder:
    builder = WorkflowBuilder()
    fn_node(builder, *ids)
    for source, target in itertools.pairwise(ids):
        builder.add_connection(source, "result", target, "x")
    return builder


def build_error(builder: WorkflowBuilder) -> str:
    with pytest.raises(WorkflowValidationError) as info:
        builder.build()
    return str(info.value)


# --- add_node / add_connection -------------------------------------------------------------


def test_builtin_node_types_registered() -> None:
    assert {"PythonCodeNode", "MergeNode", "LLMAgentNode"} <= set(registered_node_types())


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("PythonCodeNod", "PythonCodeNode"),
        ("pythoncodenode", "PythonCodeNode"),
        ("Merge", "MergeNode"),
    ],
)
def test_unknown_node_type_suggests_closest(typo: str, suggestion: str) -> None:
    with pytest.raises(UnknownNodeTypeError) as info:
        WorkflowBuilder().add_node(typo, "a")
    assert suggestion in info.value.suggestions
    assert f"did you mean {suggestion!r}" in str(info.value) or suggestion in str(info.value)


def test_unknown_node_type_without_close_match() -> None:
    with pytest.raises(UnknownNodeTypeError) as info:
        WorkflowBuilder().add_node("Zzzzzzzz", "a")
    assert info.value.suggestions == () and "did you mean" not in str(info.value)


def test_non_string_node_type_is_unknown() -> None:
    with pytest.raises(UnknownNodeTypeError):
        WorkflowBuilder().add_node(["PythonCodeNode"], "a")  # type: ignore[arg-type]


@pytest.mark.parametrize("node_id", ["", None, 3])
def test_add_node_rejects_bad_ids(node_id: Any) -> None:
    with pytest.raises(WorkflowValidationError, match="node id must be a non-empty string"):
        WorkflowBuilder().add_node("MergeNode", node_id)


def test_add_node_rejects_non_mapping_config() -> None:
    with pytest.raises(WorkflowValidationError, match="config must be a mapping, got list"):
        WorkflowBuilder().add_node("MergeNode", "m", [("strategy", "list")])  # type: ignore[arg-type]


def test_add_node_returns_id_and_connection_chains() -> None:
    builder = WorkflowBuilder()
    assert builder.add_node("PythonCodeNode", "a", {"function": ident}) == "a"
    builder.add_node("PythonCodeNode", "b", {"function": ident})
    assert builder.add_connection("a", "result", "b", "x") is builder


@pytest.mark.parametrize("position", range(4))
@pytest.mark.parametrize("bad", ["", None])
def test_add_connection_validates_each_argument(position: int, bad: Any) -> None:
    args: list[Any] = ["a", "result", "b", "x"]
    args[position] = bad
    label = ("source_id", "source_output", "target_id", "target_input")[position]
    with pytest.raises(WorkflowValidationError, match=f"add_connection: {label} must be"):
        WorkflowBuilder().add_connection(*args)


def test_config_is_copied_at_add_node() -> None:
    config: dict[str, Any] = {"strategy": "list"}
    builder = WorkflowBuilder()
    builder.add_node("MergeNode", "m", config)
    config["strategy"] = "bogus"
    assert builder.build().nodes["m"].config["strategy"] == "list"


# --- build() validation --------------------------------------------------------------------


def test_duplicate_node_id() -> None:
    builder = WorkflowBuilder()
    fn_node(builder, "a", "a")
    assert "duplicate node id 'a'" in build_error(builder)


@pytest.mark.parametrize(
    ("source", "target", "missing"), [("ghost", "a", "ghost"), ("a", "ghost", "ghost")]
)
def test_connection_to_unknown_node(source: str, target: str, missing: str) -> None:
    builder = WorkflowBuilder()
    fn_node(builder, "a")
    builder.add_connection(source, "result", target, "x")
    assert f"unknown node {missing!r}" in build_error(builder)


def test_input_fed_twice() -> None:
    builder = chain("a", "c")
    fn_node(builder, "b")
    builder.add_connection("b", "result", "c", "x")
    message = build_error(builder)
    assert "input c.x is already fed by a.result -> c.x" in message


def test_self_loop() -> None:
    builder = WorkflowBuilder()
    fn_node(builder, "a")
    builder.add_connection("a", "result", "a", "x")
    assert "a node cannot feed itself" in build_error(builder)


def test_cycle_reported_with_path() -> None:
    builder = chain("a", "b", "c")
    builder.add_connection("c", "result", "a", "x")
    assert "cycle a -> b -> c -> a" in build_error(builder)


def test_cycle_reported_when_a_node_hangs_off_the_cycle() -> None:
    # "tail" is added first and depends on the cycle without being part of it: the error
    # must still name the cycle, not crash while looking for it.
    builder = WorkflowBuilder()
    fn_node(builder, "tail", "a", "b")
    builder.add_connection("a", "result", "b", "x")
    builder.add_connection("b", "result", "a", "x")
    builder.add_connection("b", "result", "tail", "x")
    message = build_error(builder)
    assert "cycle" in message
    assert "a -> b -> a" in message or "b -> a -> b" in message
    assert "tail" not in message


def test_cycle_behind_an_acyclic_prefix() -> None:
    builder = chain("start", "a", "b")
    builder.add_connection("b", "result", "a", "y")
    message = build_error(builder)
    assert "a -> b -> a" in message or "b -> a -> b" in message


def test_undeclared_output_rejected_at_build() -> None:
    builder = WorkflowBuilder()
    fn_node(builder, "a", "b")
    builder.add_connection("a", "value", "b", "x")
    assert "node 'a' has no output 'value' (outputs: result)" in build_error(builder)


def test_merge_node_declares_merged() -> None:
    builder = WorkflowBuilder()
    builder.add_node("MergeNode", "m")
    fn_node(builder, "b")
    builder.add_connection("m", "result", "b", "x")
    assert "(outputs: merged)" in build_error(builder)


def test_output_dict_outputs_are_not_checked_at_build() -> None:
    builder = WorkflowBuilder()
    builder.add_node("PythonCodeNode", "a", {"function": ident, "output_dict": True})
    fn_node(builder, "b")
    builder.add_connection("a", "anything", "b", "x")
    assert isinstance(builder.build(), Workflow)


def test_build_reports_every_problem_at_once() -> None:
    builder = WorkflowBuilder()
    fn_node(builder, "a", "a")
    builder.add_node("MergeNode", "m", {"strategy": "zip"})
    builder.add_connection("a", "result", "ghost", "x")
    message = build_error(builder)
    assert "duplicate node id 'a'" in message
    assert "strategy must be one of dict, list, concat" in message
    assert "unknown node 'ghost'" in message


def test_connection_from_node_with_bad_config_is_not_called_unknown() -> None:
    builder = WorkflowBuilder()
    builder.add_node("MergeNode", "m", {"strategy": "zip"})
    fn_node(builder, "b")
    builder.add_connection("m", "merged", "b", "x")
    message = build_error(builder)
    assert "strategy must be one of" in message and "unknown node" not in message


@pytest.mark.parametrize(
    ("node_type", "config", "fragment"),
    [
        ("PythonCodeNode", {}, "give exactly one of 'function'"),
        ("PythonCodeNode", {"function": ident, "code": "result = 1"}, "give exactly one of"),
        ("PythonCodeNode", {"function": 5}, "'function' must be callable, got int"),
        ("PythonCodeNode", {"code": b"result = 1"}, "'code' must be a string"),
        ("PythonCodeNode", {"code": "result = ("}, "code does not compile"),
        (
            "PythonCodeNode",
            {"functon": ident},
            "unknown config key 'functon'; did you mean 'function'?",
        ),
        ("MergeNode", {"strategy": "zip"}, "strategy must be one of dict, list, concat, got 'zip'"),
        ("MergeNode", {"mode": "list"}, "accepted: strategy"),
        ("LLMAgentNode", {}, "missing required config agent"),
    ],
)
def test_node_config_checked_at_build(
    node_type: str, config: dict[str, Any], fragment: str
) -> None:
    builder = WorkflowBuilder()
    builder.add_node(node_type, "n", config)
    message = build_error(builder)
    assert fragment in message and "'n'" in message


# --- the built Workflow ----------------------------------------------------------------------


def test_topological_order_is_stable_insertion_order() -> None:
    builder = WorkflowBuilder("diamond")
    fn_node(builder, "d", "b", "c", "a")
    builder.add_connection("a", "result", "b", "x")
    builder.add_connection("a", "result", "c", "x")
    builder.add_connection("b", "result", "d", "x")
    builder.add_connection("c", "result", "d", "y")
    wf = builder.build()
    assert wf.order == ("a", "b", "c", "d") == wf.node_ids
    assert len(wf) == 4 and wf.name == "diamond"
    assert wf.predecessors["d"] == frozenset({"b", "c"})
    assert wf.incoming["d"] == (
        Connection("b", "result", "d", "x"),
        Connection("c", "result", "d", "y"),
    )
    assert wf.incoming["a"] == () and wf.predecessors["a"] == frozenset()


def test_connection_str() -> None:
    assert str(Connection("a", "result", "b", "x")) == "a.result -> b.x"


def test_built_workflow_is_frozen() -> None:
    wf = chain("a", "b").build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.order = ("b", "a")  # type: ignore[misc]
    with pytest.raises(TypeError):
        wf.nodes["c"] = wf.nodes["a"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del wf.nodes["a"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        wf.incoming["a"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        wf.predecessors["a"] = frozenset()  # type: ignore[index]
    with pytest.raises(TypeError):
        wf.nodes["a"].config["function"] = print  # type: ignore[index]
    assert isinstance(wf.connections, tuple)


def test_builder_changes_after_build_do_not_leak() -> None:
    builder = chain("a", "b")
    wf = builder.build()
    fn_node(builder, "c")
    builder.add_connection("b", "result", "c", "x")
    assert wf.order == ("a", "b") and len(wf.connections) == 1
    assert builder.build().order == ("a", "b", "c")
