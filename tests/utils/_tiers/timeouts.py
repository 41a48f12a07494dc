"""Every test gets its tier's default timeout, enforced by pytest-timeout.

`@pytest.mark.timeout(s)` overrides the default; `--tier-timeout-scale=N` (or
`KAIZEN_TEST_TIMEOUT_SCALE`) multiplies every timeout, markers included, and 0 disables
them. pytest-timeout's own `--timeout`/`timeout` ini/`PYTEST_TIMEOUT`, when given, replaces
the tier defaults. A test that times out gets a report section naming where its limit
came from.

Why pytest-timeout rather than our own SIGALRM timer: it is the well-kept implementation
(signal method on the main thread, a stack-dumping thread method elsewhere, debugger
detection). The one thing it does not do is nest: cancelling a test's timer resets
SIGALRM, which would disarm the outer test's timer whenever a test runs an inner pytest
session in process (pytester). `_NestedTimers` saves the outer timer before pytest-timeout
arms its own and re-arms it, minus the time spent, after pytest-timeout cancels.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest

from .layout import item_tier

DEFAULT_TIMEOUTS: dict[str, float] = {"unit": 60.0, "integration": 600.0, "e2e": 1200.0}
SCALE_ENV = "KAIZEN_TEST_TIMEOUT_SCALE"


@dataclass(frozen=True, slots=True)
class TierTimeout:
    """The timeout one test runs with, and where it came from (for the failure report)."""

    base: float
    origin: str
    scale: float

    @property
    def seconds(self) -> float:
        return self.base * self.scale


_TIMEOUT_KEY = pytest.StashKey[TierTimeout]()
_OUTER_KEY = pytest.StashKey[tuple[Any, float, float, float]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kaizen tiers")
    group.addoption(
        "--tier-timeout-scale",
        type=float,
        default=None,
        help=f"multiply every per-test timeout (0 disables them); env {SCALE_ENV}",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("timeout"):
        raise pytest.UsageError(
            "the tier plugin's per-test timeouts need pytest-timeout, which is not installed "
            "(or was disabled with -p no:timeout): pip install -e '.[test]'"
        )
    if not config.pluginmanager.has_plugin("kaizen-nested-timers"):
        config.pluginmanager.register(_NestedTimers(), "kaizen-nested-timers")


def _scale(config: pytest.Config) -> float:
    scale = config.getoption("--tier-timeout-scale")
    if scale is None:
        scale = float(os.environ.get(SCALE_ENV, "1") or 1)
    if scale < 0:
        raise pytest.UsageError(f"--tier-timeout-scale must be >= 0, got {scale:g}")
    return float(scale)


def _library_default_given(config: pytest.Config) -> bool:
    return (
        config.getoption("timeout", None) is not None
        or bool(os.environ.get("PYTEST_TIMEOUT"))
        or bool(config.getini("timeout"))
    )


def _marker_seconds(item: pytest.Item, marker: pytest.Mark) -> float:
    seconds = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.timeout needs a number of seconds >= 0, got {seconds!r}"
        )
    return float(seconds)


@pytest.hookimpl(trylast=True)  # after `layout` gave every item its tier marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    scale = _scale(config)
    library_default = _library_default_given(config)
    for item in items:
        marker = item.get_closest_marker("timeout")
        if marker is not None:
            base = _marker_seconds(item, marker)
            chosen = TierTimeout(base, "@pytest.mark.timeout", scale)
            kwargs = {k: v for k, v in marker.kwargs.items() if k != "timeout"}
            if scale != 1:
                item.add_marker(
                    pytest.mark.timeout(chosen.seconds, *marker.args[1:], **kwargs), append=False
                )
        elif library_default:
            continue  # pytest-timeout's own default applies, as its docs say
        else:
            tier = item_tier(item) or "unit"
            chosen = TierTimeout(DEFAULT_TIMEOUTS[tier], f"{tier} tier default", scale)
            item.add_marker(pytest.mark.timeout(chosen.seconds), append=False)
        item.stash[_TIMEOUT_KEY] = chosen


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    chosen = item.stash.get(_TIMEOUT_KEY, None)
    if report.failed and chosen is not None and "from pytest-timeout" in str(report.longrepr):
        report.sections.append(
            (
                "kaizen tier timeout",
                f"{item.nodeid} exceeded its {chosen.seconds:g}s timeout ({chosen.origin} "
                f"{chosen.base:g}s x scale {chosen.scale:g}); a hang, or a wait without a "
                "deadline? Raise it with @pytest.mark.timeout(s) or --tier-timeout-scale",
            )
        )
    return report


class _NestedTimers:
    """Keeps an outer SIGALRM timer alive across an inner pytest session's tests."""

    @pytest.hookimpl(wrapper=True)
    def pytest_timeout_set_timer(
        self, item: pytest.Item, settings: Any
    ) -> Generator[None, object, object]:
        if threading.current_thread() is threading.main_thread():
            handler = signal.getsignal(signal.SIGALRM)
            delay, interval = signal.getitimer(signal.ITIMER_REAL)
            if delay > 0:
                item.stash[_OUTER_KEY] = (handler, delay, interval, time.monotonic())
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_timeout_cancel_timer(self, item: pytest.Item) -> Generator[None, object, object]:
        result = yield
        outer = item.stash.get(_OUTER_KEY, None)
        if outer is not None:
            del item.stash[_OUTER_KEY]
            handler, delay, interval, started = outer
            remaining = max(delay - (time.monotonic() - started), 0.001)
            signal.signal(signal.SIGALRM, handler)
            signal.setitimer(signal.ITIMER_REAL, remaining, interval)
        return result
