"""BenchmarkSuite: warm-up, inner-loop calibration, repeated rounds, robust statistics, a
summary table and a JSON export.

Calibration matters for the microsecond targets: timing one 5 µs call is mostly timer
overhead, so each round runs the operation `inner` times (chosen so a round lasts at least
`min_round_ms`) and a sample is the round time divided by `inner`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .stats import SampleStats

Verdict = Literal["PASS", "FAIL", "SKIP", "INFO"]


@dataclass(frozen=True, slots=True)
class BenchmarkResult:
    """One benchmark's figures: per-operation statistics over `rounds` samples."""

    name: str
    stats: SampleStats
    inner: int
    target_ms: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        if self.target_ms is None:
            return "INFO"
        return "PASS" if self.stats.median_ms <= self.target_ms else "FAIL"

    def to_row(self) -> dict[str, Any]:
        """The row contract shared by every bench_*.py module."""
        s = self.stats
        row: dict[str, Any] = {
            "name": self.name,
            "median_ms": s.median_ms,
            "p95_ms": s.p95_ms,
            "target_ms": self.target_ms,
            "n": s.n,
            "inner": self.inner,
            "mad_ms": s.mad_ms,
            "min_ms": s.min_ms,
            "max_ms": s.max_ms,
        }
        row.update(self.extra)
        return row


def format_duration(ms: float | None) -> str:
    """Human unit for a duration given in ms (µs below 1 ms, s above 10 s)."""
    if ms is None:
        return "-"
    if ms < 1.0:
        return f"{ms * 1000:.2f} µs"
    if ms < 10_000:
        return f"{ms:.2f} ms"
    return f"{ms / 1000:.2f} s"


def format_figure(row: Mapping[str, Any], key: str) -> str:
    """A row figure in its unit: durations by default, `unit` overrides (e.g. "MB")."""
    value = row.get(key)
    if value is None:
        return "-"
    unit = row.get("unit", "ms")
    if unit == "ms":
        return format_duration(float(value))
    return f"{float(value):.2f} {unit}"


def row_verdict(row: Mapping[str, Any]) -> Verdict:
    """PASS/FAIL/SKIP for a row dict (errors count as FAIL; no target is INFO)."""
    if row.get("error"):
        return "FAIL"
    if row.get("skipped"):
        return "SKIP"
    target = row.get("target_ms")
    median = row.get("median_ms")
    if target is None or median is None:
        return "INFO"
    return "PASS" if float(median) <= float(target) else "FAIL"


def format_table(rows: Sequence[Mapping[str, Any]], extra_columns: Sequence[str] = ()) -> str:
    """Plain-text table: name, median, p95, target, verdict (+ reason for SKIP/FAIL)."""
    header = ["name", "median", "p95", "target", "n", "verdict", *extra_columns]
    body: list[list[str]] = []
    for row in rows:
        verdict = row_verdict(row)
        note = row.get("error") or row.get("reason") or ""
        line = [
            str(row.get("name", "?")),
            format_figure(row, "median_ms"),
            format_figure(row, "p95_ms"),
            format_figure(row, "target_ms"),
            str(row.get("n", "-")),
            verdict if not note else f"{verdict} ({note})",
        ]
        line += [str(row.get(col, "-")) for col in extra_columns]
        body.append(line)
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)
    ]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return "\n".join(out)


@dataclass(slots=True)
class _Case:
    name: str
    fn: Callable[[], Any]
    target_ms: float | None
    setup: Callable[[], Any] | None
    rounds: int | None
    inner: int | None


