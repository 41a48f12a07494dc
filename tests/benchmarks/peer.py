"""`make bench-peer`: the same operations through our API and the published
`kailash-kaizen` (own venv in .kaizen/peer-venv), alternating in one run, as a ratio table.

Each round starts one fresh worker process per side (the order rotates every round) so
drift on a shared machine hits every side alike; a figure is the median over rounds of each
worker's median, and a ratio the median over rounds of that round's ratio. Inside a worker
the rows take turns sample by sample, and `signature_class_over_*` is the class definition
over a floor sample by sample (adjacent in time). Every row does the same work on both
sides (see `_peer_ops.py`); the `type_floor*` rows are the floors a signature class
definition is held to. `--before REV` adds a third side: our venv running the `kaizen`
package as it was at git revision REV, so a change is measured before/after in one run.

Goals (issue 13), checked at the end: never slower than the peer on any row; a signature
class definition within 1.3x of the floors (the bare-`type()` one is reported as below the
floor when a plain subclass with the same declarations already costs more: see
`_floor_goals`); ready-to-use and agent creation at least 2x faster than the peer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "_peer_ops.py"
PEER_VENV = REPO / ".kaizen" / "peer-venv"
PEER_PACKAGE = "kailash-kaizen[observability]==2.46.1"  # observability: BaseAgent.run needs it
DEFAULT_OUTPUT = REPO / ".kaizen" / "bench-peer.json"
FLOOR_LIMIT = 1.3
"""Goal: a signature class definition costs at most this many bare `type()` calls."""
FASTER_BY = 2.0
"""Goal: ready-to-use and agent creation at least this many times faster than the peer."""
_FASTER_ROWS = ("signature_ready", "agent_creation")
_GOAL_MARK = {True: "met", False: "MISSED", None: "below the floor"}


def ensure_peer_venv() -> Path:
    python = PEER_VENV / "bin" / "python"
    probe = [
        str(python),
        "-c",
        "import importlib.metadata as m; print(m.version('kailash-kaizen'))",
    ]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"installing {PEER_PACKAGE} into {PEER_VENV} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PEER_PACKAGE,
            "psutil",
        ],
        check=True,
    )
    return python


def _env(pythonpath: str | None) -> dict[str, str]:
    """The workers' environment: bytecode caching on (imports are timed as users see them),
    and for the `before` side the old tree first on the path."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    }
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def _worker(python: Path, side: str, mode: str, cwd: str, env: Mapping[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [str(python), str(WORKER), side, mode, str(REPO)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{side} worker failed:\n{proc.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def _import_ms(python: Path, cwd: str, code: str, env: Mapping[str, str]) -> float:
    t0 = time.perf_counter_ns()
    subprocess.run(
        [str(python), "-c", code], cwd=cwd, env=dict(env), check=True, capture_output=True
    )
    return (time.perf_counter_ns() - t0) / 1e6


def _extract_tree(rev: str, into: Path) -> Path:
    """The `kaizen` package as it was at `rev`, unpacked under `into` (git archive)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "kaizen.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(REPO), "archive", rev, "kaizen"], stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def _unit(name: str) -> str:
    if "_over_" in name:
        return "x"
    if name.endswith("_mb"):
        return "MB"
    if name.endswith("_ms"):
        return "ms"
    return "us"


def _goals(rows: dict[str, dict[str, Any]]) -> list[tuple[str, bool | None]]:
    """The issue's goals, from the per-round ratios (each pairs workers adjacent in time).
    None marks a goal no implementation can meet on this interpreter (see `_floor_goals`)."""
    checks: list[tuple[str, bool | None]] = []
    for name, row in rows.items():
        if row["unit"] == "x" or name.startswith("type_floor"):
            continue
        ok = row["ratio_peer_over_ours"] >= 1.0
        checks.append((f"{name}: not slower than the peer", ok))
    checks.extend(_floor_goals(rows))
    for name in _FASTER_ROWS:
        if name in rows:
            ratio = rows[name]["ratio_peer_over_ours"]
            text = f"{name} {ratio:.1f}x faster than the peer (>= {FASTER_BY:g}x)"
            checks.append((text, ratio >= FASTER_BY))
    return checks


def _floor_goals(rows: dict[str, dict[str, Any]]) -> list[tuple[str, bool | None]]:
    """A signature class definition against the `type()` floors. The issue asked for 1.3x
    of a bare `type()` with plain attributes; a subclass of an empty class with the same
    field declarations and no hook already costs more than that under CPython 3.11 (a base
    class and four field objects, no validation). Where it does, that goal is reported as
    below the floor, and the goal checked is 1.3x of that subclass floor: what validating
    at definition may add to the cheapest class that has these declarations."""
    checks: list[tuple[str, bool | None]] = []
    subclass_floor = None
    if "type_floor" in rows and "type_floor_subclass_same_body" in rows:
        subclass_floor = rows["type_floor_subclass_same_body"]["ours"] / rows["type_floor"]["ours"]
    for floor_row in ("type_floor", "type_floor_same_body", "type_floor_subclass_same_body"):
        name = f"signature_class_over_{floor_row}"
        if name not in rows:
            continue
        ratio = rows[name]["ours"]
        text = f"signature_class {ratio:.2f}x {floor_row} (<= {FLOOR_LIMIT}x)"
        ok: bool | None = ratio <= FLOOR_LIMIT
        if floor_row == "type_floor" and subclass_floor and subclass_floor > FLOOR_LIMIT:
            text += (
                f": below the floor, type_floor_subclass_same_body is itself "
                f"{subclass_floor:.2f}x type_floor"
            )
            ok = ok or None
        checks.append((text, ok))
    return checks


def _paired_ratio(top: list[float], bottom: list[float]) -> float | None:
    """Median of round-by-round ratios (round r of one side against round r of the other)."""
    ratios = [t / b for t, b in zip(top, bottom, strict=True) if b > 0]
    return statistics.median(ratios) if ratios else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.peer")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--import-pairs", type=int, default=10)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--before",
        metavar="REV",
        help="also run our kaizen package as of git revision REV (before/after in one run)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kaizen-peer-") as tmp:
        cwd = str(Path(tmp) / "cwd")  # neutral: no ./kaizen
        os.mkdir(cwd)
        sides: dict[str, tuple[Path, dict[str, str]]] = {
            # on the path like an installed package (the peer's), not through the editable
            # install's import hook, whose cost is a development setup's, not kaizen's
            "ours": (Path(sys.executable), _env(str(REPO))),
            "peer": (ensure_peer_venv(), _env(None)),
        }
        if args.before:
            old = _extract_tree(args.before, Path(tmp) / "before")
            sides["before"] = (Path(sys.executable), _env(str(old)))
        names = list(sides)
        samples: dict[str, dict[str, list[float]]] = {s: {} for s in names}
        paths: dict[str, str] = {}
        for py, env in sides.values():  # warm the page cache and write bytecode
            _import_ms(py, cwd, "import kaizen", env)
        for i in range(args.import_pairs):
            for side in names[i % len(names) :] + names[: i % len(names)]:
                py, env = sides[side]
                base = _import_ms(py, cwd, "pass", env)
                samples[side].setdefault("import_minus_python_ms", []).append(
                    _import_ms(py, cwd, "import kaizen", env) - base
                )
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            if r % 2:
                order.reverse()
            for side in order:
                print(f"round {r + 1}/{args.rounds}: {side}", file=sys.stderr, flush=True)
                py, env = sides[side]
                for mode in ("ops", "rss"):
                    for key, value in _worker(py, side, mode, cwd, env).items():
                        if key == "kaizen_path":
                            paths[side] = value
                        elif key != "agents":
                            samples[side].setdefault(key, []).append(value)

    rows: dict[str, dict[str, Any]] = {}
    for name in samples["ours"]:
        row: dict[str, Any] = {"name": name, "unit": _unit(name)}
        for side in names:
            row[side] = statistics.median(samples[side][name])
        ours = samples["ours"][name]
        row["ratio_peer_over_ours"] = _paired_ratio(samples["peer"][name], ours)
        if "before" in row:
            row["ratio_before_over_ours"] = _paired_ratio(samples["before"][name], ours)
        rows[name] = row

    width = max(len(n) for n in rows)
    head = f"{'operation'.ljust(width)}  {'ours':>12}"
    if args.before:
        head += f"  {'before':>12}  {'before/ours':>11}"
    head += f"  {'kailash-kaizen':>14}  {'peer/ours':>9}"
    print(head)
    for shown in rows.values():
        unit = shown["unit"]
        line = f"{shown['name'].ljust(width)}  {shown['ours']:>9.2f} {unit:<2}"
        if args.before:
            before, ratio = shown["before"], shown["ratio_before_over_ours"]
            line += f"  {before:>9.2f} {unit:<2}  {ratio:>10.2f}x"
        line += f"  {shown['peer']:>11.2f} {unit:<2}  {shown['ratio_peer_over_ours']:>8.2f}x"
        print(line)
    goals = _goals(rows)
    print()
    for text, ok in goals:
        print(f"  [{_GOAL_MARK[ok]}] {text}")
    for side, path in paths.items():
        print(f"  {side}: {path}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "peer": PEER_PACKAGE,
                "rounds": args.rounds,
                "before": args.before,
                "rows": list(rows.values()),
                "goals": [{"goal": text, "met": ok} for text, ok in goals],
                "samples": samples,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
