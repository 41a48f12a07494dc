"""The workflow core: string-typed nodes, 4-argument connections, immutable built graphs,
and runtimes that never report a failed node as success."""

from kaizen.workflow.builder import WorkflowBuilder
from kaizen.workflow.graph import Connection, Workflow
from kaizen.workflow.node import Node, get_node_type, register_node, registered_node_types
from kaizen.workflow.runtime import AsyncLocalRuntime, LocalRuntime

__all__ = [
    "AsyncLocalRuntime",
    "Connection",
    "LocalRuntime",
    "Node",
    "Workflow",
    "WorkflowBuilder",
    "get_node_type",
    "register_node",
    "registered_node_types",
]
