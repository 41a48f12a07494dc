"""Edges of the perf statistics and baselines that the worked examples do not reach: the
closed percentile range, the summary's spread and p95, the reference yardstick's units, a
baseline's metadata through a file, and the short form of a comparison without figures."""

from __future__ import annotations

import time

import pytest

from tests.utils._perf.baseline import Baseline, Comparison, load_baseline, save_baseline
from tests.utils._perf.baseline import _reference_op as reference_op
from tests.utils._perf.stats import SampleStats, percentile
from tests.utils.performance_tracker import measure_reference


def test_percentile_range_is_closed_at_both_ends() -> None:
    values = [3.0, 1.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 3.0
    for q in (-0.5, 100.5):
        with pytest.raises(ValueError, match=r"^percentile q must be within 0\.\.100, got "):
            percentile(values, q)


def test_empty_samples_are_refused_with_what_was_asked() -> None:
    with pytest.raises(ValueError, match=r"^percentile of no samples$"):
        percentile([], 50)
    with pytest.raises(ValueError, match=r"^no samples to summarise$"):
        SampleStats.of([])


def test_summary_spread_and_tail_of_known_samples() -> None:
    stats = SampleStats.of([float(v) for v in range(101)])  # 0..100
    assert stats.p95_ms == 95.0  # interpolated exactly at the 95th value
    assert stats.mad_ms == 25.0  # |v - 50| for 0..100: median 25
    assert stats.median_ms == 50.0


def test_reference_measurement_is_per_operation_in_milliseconds() -> None:
    reference = measure_reference()
    assert reference.n == 21
    started = time.perf_counter()
    for _ in range(20):
        reference_op()
    direct_ms = (time.perf_counter() - started) / 20 * 1000
    # the same work timed directly: same order of magnitude, whatever the machine's noise
    assert direct_ms / 20 < reference.median_ms < direct_ms * 20


def test_baseline_metadata_survives_the_file(tmp_path) -> None:
    original = Baseline(
        machine_class="linux-test-2cpu-py3.11",
        reference_median_ms=1.0,
        reference_mad_ms=0.0,
        entries={},
        meta={"commit": "abc123", "note": "ünïcode"},
    )
    save_baseline(original, tmp_path)
    loaded = load_baseline("linux-test-2cpu-py3.11", tmp_path)
    assert loaded.meta == {"commit": "abc123", "note": "ünïcode"}
    assert Baseline.from_dict(original.to_dict()).meta == original.meta


@pytest.mark.parametrize(
    ("ratio", "expected", "band"),
    [(None, 1.0, 0.1), (1.0, None, 0.1), (1.0, 1.0, None)],
    ids=["no-ratio", "no-expected", "no-band"],
)
def test_a_comparison_missing_any_figure_is_described_by_its_verdict_alone(
    ratio: float | None, expected: float | None, band: float | None
) -> None:
    c = Comparison("b", "NEW", 1.0, None, expected, ratio, band, 1.0)
    assert c.describe() == "b: NEW"
