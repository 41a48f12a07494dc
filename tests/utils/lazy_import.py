"""`lazy_import(name)`: a stand-in for a module whose real import waits for the first use of
one of its public attributes.

For test modules that need a heavy client (`ollama` builds an httpx client and an SSL context
when imported, ~0.2 s) only inside test bodies: collecting them should not pay for it.
Private and dunder lookups never load: pytest's fixture scan probes every module-level
object for such attributes (which is why `importlib.util.LazyLoader`, loading on any
attribute access, is no help here).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any


class _Lazy:
    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_import(name: str) -> Any:
    """The module `name` if already imported, else a stand-in that imports it on first use.

    A module that does not exist fails here, at once, not at its first use.
    """
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    if importlib.util.find_spec(name) is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return _Lazy(name)
