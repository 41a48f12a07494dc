"""Performance toolkit: measure a block, benchmark an operation, guard against regressions.

- `PerformanceTracker`: one block's wall time, CPU time, RSS (start/end/peak) and optional
  tracemalloc peak; `assert_performance()` names the figure, the limit and the measurement.
- `BenchmarkSuite`: calibrated, repeated rounds with median/p95/MAD, a table, a JSON export.
- `KaizenFrameworkBenchmark`: the framework's standard operations as one suite.
- Baselines per machine class and `compare()`, which only calls a change that is above the
  threshold *and* outside the noise band, after normalising by a reference workload.

The implementation lives in the private package `tests.utils._perf`.
"""

from __future__ import annotations

from typing import Any

from ._perf.baseline import (
    BASELINE_DIR,
    Baseline,
    BaselineEntry,
    BaselineNotFoundError,
    Comparison,
    MachineClassMismatchError,
    compare,
    load_baseline,
    machine_class,
    measure_reference,
    save_baseline,
)
from ._perf.stats import SampleStats, mad, percentile
from ._perf.suite import BenchmarkResult, BenchmarkSuite, format_duration, format_table
from ._perf.tracker import (
    PerformanceAssertionError,
    PerformanceMetrics,
    PerformanceTracker,
    recorded_metrics,
)

__all__ = [
    "BASELINE_DIR",
    "SEED_LIMITS_MS",  # noqa: F822 - lazy, see __getattr__
    "Baseline",
    "BaselineEntry",
    "BaselineNotFoundError",
    "BenchmarkResult",
    "BenchmarkSuite",
    "Comparison",
    "KaizenFrameworkBenchmark",  # noqa: F822 - lazy, see __getattr__
    "MachineClassMismatchError",
    "PerformanceAssertionError",
    "PerformanceMetrics",
    "PerformanceTracker",
    "SampleStats",
    "compare",
    "format_duration",
    "format_table",
    "load_baseline",
    "machine_class",
    "mad",
    "measure_reference",
    "percentile",
    "recorded_metrics",
    "save_baseline",
]


def __getattr__(name: str) -> Any:
    # The framework benchmark pulls in kaizen; load it only when asked for.
    if name in ("KaizenFrameworkBenchmark", "SEED_LIMITS_MS"):
        from ._perf import framework

        return getattr(framework, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
