"""The pytest plugin, driven through pytester: marker limits, the summary table,
--perf-report, marker validation and xdist grouping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
PLUGIN = ("-p", "tests.utils.pytest_performance", "-p", "no:cacheprovider")

SUITE = """
import mmap
import time
import pytest
from tests.utils import PerformanceTracker

def busy(seconds):
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass

@pytest.mark.performance(max_ms=60_000)
def test_fast():
    assert True

@pytest.mark.performance(max_ms=5)
def test_slow():
    busy(0.05)

@pytest.mark.performance(max_memory_mb=16)
def test_hog():
    # fresh pages: a bytearray may reuse memory this process already has resident
    hog = mmap.mmap(-1, 64 * 1024 * 1024)
    for offset in range(0, len(hog), mmap.PAGESIZE):
        hog[offset] = 1
    assert len(hog)

@pytest.mark.performance
def test_tracked_without_limits():
    pass

@pytest.mark.performance(max_ms=60_000)
def test_raises():
    raise ValueError("broken")

def test_inner_tracker():
    with PerformanceTracker("inner_op", threshold_ms=60_000) as t:
        busy(0.001)
    t.assert_performance()

def test_untracked():
    pass
"""


@pytest.fixture
def perf_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makeini(INI)
    pytester.makepyfile(test_perf=SUITE)
    return pytester


def test_marker_limits_summary_and_report(perf_suite: pytest.Pytester) -> None:
    report = perf_suite.path / "out" / "perf.json"
    result = perf_suite.runpytest(*PLUGIN, f"--perf-report={report}")
    result.assert_outcomes(passed=4, failed=3)
    result.stdout.fnmatch_lines(
        [
            "E *PerformanceAssertionError: test_perf.py::test_slow: wall time * exceeds the "
            "limit 5.000 ms",
            "E *PerformanceAssertionError: test_perf.py::test_hog: peak RSS growth * exceeds the "
            "limit 16.000 MB",
            "*= performance: 6 tracked operation(s) =*",
            "operation*wall*cpu*rss peak +MB*limit*verdict",
        ]
    )
    out = result.stdout.str()
    table = out[out.index("performance: 6 tracked") :]
    assert "OVER TIME" in table and "OVER MEMORY" in table and "FAILED" in table
    assert "inner_op [test_perf.py::test_inner_tracker]" in table
    assert "test_untracked" not in table
    data = json.loads(report.read_text())
    by_test = {r["test"]: r for r in data["records"]}
    assert set(by_test) == {
        "test_perf.py::test_fast",
        "test_perf.py::test_slow",
        "test_perf.py::test_hog",
        "test_perf.py::test_tracked_without_limits",
        "test_perf.py::test_raises",
        "test_perf.py::test_inner_tracker",
    }
    assert by_test["test_perf.py::test_raises"]["status"] == "failed"
    assert by_test["test_perf.py::test_raises"]["error"] == "ValueError: broken"
    assert by_test["test_perf.py::test_slow"]["wall_ms"] >= 50
    assert by_test["test_perf.py::test_hog"]["rss_peak_growth_mb"] > 16
    assert by_test["test_perf.py::test_inner_tracker"]["name"] == "inner_op"
    assert "cpu" in data["machine_class"]


def test_no_table_without_tracked_operations(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1)
    assert "tracked operation" not in result.stdout.str()


@pytest.mark.parametrize(
    "marker",
    [
        "performance(5)",
        "performance(max_seconds=1)",
        "performance(max_ms=0)",
        "performance(max_memory_mb='big')",
    ],
)
def test_bad_marker_arguments_are_usage_errors(pytester: pytest.Pytester, marker: str) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(f"import pytest\n@pytest.mark.{marker}\ndef test_x():\n    pass\n")
    result = pytester.runpytest(*PLUGIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*performance*"])


def test_performance_tests_share_one_xdist_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makeini(INI)
    out = pytester.path / "workers"
    out.mkdir()
    pytester.makepyfile(
        test_grouped=f"""
import os
import pytest

@pytest.mark.parametrize("i", range(8))
@pytest.mark.performance(max_ms=60_000)
def test_perf(i):
    (__import__("pathlib").Path({str(out)!r}) / f"perf{{i}}").write_text(
        os.environ["PYTEST_XDIST_WORKER"])

@pytest.mark.parametrize("i", range(8))
def test_plain(i):
    (__import__("pathlib").Path({str(out)!r}) / f"plain{{i}}").write_text(
        os.environ["PYTEST_XDIST_WORKER"])
"""
    )
    result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2", timeout=300)
    result.assert_outcomes(passed=16)
    perf_workers = {p.read_text() for p in out.glob("perf*")}
    assert len(list(out.glob("perf*"))) == 8
    assert len(perf_workers) == 1, f"performance tests spread over {perf_workers}"
    result.stdout.fnmatch_lines(["*performance: 8 tracked operation(s)*"])


def test_a_nested_session_keeps_its_records_out_of_the_outer_summary(
    perf_suite: pytest.Pytester,
) -> None:
    """Outer test: one tracker of its own, then a whole in-process pytest run with trackers.
    The outer summary shows its own tracker only; the inner run reports the inner ones."""
    perf_suite.makepyfile(
        test_outer="""
        from tests.utils import PerformanceTracker

        def test_outer(pytester):
            with PerformanceTracker("outer_op"):
                pass
            pytester.makepyfile(test_inner='''
        from tests.utils import PerformanceTracker
        def test_inner():
            with PerformanceTracker("inner_op"):
                pass
        ''')
            inner = pytester.runpytest("-p", "tests.utils.pytest_performance")
            inner.assert_outcomes(passed=1)
            inner.stdout.fnmatch_lines(["*inner_op*"])
        """
    )
    result = perf_suite.runpytest(*PLUGIN, "-p", "pytester", "test_outer.py")
    result.assert_outcomes(passed=1)
    outer_summary = result.stdout.str().rsplit("performance: ", 1)[1]
    assert outer_summary.startswith("1 tracked operation")
    assert "outer_op" in outer_summary and "inner_op" not in outer_summary
