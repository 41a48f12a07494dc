"""BenchmarkSuite, statistics and table formatting."""

from __future__ import annotations

import json
from itertools import count

import pytest

from tests.utils import BenchmarkSuite
from tests.utils._perf.stats import SampleStats, mad, percentile
from tests.utils._perf.suite import BenchmarkResult, format_duration, format_table, row_verdict


def fake_clock(step_ns: int):
    """A clock that advances `step_ns` per reading: timings become exact."""
    ticks = count(0, step_ns)
    return lambda: next(ticks)


def test_percentile_and_mad() -> None:
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([1, 2], 95) == pytest.approx(1.95)
    assert percentile([7], 95) == 7
    assert mad([1, 1, 2, 2, 4, 6, 9]) == 1
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match=r"within 0\.\.100"):
        percentile([1], 101)
    with pytest.raises(ValueError, match="no samples"):
        SampleStats.of([])
    s = SampleStats.of([1.0, 2.0, 3.0, 100.0])
    assert (s.n, s.median_ms, s.min_ms, s.max_ms) == (4, 2.5, 1.0, 100.0)
    assert s.mean_ms == pytest.approx(26.5)


def test_measure_calibrates_inner_loop_and_summarises() -> None:
    calls = []
    suite = BenchmarkSuite("t", rounds=7, warmup_rounds=2, min_round_ms=2.0)
    result = suite.measure("sum", lambda: calls.append(sum(range(200))), target_ms=10.0)
    assert result.inner > 1  # a ~µs op needs many loops for a 2 ms round
    assert result.stats.n == 7
    assert result.stats.min_ms <= result.stats.median_ms <= result.stats.p95_ms
    assert result.stats.p95_ms <= result.stats.max_ms
    assert len(calls) >= 2 + 7 * result.inner
    assert result.verdict == "PASS"
    assert suite.results == [result]


def test_exact_timings_with_a_fake_clock() -> None:
    # each clock reading advances 1 ms: a round of `inner` loops reads the clock twice
    suite = BenchmarkSuite(rounds=3, warmup_rounds=0, clock=fake_clock(1_000_000))
    result = suite.measure("op", lambda: None, inner=4, target_ms=0.1)
    assert result.stats.median_ms == pytest.approx(0.25)
    assert result.verdict == "FAIL"
    assert result.inner == 4


def test_calibration_is_capped() -> None:
    suite = BenchmarkSuite(min_round_ms=1e9, max_inner=64)
    assert suite.calibrate(lambda: None) == 64


def test_setup_runs_before_every_round_untimed() -> None:
    setups = []
    suite = BenchmarkSuite(rounds=4, warmup_rounds=1)
    suite.measure("s", lambda: None, setup=lambda: setups.append(1), inner=1)
    assert len(setups) == 5


def test_registration_run_and_decorator() -> None:
    suite = BenchmarkSuite(rounds=3, warmup_rounds=0, min_round_ms=0.5)

    @suite.add("decorated", target_ms=1000)
    def op() -> int:
        return 1

    suite.add("plain", lambda: None, inner=2, rounds=2)
    assert op() == 1
    with pytest.raises(ValueError, match="already registered"):
        suite.add("plain", lambda: None)
    results = suite.run()
    assert [r.name for r in results] == ["decorated", "plain"]
    assert results[1].stats.n == 2 and results[1].inner == 2
    assert results[1].verdict == "INFO"


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"rounds": 0}, "rounds"), ({"warmup_rounds": -1}, "warmup")]
)
def test_bad_suite_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BenchmarkSuite(**kwargs)


def test_bad_measure_settings() -> None:
    suite = BenchmarkSuite()
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        suite.measure("x", lambda: None, rounds=0)
    with pytest.raises(ValueError, match="inner must be >= 1"):
        suite.measure("x", lambda: None, inner=0)


def test_rows_table_and_json(tmp_path) -> None:
    suite = BenchmarkSuite("exported")
    suite.add_samples("a", [1.0, 2.0, 3.0], target_ms=2.5, extra={"note": "x"})
    suite.add_samples("b", [0.001, 0.002], target_ms=0.001)
    rows = suite.rows()
    assert rows[0]["name"] == "a" and rows[0]["median_ms"] == 2.0 and rows[0]["note"] == "x"
    assert {"name", "median_ms", "p95_ms", "target_ms", "n"} <= rows[0].keys()
    table = suite.summary_table()
    assert "PASS" in table.splitlines()[2] and "FAIL" in table.splitlines()[3]
    path = suite.to_json(tmp_path / "deep" / "r.json")
    data = json.loads(path.read_text())
    assert data["suite"] == "exported" and len(data["results"]) == 2
    assert "cpu" in data["machine_class"]


def test_formatting_and_row_verdicts() -> None:
    assert format_duration(None) == "-"
    assert format_duration(0.0123) == "12.30 µs"
    assert format_duration(12.5) == "12.50 ms"
    assert format_duration(12_500) == "12.50 s"
    assert row_verdict({"error": "boom"}) == "FAIL"
    assert row_verdict({"skipped": True}) == "SKIP"
    assert row_verdict({"median_ms": 1.0, "target_ms": None}) == "INFO"
    assert row_verdict({"median_ms": None, "target_ms": 1.0}) == "INFO"
    assert row_verdict({"median_ms": 1.0, "target_ms": 1.0}) == "PASS"
    table = format_table(
        [
            {
                "name": "mem",
                "median_ms": 30.0,
                "p95_ms": 31.0,
                "target_ms": 40.0,
                "n": 5,
                "unit": "MB",
            },
            {
                "name": "skip",
                "median_ms": None,
                "p95_ms": None,
                "target_ms": None,
                "n": 0,
                "skipped": True,
                "reason": "no server",
            },
        ],
        extra_columns=["vs_baseline"],
    )
    assert "30.00 MB" in table and "40.00 MB" in table
    assert "SKIP (no server)" in table
    assert format_table([]).startswith("name")


def test_result_verdict_without_target() -> None:
    r = BenchmarkResult("x", SampleStats.of([1.0]), 1)
    assert r.verdict == "INFO" and r.to_row()["target_ms"] is None
