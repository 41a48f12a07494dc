"""`python -m tests.utils.docker_config up|down|status [service ...]`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from .settings import SERVICE_NAMES
from .stack import ServiceUnavailableError, Stack

COLUMNS = ("service", "backend", "endpoint", "version", "started", "health")


def format_table(rows: list[dict[str, Any]]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    widths["health"] = len("health")
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in COLUMNS)]
    for row in rows:
        lines.append("  ".join(str(row[c]).ljust(widths[c]) for c in COLUMNS).rstrip())
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.utils.docker_config",
        description="Bring the real-service test stack up, down, or show its status.",
    )
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument(
        "services",
        nargs="*",
        choices=[[], *SERVICE_NAMES],
        metavar="service",
        help=f"any of {', '.join(SERVICE_NAMES)} (default: all)",
    )
    args = parser.parse_args(argv)
    names = list(args.services) or list(SERVICE_NAMES)
    t0 = time.perf_counter()

    def progress(text: str) -> None:
        print(f"[{time.perf_counter() - t0:6.2f}s] {text}", flush=True)

    stack = Stack(owner_kind="cli", run_id="cli", progress=progress)
    if args.command == "up":
        outcomes = stack.ensure_outcomes(names)
        failed = [o for o in outcomes.values() if isinstance(o, ServiceUnavailableError)]
        for err in failed:
            print(f"FAILED {err}", file=sys.stderr)
        print(format_table(stack.status_rows(names)))
        return 1 if failed else 0
    if args.command == "down":
        stopped = stack.down(names)
        for key, result in sorted(stopped.items()):
            progress(f"{key}: {result}")
        if not stopped:
            progress("nothing recorded to stop (servers the toolkit did not start are left alone)")
        return 0
    print(format_table(stack.status_rows(names)))
    return 0
