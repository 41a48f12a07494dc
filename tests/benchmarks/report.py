"""`make bench-report`: a PNG chart of our latest benchmarks against the stored baseline
(this machine class) and the peer, from .kaizen/bench-results.json and
.kaizen/bench-peer.json (run `make bench` / `make bench-peer` first)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tests.utils._perf.baseline import BaselineNotFoundError, load_baseline

REPO = Path(__file__).resolve().parents[2]
KAIZEN_DIR = REPO / ".kaizen"


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.report")
    parser.add_argument("--results", type=Path, default=KAIZEN_DIR / "bench-results.json")
    parser.add_argument("--peer", type=Path, default=KAIZEN_DIR / "bench-peer.json")
    parser.add_argument("--output", type=Path, default=KAIZEN_DIR / "bench-report.png")
    args = parser.parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    results = _load(args.results)
    if results is None:
        print(f"no {args.results}: run `make bench` first", file=sys.stderr)
        return 2
    try:
        entries = load_baseline().entries
    except (BaselineNotFoundError, ValueError) as exc:
        print(f"note: {exc}", file=sys.stderr)
        entries = {}
    rows = [
        r for r in results["rows"] if r.get("median_ms") is not None and r.get("unit", "ms") == "ms"
    ]
    peer = _load(args.peer)

    panels = 2 if peer else 1
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels, 0.45 * len(rows) + 2))
    axes = list(axes) if panels > 1 else [axes]
    names = [r["name"] for r in rows]
    ys = range(len(rows))
    ax = axes[0]
    ax.barh([y + 0.2 for y in ys], [r["median_ms"] for r in rows], height=0.4, label="now")
    ax.barh(
        [y - 0.2 for y in ys],
        [entries[n].median_ms if n in entries else 0 for n in names],
        height=0.4,
        label="baseline",
    )
    ax.scatter(
        [r["target_ms"] or 0 for r in rows],
        list(ys),
        marker="|",
        s=200,
        color="red",
        label="target",
        zorder=3,
    )
    ax.set_yticks(list(ys), names)
    ax.set_xscale("log")
    ax.set_xlabel("median, ms (log)")
    ax.set_title(f"Kaizen benchmarks ({results['machine_class']})")
    ax.legend(loc="lower right")
    if peer:
        prow = peer["rows"]
        ax2 = axes[1]
        py = range(len(prow))
        ax2.barh([y + 0.2 for y in py], [r["ours"] for r in prow], height=0.4, label="kaizen")
        ax2.barh(
            [y - 0.2 for y in py],
            [r["peer"] for r in prow],
            height=0.4,
            label=peer["peer"].split("[")[0] + " " + peer["peer"].split("==")[-1],
        )
        ax2.set_yticks(list(py), [f"{r['name']} ({r['unit']})" for r in prow])
        ax2.set_xscale("log")
        ax2.set_xlabel("median (log)")
        ax2.set_title("side by side with the published peer")
        ax2.legend(loc="lower right")
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=110)
    print(f"chart written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
