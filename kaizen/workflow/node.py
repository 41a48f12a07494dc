"""The node contract and the registry that maps string node types to classes."""

from __future__ import annotations

import asyncio
import difflib
import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from kaizen.errors import UnknownNodeTypeError, WorkflowValidationError


class Node:
    """One step of a workflow.

    Subclasses declare `config_keys` (accepted config keys; `required_config` must be
    present) and `outputs` (the names `run` returns, or None when they depend on config),
    and implement `run(**inputs) -> dict`. `arun` defaults to running `run` in a thread so
    a blocking node never stalls the event loop; override it for native async work.
    """

    node_type: ClassVar[str] = "Node"
    config_keys: ClassVar[frozenset[str]] = frozenset()
    required_config: ClassVar[frozenset[str]] = frozenset()
    outputs: ClassVar[tuple[str, ...] | None] = None

    __slots__ = ("config", "node_id")

    def __init__(self, node_id: str, config: Mapping[str, Any]) -> None:
        self.node_id = node_id
        self.config = MappingProxyType(dict(config))
        self.validate_config()

    def validate_config(self) -> None:
        """Reject unknown and missing config keys; subclasses add value checks."""
        unknown = set(self.config) - self.config_keys
        if unknown:
            key = sorted(unknown)[0]
            close = difflib.get_close_matches(key, self.config_keys, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise WorkflowValidationError(
                f"node {self.node_id!r} ({self.node_type}): unknown config key {key!r}{hint} "
                f"(accepted: {', '.join(sorted(self.config_keys)) or 'none'})"
            )
        missing = self.required_config - set(self.config)
        if missing:
            raise WorkflowValidationError(
                f"node {self.node_id!r} ({self.node_type}): missing required config "
                f"{', '.join(sorted(missing))}"
            )

    def output_names(self) -> tuple[str, ...] | None:
        """The outputs this instance produces, if known before it runs."""
        return self.outputs

    def run(self, **inputs: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def arun(self, **inputs: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self.run, **inputs)


_REGISTRY: dict[str, type[Node]] = {}
N = TypeVar("N", bound=type[Node])

# The built-in node types, by name, as "module:attribute" (the model: pytest's
# `default_plugins`, loaded by name). The one place built-ins are listed: `add_node` works
# in a fresh process without the user importing kaizen.dataflow first, yet `import kaizen`
# and a workflow of PythonCodeNodes never import the database or coordination modules.
BUILTIN_NODE_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "PythonCodeNode": "kaizen.workflow.nodes:PythonCodeNode",
        "MergeNode": "kaizen.workflow.nodes:MergeNode",
        "LLMAgentNode": "kaizen.workflow.nodes:LLMAgentNode",
        "PostgresQueryNode": "kaizen.dataflow.postgres:PostgresQueryNode",
        "MySQLQueryNode": "kaizen.dataflow.mysql:MySQLQueryNode",
        "MongoDBNode": "kaizen.dataflow.mongodb:MongoDBNode",
        "RedisCommandNode": "kaizen.dataflow.redis:RedisCommandNode",
        "CoordinationNode": "kaizen.coordination.node:CoordinationNode",
    }
)


def _load_builtin(name: str) -> type[Node]:
    """Import one built-in by its table entry and make sure it is registered. Registered
    here rather than trusting the import's decorator, so a registry restored by a test (or
    a module imported before the registry was cleared) still resolves."""
    module_name, _, attribute = BUILTIN_NODE_TYPES[name].partition(":")
    node_cls = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(node_cls, type) and issubclass(node_cls, Node)) or (
        node_cls.node_type != name
    ):
        raise TypeError(  # the table is wrong: a bug in kaizen, not in the caller's code
            f"built-in node table entry {name!r} -> {BUILTIN_NODE_TYPES[name]!r} is not a "
            f"Node registered as {name!r}: {node_cls!r}"
        )
    return _REGISTRY.setdefault(name, node_cls)


def register_node(cls: N | None = None, *, name: str | None = None, replace: bool = False) -> Any:
    """Class decorator: make a node type addressable by name in `WorkflowBuilder.add_node`."""

    def decorate(node_cls: N) -> N:
        if not (isinstance(node_cls, type) and issubclass(node_cls, Node)):
            raise TypeError(f"@register_node needs a Node subclass, got {node_cls!r}")
        key = name or node_cls.__name__
        if key in BUILTIN_NODE_TYPES and key not in _REGISTRY:
            # Taking a built-in's name must clash (or replace) the same way whether or not
            # the built-in happened to be imported already.
            if BUILTIN_NODE_TYPES[key] == f"{node_cls.__module__}:{node_cls.__qualname__}":
                _REGISTRY[key] = node_cls  # the built-in registering itself
            else:
                _load_builtin(key)
        existing = _REGISTRY.get(key)
        if existing is not None and existing is not node_cls and not replace:
            raise ValueError(
                f"node type {key!r} is already registered to {existing.__qualname__}; "
                "pass replace=True to override it"
            )
        node_cls.node_type = key
        _REGISTRY[key] = node_cls
        return node_cls

    return decorate(cls) if cls is not None else decorate


def get_node_type(name: str) -> type[Node]:
    """Look a node type up (built-ins load on first use); an unknown name fails with the
    closest names, built-ins not yet loaded included."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        pass
    if isinstance(name, str) and name in BUILTIN_NODE_TYPES:
        return _load_builtin(name)
    close = difflib.get_close_matches(str(name), registered_node_types(), n=3, cutoff=0.5)
    raise UnknownNodeTypeError(str(name), close) from None


def registered_node_types() -> tuple[str, ...]:
    """Every addressable name: registered ones and the built-ins, loaded or not."""
    return tuple(sorted(_REGISTRY.keys() | BUILTIN_NODE_TYPES.keys()))
