"""`compare()` on worked examples (the arithmetic written out), its boundaries, and the
baseline file's format."""

from __future__ import annotations

import json
import math
import platform
import re
import time

import pytest

from tests.utils._perf.baseline import (
    Baseline,
    BaselineEntry,
    BaselineNotFoundError,
    MachineClassMismatchError,
    compare,
    load_baseline,
    machine_class,
    save_baseline,
)
from tests.utils._perf.stats import SampleStats

HERE = machine_class()


def _ref(median: float, mad: float = 0.0) -> SampleStats:
    return SampleStats(n=21, median_ms=median, p95_ms=median, mad_ms=mad, min_ms=median,
                       max_ms=median, mean_ms=median)  # fmt: skip


def _baseline(ref_median: float = 1.0, ref_mad: float = 0.0, **entries: BaselineEntry) -> Baseline:
    return Baseline(HERE, ref_median, ref_mad, entries)


def test_worked_example_time_based() -> None:
    """Baseline: reference 2.0 ms (MAD 0.2), `op` 10 ms (MAD 1). Now: reference 4.0 ms
    (MAD 0.4), so the machine runs at half speed (factor 2); `op` measures 30 ms (MAD 2).

    expected = 10 * 2 = 20 ms; the reference's relative spread is
    hypot(0.2/2, 0.4/4) * 1.4826 = 0.20967, so its sigma is 20 * 0.20967 = 4.1934 ms; the
    runs' sigma is hypot(1 * 2, 2) * 1.4826 = 4.1934 ms; band = 3 * hypot(both) = 17.791 ms.
    30 ms is 1.5x expected (above the 10% threshold) but only 10 ms off: NOISY."""
    baseline = _baseline(2.0, 0.2, op=BaselineEntry(10.0, 1.0))
    (c,) = compare(baseline, [{"name": "op", "median_ms": 30.0, "mad_ms": 2.0}], _ref(4.0, 0.4))
    assert (c.name, c.verdict, c.current_ms, c.baseline_ms) == ("op", "NOISY", 30.0, 10.0)
    assert c.speed_factor == pytest.approx(2.0)
    assert c.expected_ms == pytest.approx(20.0)
    assert c.ratio == pytest.approx(1.5)
    assert c.band_ms == pytest.approx(17.7912, abs=1e-4)
    assert c.describe() == "op: NOISY (1.50x of expected 20.0000 ms, noise band ±17.7912 ms)"
    # a narrower band (noise_k=1: 5.9304 ms) calls the same 10 ms a regression
    (narrow,) = compare(
        baseline, [{"name": "op", "median_ms": 30.0, "mad_ms": 2.0}], _ref(4.0, 0.4), noise_k=1
    )
    assert narrow.verdict == "REGRESSION" and narrow.band_ms == pytest.approx(5.9304, abs=1e-4)


def test_worked_example_not_time_based() -> None:
    """A figure in MB is not rescaled by machine speed, and the reference's noise does not
    widen its band: band = 3 * hypot(1, 0) * 1.4826 = 4.4478 (a row without a MAD is 0)."""
    baseline = _baseline(2.0, 0.2, mem=BaselineEntry(30.0, 1.0, unit="MB"))
    (c,) = compare(baseline, [{"name": "mem", "median_ms": 45.0}], _ref(4.0, 0.4))
    assert (c.verdict, c.speed_factor, c.expected_ms) == ("REGRESSION", 1.0, 30.0)
    assert c.band_ms == pytest.approx(4.4478, abs=1e-4)
    (c,) = compare(baseline, [{"name": "mem", "median_ms": 33.5}], _ref(4.0, 0.4))
    assert c.verdict == "NOISY"  # 3.5 MB off: inside 4.4478


