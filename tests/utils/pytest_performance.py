"""pytest plugin for performance tests.

- `@pytest.mark.performance(max_ms=..., max_memory_mb=...)` runs the test's call phase under
  a PerformanceTracker and fails the test when a limit is exceeded (fixtures are not timed).
- Every PerformanceTracker finished during a test (marked or not) is shown in a terminal
  summary table and, with `--perf-report=PATH.json`, written to a JSON file.
- Under xdist, performance tests are grouped onto one worker (`xdist_group`) instead of
  being switched off; plain `-n N` (dist=load) is upgraded to dist=loadgroup, which treats
  ungrouped tests exactly like load.

Records travel from xdist workers to the controller as `user_properties` of the reports.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any, cast

import pytest

from ._perf.baseline import machine_class
from ._perf.suite import format_duration
from ._perf.tracker import PerformanceTracker, record_count, recorded_metrics

USER_PROPERTY = "kaizen_performance"
XDIST_GROUP = "performance"
_LOADGROUP_KEY = "kaizen_performance_loadgroup"
_MARKER_KWARGS = frozenset({"max_ms", "max_memory_mb"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("performance", "Kaizen performance tracking")
    group.addoption(
        "--perf-report",
        metavar="PATH.json",
        default=None,
        help="write every tracked operation (marked tests and PerformanceTracker blocks) "
        "to this JSON file",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "performance(max_ms=None, max_memory_mb=None): a tracked performance test",
    )
    config.pluginmanager.register(_PerformancePlugin(config), "kaizen-performance-state")
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None:
        # workers re-parse argv (where dist is still "load"); the controller tells them.
        if worker_input.get(_LOADGROUP_KEY):
            config.option.loadgroup = True
    elif getattr(config.option, "numprocesses", None) and config.option.dist == "load":
        config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: tell each worker whether to tag grouped tests for loadgroup."""
    node.workerinput[_LOADGROUP_KEY] = node.config.option.dist == "loadgroup"


def _limits(item: pytest.Item) -> tuple[float | None, float | None] | None:
    marker = item.get_closest_marker("performance")
    if marker is None:
        return None
    unknown = set(marker.kwargs) - _MARKER_KWARGS
    if marker.args or unknown:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.performance takes only keyword arguments "
            f"max_ms and max_memory_mb; got args={marker.args!r}, unknown={sorted(unknown)}"
        )
    max_ms = marker.kwargs.get("max_ms")
    max_mb = marker.kwargs.get("max_memory_mb")
    for key, value in (("max_ms", max_ms), ("max_memory_mb", max_mb)):
        if value is not None and (not isinstance(value, int | float) or value <= 0):
            raise pytest.UsageError(f"{item.nodeid}: performance({key}=...) must be > 0")
    return max_ms, max_mb


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _limits(item) is not None:
            item.add_marker(pytest.mark.xdist_group(XDIST_GROUP))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    __tracebackhide__ = True
    limits = _limits(item)
    if limits is None:
        return (yield)
    max_ms, max_mb = limits
    tracker = PerformanceTracker(item.nodeid, threshold_ms=max_ms, max_memory_mb=max_mb)
    tracker.start()
    try:
        result = yield
    except BaseException as exc:
        tracker.stop(error=f"{type(exc).__name__}: {exc}")
        raise
    tracker.stop()
    if max_ms is not None or max_mb is not None:
        tracker.assert_performance()
    return result


def _over(row: dict[str, Any]) -> str:
    if row["status"] == "failed":
        return "FAILED"
    if row["threshold_ms"] is not None and row["wall_ms"] > row["threshold_ms"]:
        return "OVER TIME"
    if row["max_memory_mb"] is not None and row["rss_peak_growth_mb"] > row["max_memory_mb"]:
        return "OVER MEMORY"
    return "ok" if row["threshold_ms"] is not None or row["max_memory_mb"] is not None else "-"


def _table(rows: list[dict[str, Any]]) -> list[str]:
    header = ["operation", "wall", "cpu", "rss peak +MB", "limit", "verdict"]
    body = []
    for row in rows:
        limits = []
        if row["threshold_ms"] is not None:
            limits.append(format_duration(row["threshold_ms"]))
        if row["max_memory_mb"] is not None:
            limits.append(f"{row['max_memory_mb']:g} MB")
        body.append(
            [
                row["name"] if row["name"] == row["test"] else f"{row['name']} [{row['test']}]",
                format_duration(row["wall_ms"]),
                format_duration(row["cpu_ms"]),
                f"{row['rss_peak_growth_mb']:.1f}",
                ", ".join(limits) or "-",
                _over(row),
            ]
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)).rstrip() for b in body]
    return lines


_active: list[_PerformancePlugin] = []
"""Sessions alive in this process, innermost last (pytester runs sessions in-process)."""


class _PerformancePlugin:
    """Per-session state: which records were already attached, and the collected rows.

    Records are published to one process-wide list. A session nested inside a test (a
    pytester run) owns what is published while it is alive; the enclosing session skips
    those records instead of reporting them as its own.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.born = self.seen = record_count()
        self.rows: list[dict[str, Any]] = []
        self.foreign: list[range] = []  # record indices that nested sessions own
        _active.append(self)

    def pytest_unconfigure(self) -> None:
        if self in _active:
            _active.remove(self)
            if _active:
                _active[-1].foreign.append(range(self.born, record_count()))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Worker side of loadgroup: make sure grouped tests carry the `@group` suffix.

        xdist 3.8 writes the suffix to `item._nodeid`, which pytest >= 9.2 (structured node
        ids) no longer reads, so grouping silently stops (pytest-dev/pytest-xdist#1386).
        When the suffix is missing after xdist's own hook, set it on the structured id.
        """
        config = self.config
        if not (hasattr(config, "workerinput") and config.getoption("loadgroup", False)):
            return
        for item in items:
            marks = item.iter_markers("xdist_group")
            names = sorted(
                {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}
            )
            suffix = "@" + "_".join(names)
            if not names or item.nodeid.endswith(suffix):
                continue
            from _pytest.nodeid import NodeId  # only reached on pytest with structured ids

            object.__setattr__(item, "_id", NodeId.parse(item.nodeid + suffix))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> None:
        """Attach records finished since the last phase; the report copies user_properties."""
        new = recorded_metrics(since=self.seen)
        first = self.seen
        self.seen += len(new)
        for index, metrics in enumerate(new, start=first):
            if any(index in owned for owned in self.foreign):
                continue
            item.user_properties.append((USER_PROPERTY, metrics.to_dict()))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # teardown carries everything attached in setup, call and teardown, exactly once.
        if report.when != "teardown":
            return
        for key, value in report.user_properties:
            if key == USER_PROPERTY:
                # what pytest_runtest_makereport attached: a PerformanceMetrics.to_dict()
                self.rows.append({"test": report.nodeid, **cast("dict[str, Any]", value)})

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.rows or hasattr(self.config, "workerinput"):
            return
        terminalreporter.write_sep("=", f"performance: {len(self.rows)} tracked operation(s)")
        for line in _table(self.rows):
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self) -> None:
        path = self.config.getoption("--perf-report")
        if not path or hasattr(self.config, "workerinput"):
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine_class": machine_class(), "records": self.rows}
        target.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
