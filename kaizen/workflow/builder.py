"""`WorkflowBuilder`: collects nodes and connections, then validates them all at `build()`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kaizen.errors import WorkflowValidationError
from kaizen.workflow.graph import Connection, Workflow
from kaizen.workflow.node import Node, get_node_type


class WorkflowBuilder:
    """Mutable description of a workflow. `build()` returns an immutable `Workflow`.

    Unknown node types fail at `add_node` (with the closest names). Everything that needs
    the whole graph (duplicate ids, dangling or ambiguous connections, cycles) is checked
    at `build()`, which reports every problem at once.
    """

    __slots__ = ("_connections", "_nodes", "name")

    def __init__(self, name: str = "workflow") -> None:
        self.name = name
        self._nodes: list[tuple[str, type[Node], dict[str, Any]]] = []
        self._connections: list[Connection] = []

    def add_node(
        self, node_type: str, node_id: str, config: Mapping[str, Any] | None = None
    ) -> str:
        """Add a node by registered type name; returns its id."""
        node_cls = get_node_type(node_type)
        if not isinstance(node_id, str) or not node_id:
            raise WorkflowValidationError(f"node id must be a non-empty string, got {node_id!r}")
        if config is not None and not isinstance(config, Mapping):
            raise WorkflowValidationError(
                f"node {node_id!r}: config must be a mapping, got {type(config).__name__}"
            )
        self._nodes.append((node_id, node_cls, dict(config or {})))
        return node_id

    def add_connection(
        self, source_id: str, source_output: str, target_id: str, target_input: str
    ) -> WorkflowBuilder:
        """Feed `source_id`'s output `source_output` into `target_id`'s input `target_input`.

        `source_output` may be a dotted path ("result.a.b") into a dict output: the first
        segment is checked against the node's declared outputs at `build()`, the rest when
        the node has run (a missing key is an `OutputPathError`, never None).
        """
        for label, value in (
            ("source_id", source_id),
            ("source_output", source_output),
            ("target_id", target_id),
            ("target_input", target_input),
        ):
            if not isinstance(value, str) or not value:
                raise WorkflowValidationError(
                    f"add_connection: {label} must be a non-empty string, got {value!r}"
                )
        if "" in source_output.split("."):
            raise WorkflowValidationError(
                f"add_connection: source_output {source_output!r} has an empty path segment; "
                "write an output name, or a dotted path into it such as 'result.key'"
            )
        self._connections.append(Connection(source_id, source_output, target_id, target_input))
        return self

    def build(self) -> Workflow:
        problems: list[str] = []
        nodes: dict[str, Node] = {}
        for node_id, node_cls, config in self._nodes:
            if node_id in nodes:
                problems.append(f"duplicate node id {node_id!r}")
                continue
            try:
                nodes[node_id] = node_cls(node_id, config)
            except WorkflowValidationError as exc:
                problems.append(str(exc))
        seen_inputs: dict[tuple[str, str], Connection] = {}
        for conn in self._connections:
            for end in (conn.source, conn.target):
                if end not in nodes and all(end != n for n, _, _ in self._nodes):
                    problems.append(f"connection {conn}: unknown node {end!r}")
            if conn.source == conn.target:
                problems.append(f"connection {conn}: a node cannot feed itself")
            previous = seen_inputs.get((conn.target, conn.target_input))
            if previous is not None:
                problems.append(
                    f"connection {conn}: input {conn.target}.{conn.target_input} is already fed "
                    f"by {previous}"
                )
            seen_inputs[(conn.target, conn.target_input)] = conn
            source = nodes.get(conn.source)
            declared = source.output_names() if source is not None else None
            # Only the first segment of a dotted path is knowable before the node runs.
            if declared is not None and conn.path[0] not in declared:
                via = f" for path {conn.source_output!r}" if len(conn.path) > 1 else ""
                problems.append(
                    f"connection {conn}: node {conn.source!r} has no output "
                    f"{conn.path[0]!r}{via} (outputs: {', '.join(declared)})"
                )
        if problems:
            raise WorkflowValidationError("invalid workflow: " + "; ".join(problems))
        connections = tuple(self._connections)
        return Workflow._from_parts(
            nodes, connections, _topological_order(nodes, connections), self.name
        )


def _topological_order(
    nodes: Mapping[str, Node], connections: tuple[Connection, ...]
) -> tuple[str, ...]:
    """Kahn's algorithm, stable in insertion order; a cycle is reported with its path."""
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    indegree = dict.fromkeys(nodes, 0)
    for conn in connections:
        if conn.target not in successors[conn.source]:
            successors[conn.source].append(conn.target)
            indegree[conn.target] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    if len(order) != len(nodes):
        raise WorkflowValidationError(f"invalid workflow: cycle {_find_cycle(successors, order)}")
    return tuple(order)


def _find_cycle(successors: dict[str, list[str]], done: list[str]) -> str:
    """Walk predecessors backwards: every node Kahn's algorithm left over has a left-over
    predecessor (a forward walk can dead-end on a node that merely hangs off a cycle), so the
    walk must revisit a node, and the revisited stretch, reversed, is a cycle."""
    finished = set(done)
    preds: dict[str, list[str]] = {n: [] for n in successors if n not in finished}
    for source in preds:
        for target in successors[source]:
            if target in preds:
                preds[target].append(source)
    node = next(iter(preds))
    path, seen = [node], {node: 0}
    while True:
        node = preds[node][0]
        if node in seen:
            return " -> ".join(reversed([*path[seen[node] :], node]))
        seen[node] = len(path)
        path.append(node)
