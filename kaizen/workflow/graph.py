"""The immutable, validated workflow graph that `WorkflowBuilder.build()` returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kaizen.workflow.node import Node


@dataclass(frozen=True, slots=True)
class Connection:
    """One edge. A dotted `source_output` ("result.a.b") is a path into the source's dict
    output; `path` is split once here so the runtime pays nothing per run."""

    source: str
    source_output: str
    target: str
    target_input: str
    path: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", tuple(self.source_output.split(".")))

    def __str__(self) -> str:
        return f"{self.source}.{self.source_output} -> {self.target}.{self.target_input}"


@dataclass(frozen=True, slots=True)
class Workflow:
    """A built workflow: nodes in a valid execution order with their incoming edges.

    Everything a runtime needs is precomputed here once, so executing the same workflow
    many times (every agent run does) costs no graph work.
    """

    nodes: Mapping[str, Node]
    connections: tuple[Connection, ...]
    order: tuple[str, ...]
    incoming: Mapping[str, tuple[Connection, ...]]
    predecessors: Mapping[str, frozenset[str]]
    name: str = "workflow"

    @classmethod
    def _from_parts(
        cls,
        nodes: dict[str, Node],
        connections: tuple[Connection, ...],
        order: tuple[str, ...],
        name: str,
    ) -> Workflow:
        incoming: dict[str, list[Connection]] = {node_id: [] for node_id in nodes}
        for conn in connections:
            incoming[conn.target].append(conn)
        return cls(
            nodes=MappingProxyType(dict(nodes)),
            connections=connections,
            order=order,
            incoming=MappingProxyType({k: tuple(v) for k, v in incoming.items()}),
            predecessors=MappingProxyType(
                {k: frozenset(c.source for c in v) for k, v in incoming.items()}
            ),
            name=name,
        )

    @property
    def node_ids(self) -> tuple[str, ...]:
        return self.order

    def __len__(self) -> int:
        return len(self.order)
