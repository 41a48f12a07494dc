"""Stored baselines per machine class and the noise-aware comparison against them.

A raw "slower than last time" is meaningless on a shared 2-core box: the machine itself
drifts. So a comparison (1) refuses to mix machine classes, (2) rescales the baseline by a
reference workload measured in the same process as the current figures, and (3) calls a
change only when it is both above the relative threshold and outside the noise band built
from the spreads (MAD) of both runs and of the reference measurement.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tests.utils.errors import ToolkitError

from .stats import MAD_TO_SIGMA, SampleStats

BASELINE_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "baselines"

ChangeVerdict = Literal["REGRESSION", "IMPROVEMENT", "UNCHANGED", "NOISY", "NEW", "SKIPPED"]


def machine_class() -> str:
    """Baselines are only comparable within one class: OS, CPU architecture, logical CPU
    count and Python minor version, e.g. ``linux-x86_64-2cpu-py3.11``."""
    v = sys.version_info
    return f"{sys.platform}-{platform.machine()}-{os.cpu_count()}cpu-py{v.major}.{v.minor}"


class MachineClassMismatchError(ToolkitError, ValueError):
    """The baseline was recorded on a different machine class; figures are not comparable."""

    def __init__(self, baseline_class: str, current_class: str) -> None:
        self.baseline_class = baseline_class
        self.current_class = current_class
        super().__init__(
            f"baseline machine class {baseline_class!r} differs from this machine's "
            f"{current_class!r}: figures are not comparable. Record a baseline here with "
            "`python -m tests.benchmarks --save-baseline`."
        )


class BaselineNotFoundError(ToolkitError, FileNotFoundError):
    """No baseline file exists for the machine class."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"no baseline at {path}; record one with `python -m tests.benchmarks --save-baseline`"
        )


def _reference_op() -> int:
    """Fixed pure-Python work (dicts, strings, sorting): the interpreter-speed yardstick."""
    table = {f"k{i}": i * 7 % 1009 for i in range(600)}
    ordered = sorted(table.items(), key=lambda kv: (kv[1], kv[0]))
    return sum(len(k) + v for k, v in ordered[:300])


def measure_reference(rounds: int = 21, inner: int = 20) -> SampleStats:
    """Median time of the reference workload in this process, now."""
    samples: list[float] = []
    _reference_op()
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            _reference_op()
        samples.append((time.perf_counter_ns() - t0) / inner / 1e6)
    return SampleStats.of(samples)


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    median_ms: float
    mad_ms: float
    p95_ms: float | None = None
    n: int = 1
    unit: str = "ms"


