"""The test that is running now, and the tier rules it broke.

A guard (socket, provider) calls `violation(message)`: the message is recorded for the
running test and `TierViolation` raised. The test fails at the end of its call phase with
every recorded message, even when the code under test caught and swallowed the error.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import pytest

from tests.utils.errors import ToolkitError

from .layout import item_tier


class TierViolation(ToolkitError, RuntimeError):
    """A test broke its tier's rules (a mock in a real tier, a socket out of a unit test)."""


@dataclass
class Running:
    """One test at a time per process; nested pytester sessions save and restore it."""

    tier: str | None = None
    nodeid: str = ""
    violations: list[str] = field(default_factory=list)


#: The running test (module state: the guards are called from code that has no item).
current = Running()


def violation(message: str) -> TierViolation:
    """Record `message` for the running test; returns the error for the caller to raise."""
    current.violations.append(message)
    return TierViolation(message)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    global current
    saved = current
    current = Running(item_tier(item), item.nodeid)
    try:
        return (yield)
    finally:
        current = saved


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    before = len(current.violations)
    result = yield
    new = current.violations[before:]
    if new:
        raise TierViolation("; ".join(new))
    return result
