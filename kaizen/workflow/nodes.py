"""Built-in node types: PythonCodeNode, MergeNode and LLMAgentNode."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from inspect import CO_COROUTINE
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any

from kaizen.errors import WorkflowValidationError
from kaizen.workflow.node import Node, register_node

if TYPE_CHECKING:
    from kaizen.agent import Agent


def _is_coroutine_function(fn: Any) -> bool:
    """`inspect.iscoroutinefunction`, with a fast path for plain functions (3 us each on
    every workflow build otherwise)."""
    if type(fn) is FunctionType:
        return bool(fn.__code__.co_flags & CO_COROUTINE)
    return inspect.iscoroutinefunction(fn)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@register_node
class PythonCodeNode(Node):
    """Wraps a callable (`function`) or a code string (`code`) that sets `result`.

    Inputs arrive as keyword arguments (or as local variables for `code`); the output is
    `{"result": value}`. With `output_dict=True` a returned mapping becomes the outputs,
    so each key can be connected on its own.
    """

    config_keys = frozenset({"function", "code", "output_dict"})
    __slots__ = ("_call", "_code", "_is_async")

    def validate_config(self) -> None:
        super().validate_config()
        fn, code = self.config.get("function"), self.config.get("code")
        if (fn is None) == (code is None):
            raise WorkflowValidationError(
                f"node {self.node_id!r} (PythonCodeNode): give exactly one of 'function' "
                "(a callable) or 'code' (a string that assigns `result`)"
            )
        self._code = None
        if fn is not None:
            if not callable(fn):
                raise WorkflowValidationError(
                    f"node {self.node_id!r} (PythonCodeNode): 'function' must be callable, "
                    f"got {type(fn).__name__}"
                )
            self._call: Callable[..., Any] = fn
            self._is_async = _is_coroutine_function(fn)
        else:
            if not isinstance(code, str):
                raise WorkflowValidationError(
                    f"node {self.node_id!r} (PythonCodeNode): 'code' must be a string"
                )
            try:
                self._code = compile(code, f"<PythonCodeNode {self.node_id}>", "exec")
            except SyntaxError as exc:
                raise WorkflowValidationError(
                    f"node {self.node_id!r} (PythonCodeNode): code does not compile: {exc}"
                ) from None
            self._is_async = False

    def output_names(self) -> tuple[str, ...] | None:
        return None if self.config.get("output_dict") else ("result",)

    def _wrap(self, value: Any) -> dict[str, Any]:
        if not self.config.get("output_dict"):
            return {"result": value}
        if not isinstance(value, Mapping):
            raise TypeError(f"output_dict=True needs a mapping result, got {type(value).__name__}")
        return dict(value)

    @staticmethod
    def _exec(code: CodeType, inputs: dict[str, Any]) -> Any:
        # One namespace as globals: with separate locals, comprehensions and functions
        # defined in the code (their own scopes) could not see the inputs.
        namespace: dict[str, Any] = dict(inputs)  # exec adds __builtins__
        exec(code, namespace)
        if "result" not in namespace:
            raise NameError("code did not assign `result`")
        return namespace["result"]

    def run(self, **inputs: Any) -> dict[str, Any]:
        if self._code is not None:
            return self._wrap(self._exec(self._code, inputs))
        if self._is_async:
            if _loop_running():
                raise RuntimeError(
                    "this node wraps an async function and an event loop is already running; "
                    "execute the workflow with AsyncLocalRuntime instead of LocalRuntime"
                )
            return self._wrap(asyncio.run(self._call(**inputs)))
        return self._wrap(self._call(**inputs))

    async def arun(self, **inputs: Any) -> dict[str, Any]:
        if self._is_async:
            return self._wrap(await self._call(**inputs))
        return await asyncio.to_thread(self.run, **inputs)


@register_node
class MergeNode(Node):
    """Combines its inputs, in input-name order: `dict` merges mappings (later names win),
    `list` collects the values, `concat` joins sequences. Output: `{"merged": value}`."""

    config_keys = frozenset({"strategy"})
    outputs = ("merged",)
    _STRATEGIES = ("dict", "list", "concat")
    __slots__ = ()

    def validate_config(self) -> None:
        super().validate_config()
        strategy = self.config.get("strategy", "dict")
        if strategy not in self._STRATEGIES:
            raise WorkflowValidationError(
                f"node {self.node_id!r} (MergeNode): strategy must be one of "
                f"{', '.join(self._STRATEGIES)}, got {strategy!r}"
            )

    def run(self, **inputs: Any) -> dict[str, Any]:
        names = sorted(inputs)
        strategy = self.config.get("strategy")  # validated; absent means "dict"
        if strategy == "list":
            return {"merged": [inputs[name] for name in names]}
        if strategy == "concat":
            merged_list: list[Any] = []
            for name in names:
                value = inputs[name]
                if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
                    raise TypeError(
                        f"concat needs sequences; input {name!r} is {type(value).__name__}"
                    )
                merged_list.extend(value)
            return {"merged": merged_list}
        merged: dict[str, Any] = {}
        for name in names:
            value = inputs[name]
            if not isinstance(value, Mapping):
                raise TypeError(
                    f"dict merge needs mappings; input {name!r} is {type(value).__name__}"
                )
            merged.update(value)
        return {"merged": merged}

    async def arun(self, **inputs: Any) -> dict[str, Any]:
        return self.run(**inputs)


@register_node
class LLMAgentNode(Node):
    """Runs an agent: inputs are the signature's input fields, outputs its output fields
    plus `_meta` (usage, raw output, attempts). Config: `agent` (an `Agent`)."""

    config_keys = frozenset({"agent"})
    required_config = frozenset({"agent"})
    __slots__ = ("_agent",)

    def validate_config(self) -> None:
        super().validate_config()
        from kaizen.agent import Agent

        agent = self.config["agent"]
        if not isinstance(agent, Agent):
            raise WorkflowValidationError(
                f"node {self.node_id!r} (LLMAgentNode): 'agent' must be a kaizen Agent, got "
                f"{type(agent).__name__}; create one with Kaizen().create_agent(...)"
            )
        self._agent: Agent = agent

    def output_names(self) -> tuple[str, ...]:
        return (*self._agent.output_names, "_meta")

    def run(self, **inputs: Any) -> dict[str, Any]:
        return self._agent._invoke(inputs)

    async def arun(self, **inputs: Any) -> dict[str, Any]:
        return await self._agent._ainvoke(inputs)