@dataclass(frozen=True, slots=True)
class Baseline:
    machine_class: str
    reference_median_ms: float
    reference_mad_ms: float
    entries: Mapping[str, BaselineEntry]
    created: str = ""
    python: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], reference: SampleStats, **meta: Any
    ) -> Baseline:
        """Baseline from bench rows; skipped and failed rows are left out."""
        entries = {
            str(r["name"]): BaselineEntry(
                median_ms=float(r["median_ms"]),
                mad_ms=float(r.get("mad_ms") or 0.0),
                p95_ms=None if r.get("p95_ms") is None else float(r["p95_ms"]),
                n=int(r.get("n") or 1),
                unit=str(r.get("unit", "ms")),
            )
            for r in rows
            if not r.get("skipped") and not r.get("error") and r.get("median_ms") is not None
        }
        return cls(
            machine_class=machine_class(),
            reference_median_ms=reference.median_ms,
            reference_mad_ms=reference.mad_ms,
            entries=entries,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            python=platform.python_version(),
            meta=dict(meta),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["entries"] = {k: asdict(v) for k, v in self.entries.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        try:
            return cls(
                machine_class=str(data["machine_class"]),
                reference_median_ms=float(data["reference_median_ms"]),
                reference_mad_ms=float(data["reference_mad_ms"]),
                entries={k: BaselineEntry(**v) for k, v in data["entries"].items()},
                created=str(data.get("created", "")),
                python=str(data.get("python", "")),
                meta=dict(data.get("meta", {})),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed baseline: {exc!r}") from exc


def baseline_path(machine: str | None = None, directory: Path | None = None) -> Path:
    return (directory or BASELINE_DIR) / f"{machine or machine_class()}.json"


def save_baseline(baseline: Baseline, directory: Path | None = None) -> Path:
    path = baseline_path(baseline.machine_class, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(baseline.to_dict(), indent=2, sort_keys=True) + "\n", "utf-8")
    return path


def load_baseline(machine: str | None = None, directory: Path | None = None) -> Baseline:
    """The stored baseline for a machine class (this machine's by default)."""
    path = baseline_path(machine, directory)
    if not path.is_file():
        raise BaselineNotFoundError(path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    return Baseline.from_dict(data)


@dataclass(frozen=True, slots=True)
class Comparison:
    """One benchmark against its baseline; `expected_ms` is the baseline rescaled to the
    current machine speed, `band_ms` the noise band around it."""

    name: str
    verdict: ChangeVerdict
    current_ms: float | None
    baseline_ms: float | None
    expected_ms: float | None
    ratio: float | None
    band_ms: float | None
    speed_factor: float

    def describe(self) -> str:
        if self.ratio is None or self.expected_ms is None or self.band_ms is None:
            return f"{self.name}: {self.verdict}"
        return (
            f"{self.name}: {self.verdict} ({self.ratio:.2f}x of expected "
            f"{self.expected_ms:.4f} ms, noise band ±{self.band_ms:.4f} ms)"
        )


def compare(
    baseline: Baseline,
    rows: Iterable[Mapping[str, Any]],
    reference: SampleStats,
    *,
    threshold: float = 0.10,
    noise_k: float = 3.0,
    current_machine: str | None = None,
) -> list[Comparison]:
    """Compare bench rows with a baseline, normalised by the reference workload.

    The band is `noise_k` standard deviations (from MAD) of the two runs' spreads combined
    with the reference's relative spread; within-run spread is used rather than the median's
    standard error on purpose, because run-to-run drift on a shared machine is larger.
    """
    here = current_machine or machine_class()
    if baseline.machine_class != here:
        raise MachineClassMismatchError(baseline.machine_class, here)
    if threshold < 0 or noise_k < 0:
        raise ValueError("threshold and noise_k must be >= 0")
    speed = reference.median_ms / baseline.reference_median_ms
    ref_rel = (
        math.hypot(
            baseline.reference_mad_ms / baseline.reference_median_ms,
            reference.mad_ms / reference.median_ms,
        )
        * MAD_TO_SIGMA
    )
    out: list[Comparison] = []
    for row in rows:
        name = str(row["name"])
        entry = baseline.entries.get(name)
        current = row.get("median_ms")
        if row.get("skipped") or row.get("error") or current is None:
            known = entry.median_ms if entry is not None else None
            out.append(Comparison(name, "SKIPPED", None, known, None, None, None, speed))
            continue
        current = float(current)
        if entry is None:
            out.append(Comparison(name, "NEW", current, None, None, None, None, speed))
            continue
        time_based = entry.unit == "ms"
        factor = speed if time_based else 1.0
        expected = entry.median_ms * factor
        run_sigma = math.hypot(entry.mad_ms * factor, float(row.get("mad_ms") or 0.0))
        ref_sigma = expected * ref_rel if time_based else 0.0
        band = noise_k * math.hypot(run_sigma * MAD_TO_SIGMA, ref_sigma)
        ratio = current / expected if expected > 0 else math.inf
        delta = current - expected
        verdict: ChangeVerdict
        if abs(ratio - 1.0) <= threshold:
            verdict = "UNCHANGED"
        elif abs(delta) <= band:
            verdict = "NOISY"
        else:
            verdict = "REGRESSION" if delta > 0 else "IMPROVEMENT"
        out.append(
            Comparison(name, verdict, current, entry.median_ms, expected, ratio, band, factor)
        )
    return out
