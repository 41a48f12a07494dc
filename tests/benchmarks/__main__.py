"""`make bench`: run every tests/benchmarks/bench_*.py module, print one table, write JSON.

Row contract for `run() -> list[dict]`: "name", "median_ms", "p95_ms", "target_ms", "n";
optional "unit" (figures in another unit, e.g. "MB"), "skipped" + "reason", "error", and any
extra keys. A module that fails to import or raises becomes a FAIL row; the table is always
printed. Exit status is 0 unless `--strict` and something failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.utils._perf.baseline import (
    Baseline,
    BaselineNotFoundError,
    MachineClassMismatchError,
    compare,
    load_baseline,
    machine_class,
    measure_reference,
    save_baseline,
)
from tests.utils._perf.suite import format_table, row_verdict

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = Path(".kaizen") / "bench-results.json"
_REQUIRED = ("name", "median_ms", "p95_ms", "target_ms", "n")


def discover(only: Sequence[str] = ()) -> list[str]:
    """Module names of bench_*.py files, optionally filtered by substrings of the stem."""
    stems = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        stems = [s for s in stems if any(o in s for o in only)]
    return stems


def _error_row(name: str, exc: BaseException) -> dict[str, Any]:
    return {
        "name": name,
        "median_ms": None,
        "p95_ms": None,
        "target_ms": None,
        "n": 0,
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": traceback.format_exc(),
    }


def _check_row(module: str, row: Any) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise TypeError(f"{module}.run() returned a {type(row).__name__}, expected a dict")
    missing = [k for k in _REQUIRED if k not in row]
    if missing:
        raise TypeError(f"{module}.run() row {row.get('name', '?')!r} lacks keys {missing}")
    return {**row, "module": module}


def run_module(stem: str) -> list[dict[str, Any]]:
    """Rows of one bench module; an import error or exception becomes one FAIL row."""
    try:
        module = importlib.import_module(f"{__package__}.{stem}")
        run = getattr(module, "run", None)
        if not callable(run):
            raise TypeError(f"{stem} has no run() -> list[dict]")
        return [_check_row(stem, row) for row in run()]
    except Exception as exc:  # one broken module must not hide the others
        return [{**_error_row(stem, exc), "module": stem}]


def _comparison(rows: list[dict[str, Any]], reference: Any) -> tuple[list[Any], str]:
    try:
        baseline = load_baseline()
    except (BaselineNotFoundError, ValueError) as exc:
        return [], str(exc)
    try:
        return compare(baseline, rows, reference), f"baseline recorded {baseline.created}"
    except MachineClassMismatchError as exc:
        return [], str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"JSON results path (default {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SUBSTR",
        help="run only bench modules whose name contains SUBSTR (repeatable)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed or a module failed"
    )
    parser.add_argument(
        "--save-baseline",
        action="store_true",
        help="store these results as this machine class's baseline",
    )
    args = parser.parse_args(argv)

    stems = discover(args.only)
    if not stems:
        print(f"no bench_*.py module matches {args.only}", file=sys.stderr)
        return 2
    reference_before = measure_reference()
    rows: list[dict[str, Any]] = []
    for stem in stems:
        print(f"running {stem} ...", file=sys.stderr, flush=True)
        rows += run_module(stem)
    reference = measure_reference()

    comparisons, note = _comparison(rows, reference)
    verdict_of = {c.name: c.verdict for c in comparisons}
    for row in rows:
        row["verdict"] = row_verdict(row)
        if row["name"] in verdict_of:
            row["vs_baseline"] = verdict_of[row["name"]]
    print(format_table(rows, extra_columns=["vs_baseline"] if comparisons else ()))
    print(
        f"\nmachine class {machine_class()}; reference workload "
        f"{reference.median_ms:.3f} ms (before: {reference_before.median_ms:.3f} ms); {note}"
    )

    payload = {
        "machine_class": machine_class(),
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reference": {
            "median_ms": reference.median_ms,
            "mad_ms": reference.mad_ms,
            "before_median_ms": reference_before.median_ms,
        },
        "rows": rows,
        "comparison": [c.describe() for c in comparisons],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(payload, indent=2, default=str) + "\n", "utf-8")
    print(f"results written to {args.output}")
    if args.save_baseline:
        path = save_baseline(Baseline.from_rows(rows, reference))
        print(f"baseline saved to {path}")

    failed = [r["name"] for r in rows if r["verdict"] == "FAIL"]
    if failed:
        print(
            f"{len(failed)} FAIL: {', '.join(failed)}"
            + ("" if args.strict else " (informational; pass --strict to fail the run)")
        )
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
