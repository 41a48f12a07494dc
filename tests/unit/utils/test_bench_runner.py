"""`make bench`'s runner (tests/benchmarks/__main__.py): discovery, one broken module never
hides the others, the table and JSON, and `--strict`."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks import __main__ as runner
from tests.utils._perf.baseline import BaselineNotFoundError


def _row(name: str, median: float, target: float | None = 1.0, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "median_ms": median,
        "p95_ms": median,
        "target_ms": target,
        "n": 3,
        **extra,
    }


@pytest.fixture
def fake_modules() -> Iterator[Callable[[str, Any], str]]:
    """Register in-memory bench modules under tests.benchmarks; removed afterwards."""
    added: list[str] = []

    def add(stem: str, run: Any) -> str:
        module = types.ModuleType(f"tests.benchmarks.{stem}")
        if run is not None:
            module.run = run  # type: ignore[attr-defined]
        sys.modules[module.__name__] = module
        added.append(module.__name__)
        return stem

    yield add
    for name in added:
        sys.modules.pop(name, None)


def test_discover_lists_the_real_bench_modules_and_filters_by_substring() -> None:
    stems = runner.discover()
    assert {"bench_core", "bench_services", "bench_llm_server"} <= set(stems)
    assert stems == sorted(stems)
    assert runner.discover(["core"]) == ["bench_core"]
    assert runner.discover(["no-such-bench"]) == []


def test_rows_are_tagged_with_their_module(fake_modules: Callable[[str, Any], str]) -> None:
    stem = fake_modules("bench_fake_ok", lambda: [_row("fast", 0.5)])
    assert runner.run_module(stem) == [{**_row("fast", 0.5), "module": stem}]


@pytest.mark.parametrize(
    ("run", "message"),
    [
        (None, "has no run()"),
        (lambda: [{"name": "x"}], "lacks keys ['median_ms', 'p95_ms', 'target_ms', 'n']"),
        (lambda: ["not a dict"], "returned a str, expected a dict"),
        (lambda: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_a_broken_module_becomes_one_fail_row(
    fake_modules: Callable[[str, Any], str], run: Any, message: str
) -> None:
    stem = fake_modules("bench_fake_broken", run)
    (row,) = runner.run_module(stem)
    assert row["name"] == stem and row["module"] == stem and row["n"] == 0
    assert message in row["error"]


def test_an_import_error_becomes_a_fail_row() -> None:
    (row,) = runner.run_module("bench_does_not_exist")
    assert row["error"].startswith("ModuleNotFoundError")


@pytest.fixture
def no_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Any:
        raise BaselineNotFoundError("no baseline in this test")

    monkeypatch.setattr(runner, "load_baseline", missing)


@pytest.mark.usefixtures("no_baseline")
def test_main_prints_every_row_writes_json_and_fails_only_when_strict(
    fake_modules: Callable[[str, Any], str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = fake_modules("bench_fake_good", lambda: [_row("quick", 0.2), _row("info", 3.0, None)])
    slow = fake_modules("bench_fake_slow", lambda: [_row("too_slow", 9.0)])
    broken = fake_modules("bench_fake_raises", lambda: 1 / 0)
    monkeypatch.setattr(runner, "discover", lambda only=(): [good, slow, broken])
    out = tmp_path / "nested" / "results.json"

    assert runner.main(["--output", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in ("quick", "info", "too_slow", broken):
        assert name in printed
    assert "2 FAIL: too_slow, bench_fake_raises" in printed and "--strict" in printed

    payload = json.loads(out.read_text())
    verdicts = {r["name"]: r["verdict"] for r in payload["rows"]}
    assert verdicts == {"quick": "PASS", "info": "INFO", "too_slow": "FAIL", broken: "FAIL"}
    assert payload["machine_class"] and payload["reference"]["median_ms"] > 0

    assert runner.main(["--output", str(out), "--strict"]) == 1


@pytest.mark.usefixtures("no_baseline")
def test_strict_run_with_every_target_met_exits_zero(
    fake_modules: Callable[[str, Any], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stem = fake_modules(
        "bench_fake_fine",
        lambda: [_row("ok", 0.1), _row("skip", 0, skipped=True, reason="no stack")],
    )
    monkeypatch.setattr(runner, "discover", lambda only=(): [stem])
    assert runner.main(["--output", str(tmp_path / "r.json"), "--strict"]) == 0


def test_no_matching_module_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["--only", "no-such-bench"]) == 2
    assert "no bench_*.py module matches" in capsys.readouterr().err
