"""`make bench-peer`: the same operations through our API and the published
`kailash-kaizen` (own venv in .kaizen/peer-venv), alternating in one run, as a ratio table.

Each round starts one fresh worker process per side (order alternates ABBA) so drift on a
shared machine hits both sides alike; a figure is the median over rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "_peer_ops.py"
PEER_VENV = REPO / ".kaizen" / "peer-venv"
PEER_PACKAGE = "kailash-kaizen[observability]==2.46.1"  # observability: BaseAgent.run needs it
DEFAULT_OUTPUT = REPO / ".kaizen" / "bench-peer.json"


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


def _worker(python: Path, side: str, mode: str, cwd: str) -> dict[str, float]:
    proc = subprocess.run(
        [str(python), str(WORKER), side, mode, str(REPO)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{side} worker failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _import_ms(python: Path, cwd: str, code: str) -> float:
    t0 = time.perf_counter_ns()
    subprocess.run([str(python), "-c", code], cwd=cwd, check=True, capture_output=True)
    return (time.perf_counter_ns() - t0) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.peer")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--import-pairs", type=int, default=10)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    sides = {"ours": Path(sys.executable), "peer": ensure_peer_venv()}
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in sides}
    with tempfile.TemporaryDirectory(prefix="kaizen-peer-") as cwd:  # neutral: no ./kaizen
        for i in range(args.import_pairs):
            for side in ("ours", "peer") if i % 2 == 0 else ("peer", "ours"):
                py = sides[side]
                base = _import_ms(py, cwd, "pass")
                samples[side].setdefault("import_minus_python_ms", []).append(
                    _import_ms(py, cwd, "import kaizen") - base
                )
        for r in range(args.rounds):
            order = ("ours", "peer") if r % 2 == 0 else ("peer", "ours")
            for side in order:
                print(f"round {r + 1}/{args.rounds}: {side}", file=sys.stderr, flush=True)
                for mode in ("ops", "rss"):
                    for key, value in _worker(sides[side], side, mode, cwd).items():
                        if key != "agents":
                            samples[side].setdefault(key, []).append(value)

    rows: list[dict[str, Any]] = []
    for name in samples["ours"]:
        ours = statistics.median(samples["ours"][name])
        peer = statistics.median(samples["peer"][name])
        rows.append(
            {
                "name": name,
                "ours": ours,
                "peer": peer,
                "ratio_peer_over_ours": peer / ours if ours > 0 else None,
                "unit": "MB" if name.endswith("_mb") else "ms",
            }
        )
    width = max(len(r["name"]) for r in rows)
    print(f"{'operation'.ljust(width)}  {'ours':>12}  {'kailash-kaizen':>14}  {'peer/ours':>9}")
    for r in rows:
        ratio = "-" if r["ratio_peer_over_ours"] is None else f"{r['ratio_peer_over_ours']:.1f}x"
        unit = r["unit"]
        print(
            f"{r['name'].ljust(width)}  {r['ours']:>9.4f} {unit:<2}  {r['peer']:>11.4f} {unit:<2}"
            f"  {ratio:>9}"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {"peer": PEER_PACKAGE, "rounds": args.rounds, "rows": rows, "samples": samples},
            indent=2,
        )
        + "\n"
    )
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
