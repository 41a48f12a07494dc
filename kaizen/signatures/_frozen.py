"""Read-only dict/list subclasses for cached schemas.

A compiled signature is cached and shared, so a caller that mutated its JSON Schema would
corrupt every later run. Subclassing dict/list (instead of MappingProxyType) keeps the
schema a real dict: `json.dumps`, `==` against plain dicts and HTTP clients all work.
`schema.copy()` gives a shallow mutable dict; `copy.deepcopy(schema)` a fully mutable tree.
"""

from __future__ import annotations

from typing import Any, NoReturn


def _readonly(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__} is read-only (it is shared by a cached compiled signature); "
        "use copy.deepcopy() for a mutable copy"
    )


class FrozenDict(dict[str, Any]):
    """A dict that refuses mutation."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _readonly
    clear = pop = popitem = setdefault = update = _readonly

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {k: thaw(v) for k, v in self.items()}


class FrozenList(list[Any]):
    """A list that refuses mutation."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _readonly
    append = clear = extend = insert = pop = remove = reverse = sort = _readonly

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self),))

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return [thaw(v) for v in self]


def freeze(value: Any) -> Any:
    """A read-only copy of a JSON-like tree (dicts and lists; scalars are already immutable).

    Scalars are passed through without a call: schemas are mostly scalar leaves, and this
    runs on every cold compile.
    """
    kind = type(value)
    if kind is dict or kind is FrozenDict:
        return FrozenDict({k: v if type(v) in _SCALARS else freeze(v) for k, v in value.items()})
    if kind is list or kind is tuple or kind is FrozenList:
        return FrozenList([v if type(v) in _SCALARS else freeze(v) for v in value])
    if isinstance(value, dict):  # other dict subclasses: the slow, general path
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return FrozenList(map(freeze, value))
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a (possibly frozen) JSON-like tree."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value
