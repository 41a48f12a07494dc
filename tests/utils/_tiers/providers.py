"""During integration/e2e tests kaizen's public switch `kaizen.providers.ALLOW_FAKE_PROVIDERS`
is off, so `register_provider` refuses factories not marked `@real_provider` (catches what
the static scan cannot see: a registration built at run time). A refusal is a tier
violation of the running test even when the code under test swallows the error: kaizen
raises a `sys.audit` event for each refusal, which this module forwards."""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import Any

import pytest

from kaizen.providers import override_allow_fake_providers, real_provider
from kaizen.providers.registry import REAL_PROVIDER_ATTR, REFUSED_AUDIT_EVENT

from . import violations
from .layout import REAL_TIERS

__all__ = ["REAL_PROVIDER_ATTR", "real_provider"]

_hook_installed = False


def _on_audit(event: str, args: tuple[Any, ...]) -> None:
    if event != REFUSED_AUDIT_EVENT or violations.current.tier not in REAL_TIERS:
        return
    name, factory = args[0], args[1]
    violations.violation(
        f"register_provider({name!r}, {factory!r}) in {violations.current.tier} test "
        f"{violations.current.nodeid}: integration/e2e tests may only register real providers "
        "(mark the factory with kaizen.providers.real_provider if it talks to a real server); "
        "fakes belong in tests/unit"
    )


def pytest_configure(config: pytest.Config) -> None:
    global _hook_installed
    if not _hook_installed:  # audit hooks live as long as the process: one is enough
        sys.addaudithook(_on_audit)
        _hook_installed = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    with override_allow_fake_providers(violations.current.tier not in REAL_TIERS):
        return (yield)
