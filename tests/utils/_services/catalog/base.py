"""What the stack asks of one service: one declaration per service module.

Why one interface: a service's knowledge (settings prefix, usability check, local starter,
container spec, URL, its isolated databases) used to be spread over six files, so adding a
service meant six edits that could drift apart. Each module of this package now holds one
service whole and ends with one `Service(...)` naming its parts (the idea of
testcontainers' community modules: a service and its wait strategy together); the rungs,
the health check and the pytest plugin only ever go through this interface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..docker_backend import ContainerSpec
    from ..health import Deadline
    from ..local import Started
    from ..settings import ServiceSettings, Settings


def _no_after_start(s: ServiceSettings, settings: Settings, timeout_s: float) -> str | None:
    return None


def _default_timeout(settings: Settings) -> float:
    return settings.start_timeout_s


@dataclass
class Service:
    """One service, as every part of the toolkit sees it."""

    name: str
    """The service's name in settings, markers, the CLI and the state file."""

    env_prefix: str
    """Its settings' prefix: `<prefix>HOST`, `PORT`, `DB`, `USER`, `PASSWORD`, `IMAGE`, ..."""

    fixture: str
    """The pytest plugin's session fixture that hands tests a healthy `ServiceStatus`."""

    url: Callable[..., str]
    """`url(settings, ...)`: the connection URL a client uses (passwords hidden in reprs)."""

    check: Callable[[ServiceSettings, Deadline], str]
    """`check(settings, deadline)`: do what a test would do; the server's version string, or
    `health.Unhealthy` with the reason. Every step takes its timeout from the deadline."""

    container_spec: Callable[[ServiceSettings], ContainerSpec]
    """`container_spec(settings)`: the Docker rung's container (image, environment, command,
    container port, files, volumes). docker-compose.test.yml must describe the same."""

    start_local: Callable[[ServiceSettings, Path, float], Started]
    """`start_local(settings, base_dir, timeout_s)`: the local rung's server as a child
    process bound to the configured loopback port (`local.LocalUnavailable` if this machine
    lacks it, `local.LocalStartError` if it did not come up)."""

    after_container_start: Callable[[ServiceSettings, Settings, float], str | None] = (
        _no_after_start
    )
    """What a fresh container still needs before it can be healthy (Ollama: its model);
    None when done, else why not."""

    start_timeout: Callable[[Settings], float] = _default_timeout
    """How long a start may take (the LLM server loads a model: longer)."""

    create_database: Callable[[ServiceSettings, str], Any] | None = None
    """Make an isolated database/schema named by the guard (`isolation.guard`), if the
    service has databases."""

    drop_database: Callable[[ServiceSettings, str], None] | None = None
    """Drop one made by `create_database` (guarded: never a name the toolkit did not make)."""