def test_threshold_and_band_edges_are_inclusive() -> None:
    baseline = _baseline(op=BaselineEntry(1.0, 0.0))
    (c,) = compare(baseline, [{"name": "op", "median_ms": 1.5}], _ref(1.0), threshold=0.5)
    assert c.verdict == "UNCHANGED"  # exactly 50% off with threshold 0.5
    (c,) = compare(baseline, [{"name": "op", "median_ms": 1.5}], _ref(1.0), threshold=0)
    assert c.verdict == "REGRESSION"
    (c,) = compare(baseline, [{"name": "op", "median_ms": 0.5}], _ref(1.0), threshold=0)
    assert c.verdict == "IMPROVEMENT"


def test_a_change_exactly_the_size_of_the_band_is_noise() -> None:
    """A zero baseline (nothing measurable before) makes the ratio infinite and the change
    equal to the current figure, so it can be set to the band exactly."""
    baseline = _baseline(zero=BaselineEntry(0.0, 0.5))
    (probe,) = compare(baseline, [{"name": "zero", "median_ms": 1.0}], _ref(1.0))
    assert probe.ratio == math.inf and probe.band_ms is not None
    (c,) = compare(baseline, [{"name": "zero", "median_ms": probe.band_ms}], _ref(1.0))
    assert c.verdict == "NOISY"
    (c,) = compare(baseline, [{"name": "zero", "median_ms": probe.band_ms * 1.01}], _ref(1.0))
    assert c.verdict == "REGRESSION"


@pytest.mark.parametrize(
    "row",
    [
        {"name": "op", "median_ms": 5.0, "skipped": True},
        {"name": "op", "median_ms": 5.0, "error": "boom"},
        {"name": "op", "median_ms": None},
        {"name": "op"},
    ],
    ids=["skipped", "error", "no-median", "absent"],
)
def test_a_row_without_a_usable_figure_is_skipped(row: dict) -> None:
    baseline = _baseline(2.0, op=BaselineEntry(10.0, 1.0))
    (c,) = compare(baseline, [row], _ref(4.0))
    assert (c.verdict, c.current_ms, c.baseline_ms, c.expected_ms, c.ratio, c.band_ms) == (
        "SKIPPED",
        None,
        10.0,
        None,
        None,
        None,
    )
    assert c.speed_factor == pytest.approx(2.0)
    assert c.describe() == "op: SKIPPED"
    (unknown,) = compare(baseline, [{**row, "name": "other"}], _ref(4.0))
    assert (unknown.verdict, unknown.baseline_ms) == ("SKIPPED", None)


def test_a_new_benchmark_keeps_its_figure() -> None:
    (c,) = compare(_baseline(2.0), [{"name": "fresh", "median_ms": 3.0}], _ref(4.0))
    assert (c.verdict, c.current_ms, c.baseline_ms, c.expected_ms) == ("NEW", 3.0, None, None)
    assert c.speed_factor == pytest.approx(2.0)


def test_settings_at_zero_are_allowed_and_below_refused() -> None:
    baseline = _baseline(op=BaselineEntry(1.0, 0.0))
    rows = [{"name": "op", "median_ms": 1.0}]
    assert compare(baseline, rows, _ref(1.0), threshold=0, noise_k=0)[0].verdict == "UNCHANGED"
    assert compare(baseline, rows, _ref(1.0), noise_k=0.5)[0].verdict == "UNCHANGED"
    for kwargs in ({"threshold": -0.1}, {"noise_k": -1}):
        with pytest.raises(ValueError, match=r"^threshold and noise_k must be >= 0$"):
            compare(baseline, rows, _ref(1.0), **kwargs)


def test_machine_class_mismatch_names_both_classes() -> None:
    with pytest.raises(MachineClassMismatchError) as info:
        compare(_baseline(), [], _ref(1.0), current_machine="other-arm64-64cpu-py3.13")
    assert (info.value.baseline_class, info.value.current_class) == (
        HERE,
        "other-arm64-64cpu-py3.13",
    )
    assert "'other-arm64-64cpu-py3.13'" in str(info.value)


