"""Tiers that enforce themselves: the plugin the root conftest registers.

It only loads its parts, one job per module in `tests/utils/_tiers/` (see `PLUGINS` there):
directory-derived tier markers and the never-collected toolkit (`layout`), the static
no-mock scan of integration/e2e modules (`scan`), kaizen's `ALLOW_FAKE_PROVIDERS` switch off
in integration/e2e tests (`providers`), loopback-only sockets in unit tests (`sockets`),
per-tier default timeouts through pytest-timeout (`timeouts`), and failing a test whose
guard tripped even when the error was swallowed (`violations`).

PytestCollectionWarning and "coroutine ... was never awaited" are errors through
`filterwarnings` in pyproject.toml; the plugin's own tests prove both fail a run.

The names below are re-exported lazily: importing the parts here, before pytest loads them
as plugins, would keep pytest from rewriting their asserts.
"""

from __future__ import annotations

import importlib
from typing import Any

from tests.utils._tiers import PLUGINS

pytest_plugins = [f"tests.utils._tiers.{name}" for name in PLUGINS]

_EXPORTS = {
    "DEFAULT_TIMEOUTS": "timeouts",
    "Finding": "scan",
    "REAL_PROVIDER_ATTR": "providers",
    "REAL_TIERS": "layout",
    "STANDARD_OLLAMA_PORT": "sockets",
    "SocketGuard": "sockets",
    "TESTS_ROOT": "layout",
    "TIERS": "layout",
    "TierViolation": "violations",
    "is_loopback": "sockets",
    "item_tier": "layout",
    "real_provider": "providers",
    "scan_source": "scan",
    "tier_of": "layout",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    part = _EXPORTS.get(name)
    if part is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"tests.utils._tiers.{part}"), name)


def __dir__() -> list[str]:
    return __all__
