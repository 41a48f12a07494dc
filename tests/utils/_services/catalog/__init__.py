"""The built-in services, named in one table and loaded by name.

Adding a service is one module here (ending with `SERVICE = Service(...)`, see base.py), its
name in `BUILTIN`, its keys in tests/utils/services.env and its entry in
docker-compose.test.yml. Nothing heavy is imported until a service is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Service

#: name -> module of this package; the order is the order of `status` and `up`
BUILTIN: tuple[str, ...] = ("postgresql", "redis", "mysql", "mongodb", "ollama")

_LOADED: dict[str, Service] = {}


def get(name: str) -> Service:
    """The service called `name`; UnknownServiceError for any other name."""
    found = _LOADED.get(name)
    if found is not None:
        return found
    if name not in BUILTIN:
        from ..settings import UnknownServiceError

        raise UnknownServiceError(name)
    service: Service = importlib.import_module(f"{__name__}.{name}").SERVICE
    if service.name != name:
        raise RuntimeError(f"catalog/{name}.py declares a service named {service.name!r}")
    _LOADED[name] = service
    return service


def services() -> list[Service]:
    return [get(name) for name in BUILTIN]