def test_baseline_file_is_named_by_its_class_sorted_and_indented(tmp_path) -> None:
    """One file per machine class, diff-friendly: sorted keys, one per line, 2 spaces."""
    baseline = Baseline(
        "other-arm64-64cpu-py3.13",
        1.0,
        0.1,
        {"zeta": BaselineEntry(2.0, 0.2), "alpha": BaselineEntry(1.0, 0.1)},
        created="2026-01-01T00:00:00Z",
    )
    path = save_baseline(baseline, tmp_path / "new" / "dir")
    assert path == tmp_path / "new" / "dir" / "other-arm64-64cpu-py3.13.json"
    text = path.read_text("utf-8")
    assert text.endswith("}\n")
    lines = text.splitlines()
    assert lines[1] == '  "created": "2026-01-01T00:00:00Z",'
    assert text.index('"alpha"') < text.index('"zeta"')  # sorted, not insertion order
    assert json.loads(text) == baseline.to_dict()
    assert set(baseline.to_dict()) == {
        "machine_class",
        "reference_median_ms",
        "reference_mad_ms",
        "entries",
        "created",
        "python",
        "meta",
    }
    assert baseline.to_dict()["entries"]["alpha"] == {
        "median_ms": 1.0,
        "mad_ms": 0.1,
        "p95_ms": None,
        "n": 1,
        "unit": "ms",
    }


def test_baseline_from_rows_keeps_usable_rows_with_their_figures(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # `created` is UTC whatever the local zone
    time.tzset()
    try:
        before = time.strftime("%Y-%m-%dT%H:%M", time.gmtime())
        baseline = Baseline.from_rows(
            [
                {"name": "full", "median_ms": 2.0, "mad_ms": 0.5, "p95_ms": 3.0, "n": 9},
                {"name": "bare", "median_ms": 1.0},
                {"name": "mem", "median_ms": 40.0, "mad_ms": 1.0, "unit": "MB"},
                {"name": "skipped", "median_ms": 1.0, "skipped": True},
                {"name": "failed", "median_ms": 1.0, "error": "boom"},
                {"name": "unmeasured", "median_ms": None},
            ],
            _ref(4.0, 0.25),
            commit="abc",
        )
        after = time.strftime("%Y-%m-%dT%H:%M", time.gmtime())
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert baseline.entries == {
        "full": BaselineEntry(2.0, 0.5, 3.0, 9, "ms"),
        "bare": BaselineEntry(1.0, 0.0, None, 1, "ms"),
        "mem": BaselineEntry(40.0, 1.0, None, 1, "MB"),
    }
    assert (baseline.machine_class, baseline.reference_median_ms) == (HERE, 4.0)
    assert baseline.reference_mad_ms == 0.25
    assert baseline.meta == {"commit": "abc"} and baseline.python == platform.python_version()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", baseline.created)
    assert baseline.created[:16] in {before, after}


def test_baseline_from_a_minimal_file_and_by_machine_class(tmp_path) -> None:
    minimal = {
        "machine_class": "other-arm64-64cpu-py3.13",
        "reference_median_ms": 1.0,
        "reference_mad_ms": 0.0,
        "entries": {"op": {"median_ms": 1.0, "mad_ms": 0.0}},
    }
    loaded = Baseline.from_dict(minimal)
    assert (loaded.created, loaded.python, loaded.meta) == ("", "", {})
    (tmp_path / "other-arm64-64cpu-py3.13.json").write_text(json.dumps(minimal))
    assert load_baseline("other-arm64-64cpu-py3.13", tmp_path) == loaded
    with pytest.raises(BaselineNotFoundError) as info:
        load_baseline("absent-class", tmp_path)
    assert info.value.path == tmp_path / "absent-class.json"


def test_the_framework_benchmark_is_loaded_on_first_use() -> None:
    import tests.utils.performance_tracker as pt
    from tests.utils._perf import framework

    assert pt.KaizenFrameworkBenchmark is framework.KaizenFrameworkBenchmark
    assert pt.SEED_LIMITS_MS is framework.SEED_LIMITS_MS
    with pytest.raises(AttributeError, match=r"module 'tests.utils.performance_tracker' has no "):
        pt.NoSuchThing  # noqa: B018
