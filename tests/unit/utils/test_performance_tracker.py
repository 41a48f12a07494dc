"""PerformanceTracker: figures, failed blocks, limits, the sampler and the recorder."""

from __future__ import annotations

import mmap
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.utils import PerformanceTracker
from tests.utils._perf.tracker import record_count
from tests.utils.performance_tracker import (
    PerformanceAssertionError,
    PerformanceMetrics,
    recorded_metrics,
)

MB = 1024 * 1024


def fresh_memory(size: int) -> mmap.mmap:
    """`size` bytes the process cannot already have resident: a new anonymous mapping with
    every page written. A `bytearray` may come from memory the allocator kept from an
    earlier test, and then RSS does not grow at all (seen in a mutation run's stats pass)."""
    memory = mmap.mmap(-1, size)
    for offset in range(0, size, mmap.PAGESIZE):
        memory[offset] = 1
    return memory


def busy_for(seconds: float) -> None:
    """Burn CPU until the deadline (a real slow block, not a sleep)."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        threading.Event().wait(0.002)


def test_usage_as_documented_passes_and_returns_typed_record() -> None:
    with PerformanceTracker("agent_creation", threshold_ms=10_000) as tracker:
        sum(range(1000))
    metrics = tracker.assert_performance()
    assert isinstance(metrics, PerformanceMetrics)
    assert metrics.status == "passed"
    assert metrics.name == "agent_creation"
    assert 0 < metrics.wall_ms < 10_000
    assert metrics.cpu_ms >= 0.0
    assert metrics.rss_start_mb > 0 and metrics.rss_end_mb > 0
    assert metrics.rss_peak_mb >= max(metrics.rss_start_mb, metrics.rss_end_mb) - 1e-9
    assert metrics.error is None
    assert tracker.get_metrics() is metrics


def test_zero_is_zero_and_unmeasured_is_none() -> None:
    with PerformanceTracker("nothing") as tracker:
        pass
    m = tracker.get_metrics()
    # no sampler and no allocation: growth is a number (0.0), never missing
    assert m.rss_peak_growth_mb == 0.0 or m.rss_peak_growth_mb > 0.0
    assert isinstance(m.rss_delta_mb, float)
    assert m.children_cpu_ms is None  # not asked for
    assert m.tracemalloc_peak_mb is None  # not asked for
    assert m.rss_samples == 1
    data = m.to_dict()
    assert data["rss_delta_mb"] == m.rss_delta_mb
    assert data["rss_peak_growth_mb"] == m.rss_peak_growth_mb
    assert data["children_cpu_ms"] is None


def test_deliberately_slow_block_fails_and_names_figure_limit_and_measurement() -> None:
    with PerformanceTracker("slow_op", threshold_ms=5) as tracker:
        busy_for(0.05)
    with pytest.raises(PerformanceAssertionError) as info:
        tracker.assert_performance()
    err = info.value
    assert err.figure == "wall time" and err.limit == 5 and err.unit == "ms"
    assert err.measured >= 50
    assert "slow_op: wall time" in str(err) and "exceeds the limit 5.000 ms" in str(err)
    assert isinstance(err, AssertionError)


def test_assert_inside_block_measures_up_to_that_point() -> None:
    with PerformanceTracker("partial", threshold_ms=20) as tracker:
        running = tracker.assert_performance()
        assert running.status == "running"
        busy_for(0.04)
        with pytest.raises(PerformanceAssertionError):
            tracker.assert_performance()
    assert tracker.get_metrics().status == "passed"


def test_memory_hog_trips_max_memory_mb() -> None:
    with PerformanceTracker("hog", max_memory_mb=16) as tracker:
        hog = fresh_memory(64 * MB)
    with pytest.raises(PerformanceAssertionError) as info:
        tracker.assert_performance()
    assert info.value.figure == "peak RSS growth" and info.value.unit == "MB"
    assert info.value.measured > 16
    assert len(hog) == 64 * MB
    hog.close()


def test_sampler_catches_a_spike_freed_before_the_block_ends() -> None:
    with PerformanceTracker("spike", max_memory_mb=16, sample_interval_s=0.001) as tracker:
        hog = fresh_memory(64 * MB)
        seen = tracker.rss_samples
        wait_until(lambda: tracker.rss_samples >= seen + 2)
        hog.close()
    m = tracker.get_metrics()
    assert m.rss_samples >= 3
    assert m.rss_peak_growth_mb > 16
    assert m.rss_peak_mb > m.rss_end_mb
    with pytest.raises(PerformanceAssertionError, match="peak RSS growth"):
        tracker.assert_performance()


def test_override_limits_at_assert_time() -> None:
    with PerformanceTracker("override") as tracker:
        busy_for(0.02)
    with pytest.raises(PerformanceAssertionError):
        tracker.assert_performance(max_ms=1)
    assert tracker.assert_performance(max_ms=60_000, max_memory_mb=10_000).status == "passed"


def test_no_limit_is_a_usage_error() -> None:
    with PerformanceTracker("unlimited") as tracker:
        pass
    with pytest.raises(ValueError, match="no limit to assert"):
        tracker.assert_performance()


def test_failed_block_is_recorded_as_failed() -> None:
    before = record_count()
    tracker = PerformanceTracker("boom", threshold_ms=10_000)
    with pytest.raises(KeyError), tracker:
        raise KeyError("missing")
    m = tracker.get_metrics()
    assert m.status == "failed" and m.error == "KeyError: 'missing'"
    assert recorded_metrics(since=before)[-1] is m
    with pytest.raises(AssertionError, match="block failed"):
        tracker.assert_performance()


def test_publish_false_keeps_the_record_private() -> None:
    before = record_count()
    with PerformanceTracker("private", publish=False):
        pass
    assert record_count() == before


def test_cpu_monitoring_and_tracemalloc() -> None:
    with PerformanceTracker("cpu", monitor_cpu=True, trace_memory=True) as tracker:
        busy_for(0.03)
        data = [str(i) for i in range(50_000)]
    m = tracker.get_metrics()
    assert len(data) == 50_000
    assert m.cpu_ms > 10
    assert 0 < m.cpu_utilisation <= 2.5
    assert m.rss_samples >= 2
    assert m.tracemalloc_peak_mb is not None and m.tracemalloc_peak_mb > 1


def test_tracemalloc_already_running_is_left_running() -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        with PerformanceTracker("traced", trace_memory=True) as tracker:
            data = [0] * 100_000
        assert tracemalloc.is_tracing()
        assert tracker.get_metrics().tracemalloc_peak_mb is not None
        assert len(data) == 100_000
    finally:
        tracemalloc.stop()


def test_child_process_cpu_is_counted_when_asked() -> None:
    code = "import time\nd = time.process_time() + 0.1\nwhile time.process_time() < d: pass"
    with PerformanceTracker("children", children=True) as tracker:
        subprocess.run([sys.executable, "-c", code], check=True)
    m = tracker.get_metrics()
    assert m.children_cpu_ms is not None and m.children_cpu_ms >= 50


def test_live_child_server_cpu_is_counted() -> None:
    code = (
        "import sys, time\nd = time.process_time() + 0.1\n"
        "while time.process_time() < d: pass\nsys.stdin.read()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    try:
        with PerformanceTracker("server", children=True) as tracker:
            import psutil

            child = psutil.Process(proc.pid)
            wait_until(lambda: sum(child.cpu_times()[:2]) >= 0.1, timeout=30)
        assert tracker.get_metrics().children_cpu_ms is not None
        assert tracker.get_metrics().children_cpu_ms > 0
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_lifecycle_errors() -> None:
    tracker = PerformanceTracker("life")
    with pytest.raises(RuntimeError, match="never started"):
        tracker.get_metrics()
    with pytest.raises(RuntimeError, match="not started"):
        tracker.stop()
    tracker.start()
    with pytest.raises(RuntimeError, match="already running"):
        tracker.start()
    tracker.stop()
    assert tracker.rss_samples == 0


@pytest.mark.parametrize("kwargs", [{"threshold_ms": 0}, {"max_memory_mb": -1}])
def test_nonpositive_limits_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        PerformanceTracker("bad", **kwargs)


def test_lazy_exports() -> None:
    import tests.utils.performance_tracker as pt

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pt.Nope  # noqa: B018


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux peak-RSS counter")
def test_a_spike_between_two_samples_still_trips_the_memory_limit() -> None:
    """The sampler waits 60 s between samples, so only the kernel's high-water mark can see
    a 64 MB allocation that is freed again inside the block."""
    tracker = PerformanceTracker("spike", max_memory_mb=16, sample_interval_s=60.0)
    with tracker:
        fresh_memory(64 * MB).close()
    assert tracker.get_metrics().rss_peak_growth_mb >= 48
    with pytest.raises(PerformanceAssertionError, match="peak RSS growth"):
        tracker.assert_performance()
