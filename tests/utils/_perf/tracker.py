"""PerformanceTracker: measure one block (wall, CPU, RSS, optional tracemalloc) and assert
limits with a message that names the figure, the limit and the measurement.

Every finished tracker publishes its record to the process-wide recorder so the pytest
plugin can show a summary table without the test having to hand anything over.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, Literal

from tests.utils.errors import ToolkitError

_MB = 1024 * 1024
Status = Literal["running", "passed", "failed"]


class PerformanceAssertionError(ToolkitError, AssertionError):
    """A measured figure exceeded its limit (or the measured block itself failed)."""

    def __init__(self, name: str, figure: str, limit: float, measured: float, unit: str) -> None:
        self.name = name
        self.figure = figure
        self.limit = limit
        self.measured = measured
        self.unit = unit
        super().__init__(
            f"{name}: {figure} {measured:.3f} {unit} exceeds the limit {limit:.3f} {unit}"
        )


@dataclass(frozen=True, slots=True)
class PerformanceMetrics:
    """One measured block. A figure that was measured is a number (zero stays 0.0); a figure
    that was not asked for is None, so "not measured" can never be mistaken for "free"."""

    name: str
    status: Status
    wall_ms: float
    cpu_ms: float
    children_cpu_ms: float | None
    rss_start_mb: float
    rss_end_mb: float
    rss_peak_mb: float
    rss_samples: int
    tracemalloc_peak_mb: float | None
    threshold_ms: float | None
    max_memory_mb: float | None
    error: str | None = None

    @property
    def rss_delta_mb(self) -> float:
        """RSS growth from start to end of the block (may be negative)."""
        return self.rss_end_mb - self.rss_start_mb

    @property
    def rss_peak_growth_mb(self) -> float:
        """Peak RSS above the start: what `max_memory_mb` limits."""
        return max(0.0, self.rss_peak_mb - self.rss_start_mb)

    @property
    def cpu_utilisation(self) -> float:
        """Process CPU time over wall time (1.0 = one core busy the whole block)."""
        return self.cpu_ms / self.wall_ms if self.wall_ms > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rss_delta_mb"] = self.rss_delta_mb
        data["rss_peak_growth_mb"] = self.rss_peak_growth_mb
        return data


# --- process-wide recorder (read by the pytest plugin) ----------------------------------

_records: list[PerformanceMetrics] = []
_records_lock = threading.Lock()


def recorded_metrics(since: int = 0) -> list[PerformanceMetrics]:
    """Records published in this process, oldest first, from index `since` on."""
    with _records_lock:
        return _records[since:]


def record_count() -> int:
    """How many records were published so far (a cursor for `recorded_metrics(since=)`)."""
    with _records_lock:
        return len(_records)


def _publish(metrics: PerformanceMetrics) -> None:
    with _records_lock:
        _records.append(metrics)


# --- measurement helpers -----------------------------------------------------------------


def _process() -> Any:
    import psutil  # lazily: importing the toolkit must not cost psutil's import

    return psutil.Process(os.getpid())


def _rss_bytes(proc: Any) -> int:
    return int(proc.memory_info().rss)


def _children_cpu_s(proc: Any) -> tuple[float, dict[int, float]]:
    """CPU seconds of reaped children (os.times) and of each live descendant (psutil)."""
    import psutil

    times = os.times()
    live: dict[int, float] = {}
    for child in proc.children(recursive=True):
        try:
            ct = child.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        live[child.pid] = ct.user + ct.system
    return times.children_user + times.children_system, live


def _reset_rss_high_water_mark() -> bool:
    """Reset the kernel's peak-RSS counter (Linux: "5" to /proc/self/clear_refs).

    With it the peak of a block is exact, however short the spike; the sampler thread alone
    can miss an allocation that comes and goes between two samples.
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _rss_high_water_mark_bytes() -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class _RssSampler(threading.Thread):
    """Samples RSS every `interval_s` so short spikes inside the block reach the peak."""

    def __init__(self, proc: Any, interval_s: float) -> None:
        super().__init__(name="perf-rss-sampler", daemon=True)
        self._proc = proc
        self._interval_s = interval_s
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self.peak = 0
        self.samples = 0

    def sample(self) -> int:
        rss = _rss_bytes(self._proc)
        with self._lock:
            self.peak = max(self.peak, rss)
            self.samples += 1
        return rss

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self._interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5.0)


