"""The node contract and the registry that maps string node types to classes."""

from __future__ import annotations

import asyncio
import difflib
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
_builtins_loaded = False
N = TypeVar("N", bound=type[Node])


def _load_builtins() -> None:
    """Import the built-in nodes once. Keyed on a flag, not on an empty registry: a user's
    `@register_node` that runs first must not hide PythonCodeNode and friends."""
    global _builtins_loaded
    if not _builtins_loaded:
        from kaizen.workflow import nodes  # noqa: F401  (registers the built-ins)

        _builtins_loaded = True


def register_node(cls: N | None = None, *, name: str | None = None, replace: bool = False) -> Any:
    """Class decorator: make a node type addressable by name in `WorkflowBuilder.add_node`."""

    def decorate(node_cls: N) -> N:
        if not (isinstance(node_cls, type) and issubclass(node_cls, Node)):
            raise TypeError(f"@register_node needs a Node subclass, got {node_cls!r}")
        key = name or node_cls.__name__
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
    """Look a node type up; an unknown name fails with the closest registered names."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), _REGISTRY, n=3, cutoff=0.5)
        raise UnknownNodeTypeError(str(name), close) from None


def registered_node_types() -> tuple[str, ...]:
    _load_builtins()
    return tuple(sorted(_REGISTRY))
