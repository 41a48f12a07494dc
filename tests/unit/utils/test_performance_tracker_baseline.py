"""Baselines per machine class and the noise-aware comparison."""

from __future__ import annotations

import json

import pytest

from tests.utils._perf.baseline import baseline_path
from tests.utils._perf.stats import SampleStats
from tests.utils.performance_tracker import (
    Baseline,
    BaselineNotFoundError,
    MachineClassMismatchError,
    compare,
    load_baseline,
    machine_class,
    measure_reference,
    save_baseline,
)


def ref(median: float, mad: float = 0.0) -> SampleStats:
    return SampleStats(
        n=21,
        median_ms=median,
        p95_ms=median,
        mad_ms=mad,
        min_ms=median,
        max_ms=median,
        mean_ms=median,
    )


def row(name: str, median: float, mad: float = 0.0, **extra) -> dict:
    return {
        "name": name,
        "median_ms": median,
        "p95_ms": median,
        "target_ms": None,
        "n": 15,
        "mad_ms": mad,
        **extra,
    }


def make_baseline(**entries: tuple[float, float]) -> Baseline:
    rows = [row(n, m, d, **({"unit": "MB"} if n == "mem" else {})) for n, (m, d) in entries.items()]
    rows.append(
        {
            "name": "skipped",
            "median_ms": None,
            "p95_ms": None,
            "target_ms": None,
            "n": 0,
            "skipped": True,
        }
    )
    return Baseline.from_rows(rows, ref(1.0, 0.0))


def test_machine_class_names_os_arch_cpus_python() -> None:
    mc = machine_class()
    assert "cpu-py3." in mc and mc.count("-") >= 3


def test_reference_workload_measures_something() -> None:
    stats = measure_reference(rounds=5, inner=2)
    assert stats.n == 5 and stats.median_ms > 0


def test_baseline_round_trip(tmp_path) -> None:
    b = make_baseline(op=(1.0, 0.01))
    assert "skipped" not in b.entries
    path = save_baseline(b, tmp_path)
    assert path == baseline_path(directory=tmp_path) and path.name == f"{machine_class()}.json"
    loaded = load_baseline(directory=tmp_path)
    assert loaded == b


def test_missing_and_malformed_baselines(tmp_path) -> None:
    with pytest.raises(BaselineNotFoundError, match="--save-baseline"):
        load_baseline(directory=tmp_path)
    baseline_path(directory=tmp_path).write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_baseline(directory=tmp_path)
    baseline_path(directory=tmp_path).write_text(json.dumps({"machine_class": "x"}))
    with pytest.raises(ValueError, match="malformed baseline"):
        load_baseline(directory=tmp_path)


def test_refuses_other_machine_class() -> None:
    b = make_baseline(op=(1.0, 0.01))
    with pytest.raises(MachineClassMismatchError, match="not comparable") as info:
        compare(b, [row("op", 1.0)], ref(1.0), current_machine="other-arm64-64cpu-py3.13")
    assert info.value.baseline_class == machine_class()


def test_verdicts() -> None:
    b = make_baseline(
        same=(1.0, 0.01), slow=(1.0, 0.01), fast=(1.0, 0.01), noisy=(1.0, 0.5), mem=(30.0, 0.1)
    )
    rows = [
        row("same", 1.05, 0.01),
        row("slow", 1.5, 0.01),
        row("fast", 0.5, 0.01),
        row("noisy", 1.5, 0.5),
        row("new", 1.0),
        {"name": "gone", "skipped": True, "median_ms": None},
        row("mem", 45.0, 0.1, unit="MB"),
    ]
    by = {c.name: c for c in compare(b, rows, ref(1.0))}
    assert by["same"].verdict == "UNCHANGED"
    assert by["slow"].verdict == "REGRESSION" and by["slow"].ratio == pytest.approx(1.5)
    assert by["fast"].verdict == "IMPROVEMENT"
    assert by["noisy"].verdict == "NOISY"  # above threshold, inside the noise band
    assert by["new"].verdict == "NEW"
    assert by["gone"].verdict == "SKIPPED"
    assert by["mem"].verdict == "REGRESSION"
    assert "REGRESSION (1.50x" in by["slow"].describe()
    assert by["new"].describe() == "new: NEW"


def test_machine_speed_is_normalised_by_the_reference() -> None:
    b = make_baseline(op=(1.0, 0.01), mem=(30.0, 0.1))
    # this machine runs the reference 2x slower: 2 ms is what 1 ms was, memory unscaled
    by = {
        c.name: c for c in compare(b, [row("op", 2.0, 0.02), row("mem", 30.0, unit="MB")], ref(2.0))
    }
    assert by["op"].verdict == "UNCHANGED" and by["op"].expected_ms == pytest.approx(2.0)
    assert by["op"].speed_factor == pytest.approx(2.0)
    assert by["mem"].verdict == "UNCHANGED" and by["mem"].speed_factor == 1.0
    assert b.entries["mem"].unit == "MB"


def test_reference_noise_widens_the_band() -> None:
    b = Baseline.from_rows([row("op", 1.0)], ref(1.0, 0.2))
    (c,) = compare(b, [row("op", 1.3)], ref(1.0, 0.2))
    assert c.verdict == "NOISY" and c.band_ms > 0.3


def test_bad_comparison_settings() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        compare(make_baseline(), [], ref(1.0), threshold=-1)