class BenchmarkSuite:
    """Collect benchmarks, run them with warm-up and calibration, report and export.

    `setup` (optional) runs before every round, untimed. `inner` fixes the loop count
    instead of calibrating (use 1 for operations that are not repeatable in-process).
    """

    def __init__(
        self,
        name: str = "benchmarks",
        *,
        rounds: int = 15,
        warmup_rounds: int = 2,
        min_round_ms: float = 5.0,
        max_inner: int = 1_000_000,
        clock: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        if warmup_rounds < 0:
            raise ValueError(f"warmup_rounds must be >= 0, got {warmup_rounds}")
        self.name = name
        self.rounds = rounds
        self.warmup_rounds = warmup_rounds
        self.min_round_ms = min_round_ms
        self.max_inner = max_inner
        self._clock = clock
        self._cases: list[_Case] = []
        self.results: list[BenchmarkResult] = []

    def add(
        self,
        name: str,
        fn: Callable[[], Any] | None = None,
        *,
        target_ms: float | None = None,
        setup: Callable[[], Any] | None = None,
        rounds: int | None = None,
        inner: int | None = None,
    ) -> Any:
        """Register a benchmark; usable as `suite.add("x", fn)` or `@suite.add("x")`."""
        if any(c.name == name for c in self._cases):
            raise ValueError(f"benchmark {name!r} is already registered in {self.name!r}")

        def register(func: Callable[[], Any]) -> Callable[[], Any]:
            self._cases.append(_Case(name, func, target_ms, setup, rounds, inner))
            return func

        return register if fn is None else register(fn)

    def run(self) -> list[BenchmarkResult]:
        """Run every registered benchmark in order; returns (and keeps) the results."""
        return [
            self.measure(
                c.name, c.fn, target_ms=c.target_ms, setup=c.setup, rounds=c.rounds, inner=c.inner
            )
            for c in self._cases
        ]

    def calibrate(self, fn: Callable[[], Any]) -> int:
        """Loop count so one round lasts at least `min_round_ms` (capped at `max_inner`)."""
        target_ns = self.min_round_ms * 1e6
        inner = 1
        while True:
            t0 = self._clock()
            for _ in range(inner):
                fn()
            elapsed = self._clock() - t0
            if elapsed >= target_ns or inner >= self.max_inner:
                return inner
            grow = math.ceil(target_ns / max(elapsed, 1) * 1.2)
            inner = min(self.max_inner, max(inner * 2, inner * grow))

    def measure(
        self,
        name: str,
        fn: Callable[[], Any],
        *,
        target_ms: float | None = None,
        setup: Callable[[], Any] | None = None,
        rounds: int | None = None,
        inner: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> BenchmarkResult:
        """Run one benchmark now and record its result."""
        n_rounds = self.rounds if rounds is None else rounds
        if n_rounds < 1:
            raise ValueError(f"{name}: rounds must be >= 1, got {n_rounds}")
        for _ in range(self.warmup_rounds):
            if setup is not None:
                setup()
            fn()
        loops = self.calibrate(fn) if inner is None else inner
        if loops < 1:
            raise ValueError(f"{name}: inner must be >= 1, got {loops}")
        samples: list[float] = []
        for _ in range(n_rounds):
            if setup is not None:
                setup()
            t0 = self._clock()
            for _ in range(loops):
                fn()
            samples.append((self._clock() - t0) / loops / 1e6)
        return self.add_samples(name, samples, target_ms=target_ms, inner=loops, extra=extra)

    def add_samples(
        self,
        name: str,
        samples_ms: Sequence[float],
        *,
        target_ms: float | None = None,
        inner: int = 1,
        extra: Mapping[str, Any] | None = None,
    ) -> BenchmarkResult:
        """Record samples measured elsewhere (e.g. one subprocess per sample)."""
        result = BenchmarkResult(
            name, SampleStats.of(samples_ms), inner, target_ms, dict(extra or {})
        )
        self.results.append(result)
        return result

    def rows(self) -> list[dict[str, Any]]:
        return [r.to_row() for r in self.results]

    def summary_table(self) -> str:
        return format_table(self.rows())

    def to_dict(self) -> dict[str, Any]:
        from .baseline import machine_class

        return {"suite": self.name, "machine_class": machine_class(), "results": self.rows()}

    def to_json(self, path: str | Path) -> Path:
        """Write the results as JSON (parent directories are created)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return target
