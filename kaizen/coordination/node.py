"""`CoordinationNode`: a pattern as one workflow node, so teams compose with ordinary
workflows. Inputs go to `pattern.arun(**inputs)`; outputs: `outputs` (the pattern's
answer), `result` (the typed result) and `success`."""

from __future__ import annotations

import asyncio
from typing import Any

from kaizen.errors import WorkflowValidationError
from kaizen.workflow.node import Node, register_node


@register_node
class CoordinationNode(Node):
    config_keys = frozenset({"pattern"})
    required_config = frozenset({"pattern"})
    outputs = ("outputs", "result", "success")
    __slots__ = ()

    def validate_config(self) -> None:
        super().validate_config()
        from kaizen.coordination._base import Pattern

        if not isinstance(self.config["pattern"], Pattern):
            raise WorkflowValidationError(
                f"node {self.node_id!r} (CoordinationNode): 'pattern' must be a coordination "
                f"pattern (e.g. Kaizen().supervisor_worker(...)), got "
                f"{type(self.config['pattern']).__name__}"
            )

    async def arun(self, **inputs: Any) -> dict[str, Any]:
        result = await self.config["pattern"].arun(**inputs)
        return {"outputs": dict(result.outputs), "result": result, "success": result.success}

    def run(self, **inputs: Any) -> dict[str, Any]:
        return asyncio.run(self.arun(**inputs))