class PerformanceTracker:
    """Context manager measuring one block.

    `threshold_ms` limits wall time; `max_memory_mb` limits peak RSS growth above the RSS at
    entry (growth, not absolute RSS, so the limit means the same in a fat test process and a
    lean script). A sampler thread runs while `monitor_cpu` or `max_memory_mb` is set, so a
    spike freed before the block ends still counts. `children=True` adds the CPU time of
    child processes (reaped ones and live servers). `trace_memory=True` reports the
    tracemalloc peak of Python allocations.
    """

    def __init__(
        self,
        name: str,
        threshold_ms: float | None = None,
        max_memory_mb: float | None = None,
        monitor_cpu: bool = False,
        *,
        children: bool = False,
        trace_memory: bool = False,
        sample_interval_s: float = 0.005,
        publish: bool = True,
    ) -> None:
        if threshold_ms is not None and threshold_ms <= 0:
            raise ValueError(f"{name}: threshold_ms must be > 0, got {threshold_ms}")
        if max_memory_mb is not None and max_memory_mb <= 0:
            raise ValueError(f"{name}: max_memory_mb must be > 0, got {max_memory_mb}")
        self.name = name
        self.threshold_ms = threshold_ms
        self.max_memory_mb = max_memory_mb
        self.monitor_cpu = monitor_cpu
        self.children = children
        self.trace_memory = trace_memory
        self.sample_interval_s = sample_interval_s
        self.publish = publish
        self._proc: Any = None
        self._sampler: _RssSampler | None = None
        self._kernel_peak = False
        self._started_tracemalloc = False
        self._t0 = 0
        self._cpu0 = 0.0
        self._rss0 = 0
        self._children0: tuple[float, dict[int, float]] | None = None
        self._metrics: PerformanceMetrics | None = None
        self._running = False

    # --- context manager ------------------------------------------------------------------

    def __enter__(self) -> PerformanceTracker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        error = None if exc is None else f"{type(exc).__name__}: {exc}"
        self.stop(error=error)

    def start(self) -> PerformanceTracker:
        if self._running:
            raise RuntimeError(f"{self.name}: tracker already running")
        self._proc = _process()
        self._metrics = None
        self._rss0 = _rss_bytes(self._proc)
        if self.children:
            self._children0 = _children_cpu_s(self._proc)
        if self.monitor_cpu or self.max_memory_mb is not None:
            # Only for our own process: the kernel's mark covers this process, not another.
            self._kernel_peak = self._proc.pid == os.getpid() and _reset_rss_high_water_mark()
            self._sampler = _RssSampler(self._proc, self.sample_interval_s)
            self._sampler.sample()
            self._sampler.start()
        if self.trace_memory:
            self._started_tracemalloc = not tracemalloc.is_tracing()
            if self._started_tracemalloc:
                tracemalloc.start()
            tracemalloc.reset_peak()
        self._running = True
        self._cpu0 = time.process_time()
        self._t0 = time.perf_counter_ns()
        return self

    def stop(self, error: str | None = None) -> PerformanceMetrics:
        if not self._running:
            raise RuntimeError(f"{self.name}: tracker was not started")
        metrics = self._snapshot(final=True, error=error)
        self._running = False
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None
        if self.trace_memory and self._started_tracemalloc:
            tracemalloc.stop()
            self._started_tracemalloc = False
        self._metrics = metrics
        if self.publish:
            _publish(metrics)
        return metrics

    # --- figures ----------------------------------------------------------------------------

    def _snapshot(self, *, final: bool, error: str | None = None) -> PerformanceMetrics:
        wall_ns = time.perf_counter_ns() - self._t0
        cpu_s = time.process_time() - self._cpu0
        rss = _rss_bytes(self._proc)
        peak = rss
        samples = 1
        if self._sampler is not None:
            self._sampler.sample()
            peak = max(peak, self._sampler.peak)
            samples = self._sampler.samples
            if self._kernel_peak:
                peak = max(peak, _rss_high_water_mark_bytes() or 0)
        peak = max(peak, self._rss0)
        children_ms: float | None = None
        if self.children and self._children0 is not None:
            reaped0, live0 = self._children0
            reaped1, live1 = _children_cpu_s(self._proc)
            live_delta = sum(cpu - live0.get(pid, 0.0) for pid, cpu in live1.items())
            children_ms = max(0.0, (reaped1 - reaped0) + live_delta) * 1000.0
        trace_peak: float | None = None
        if self.trace_memory:
            trace_peak = tracemalloc.get_traced_memory()[1] / _MB
        status: Status = "running" if not final else ("failed" if error else "passed")
        return PerformanceMetrics(
            name=self.name,
            status=status,
            wall_ms=wall_ns / 1e6,
            cpu_ms=max(0.0, cpu_s) * 1000.0,
            children_cpu_ms=children_ms,
            rss_start_mb=self._rss0 / _MB,
            rss_end_mb=rss / _MB,
            rss_peak_mb=peak / _MB,
            rss_samples=samples,
            tracemalloc_peak_mb=trace_peak,
            threshold_ms=self.threshold_ms,
            max_memory_mb=self.max_memory_mb,
            error=error,
        )

    def get_metrics(self) -> PerformanceMetrics:
        """The finished record, or a running snapshot while inside the block."""
        if self._running:
            return self._snapshot(final=False)
        if self._metrics is None:
            raise RuntimeError(f"{self.name}: tracker was never started")
        return self._metrics

    @property
    def rss_samples(self) -> int:
        """Samples taken so far (lets a test wait until the sampler has seen something)."""
        return 0 if self._sampler is None else self._sampler.samples

    def assert_performance(
        self, *, max_ms: float | None = None, max_memory_mb: float | None = None
    ) -> PerformanceMetrics:
        """Check the limits (constructor values unless overridden here). Inside the block it
        measures up to this point. Raises PerformanceAssertionError naming the figure."""
        __tracebackhide__ = True  # the failure is the caller's line, not this frame
        limit_ms = self.threshold_ms if max_ms is None else max_ms
        limit_mb = self.max_memory_mb if max_memory_mb is None else max_memory_mb
        if limit_ms is None and limit_mb is None:
            raise ValueError(
                f"{self.name}: no limit to assert; pass threshold_ms/max_memory_mb to the "
                "tracker or max_ms/max_memory_mb to assert_performance()"
            )
        metrics = self.get_metrics()
        if metrics.status == "failed":
            raise AssertionError(
                f"{self.name}: the measured block failed ({metrics.error}); "
                "its timing is not a valid measurement"
            )
        if limit_ms is not None and metrics.wall_ms > limit_ms:
            raise PerformanceAssertionError(self.name, "wall time", limit_ms, metrics.wall_ms, "ms")
        if limit_mb is not None and metrics.rss_peak_growth_mb > limit_mb:
            raise PerformanceAssertionError(
                self.name, "peak RSS growth", limit_mb, metrics.rss_peak_growth_mb, "MB"
            )
        return metrics
