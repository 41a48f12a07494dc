"""Database nodes as tools: the query is fixed by the programmer, the model fills values in.

Why this shape: a model must never write SQL or a Redis command. The node's query text (or
command) is fixed when the tool is made; the model supplies only typed values, which reach
the server through the driver's parameter binding (`params` / `args`), so whatever it
writes is data, never code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from kaizen.tools.errors import ToolDefinitionError
from kaizen.tools.tool import Tool
from kaizen.workflow.node import Node

#: node type -> (input that takes the values in declared order, output the model reads)
_DEFAULTS: dict[str, tuple[str, str]] = {
    "PostgresQueryNode": ("params", "rows"),
    "MySQLQueryNode": ("params", "rows"),
    "RedisCommandNode": ("args", "result"),
}


def node_tool(
    node: Node,
    *,
    name: str,
    description: str,
    parameters: Mapping[str, Any],
    to_inputs: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
    output: str | None = None,
    timeout: float | None = None,
) -> Tool:
    """A tool that runs `node` with the model's validated `parameters` (name -> type).

    For SQL and Redis nodes the values go, in the order given, to the node's `params` /
    `args` input; any other node (MongoDBNode: build the filter yourself) needs `to_inputs`,
    which turns the validated values into the node's inputs.
    """
    node_type = type(node).__name__
    default_input, default_output = _DEFAULTS.get(node_type, (None, None))
    if to_inputs is None:
        if default_input is None:
            raise ToolDefinitionError(
                name,
                f"tool {name!r}: {node_type} takes structured inputs; pass to_inputs= to "
                "map the model's values onto them (e.g. a MongoDB filter you build)",
            )
        ordered = list(parameters)

        def to_inputs(values: dict[str, Any]) -> Mapping[str, Any]:
            return {default_input: [values[key] for key in ordered]}

    read = output or default_output
    mapper = to_inputs

    def run(**values: Any) -> Any:
        outputs = node.run(**mapper(values))
        return outputs[read] if read is not None else outputs

    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
            for key, annotation in parameters.items()
        ]
    )
    run.__annotations__ = dict(parameters)
    run.__name__ = name
    return Tool(run, name=name, description=description, timeout=timeout)
