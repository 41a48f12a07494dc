"""`python -m tests.utils.docker_config up|down|status [service ...]`."""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from .settings import SERVICE_NAMES
from .stack import ServiceUnavailableError, Stack

COLUMNS = ("service", "backend", "endpoint", "version", "started", "id", "health")


def format_table(rows: list[dict[str, Any]]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    widths["health"] = len("health")
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in COLUMNS)]
    for row in rows:
        lines.append("  ".join(str(row[c]).ljust(widths[c]) for c in COLUMNS).rstrip())
    return "\n".join(lines)


def _stop_started(stack: Stack) -> dict[str, str]:
    """Stop the servers this invocation recorded (its run id), under the state file's lock.

    A second Ctrl-C while stopping is ignored: leaving a half-stopped server is worse.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return stack.stop_run(stack.run_id)
    finally:
        signal.signal(signal.SIGINT, previous)


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

    # A run id of its own: on Ctrl-C, `up` stops exactly the servers this invocation
    # recorded, never those of an earlier `up` or of a pytest run on the same state file.
    run_id = f"cli-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stack = Stack(owner_kind="cli", run_id=run_id, progress=progress)
    if args.command == "up":
        try:
            outcomes = stack.ensure_outcomes(names)
            failed = [o for o in outcomes.values() if isinstance(o, ServiceUnavailableError)]
            for err in failed:
                print(f"FAILED {err}", file=sys.stderr)
            print(format_table(stack.status_rows(names)))
        except KeyboardInterrupt:
            stopped = _stop_started(stack)
            what = ", ".join(sorted(stopped)) or "nothing had been started"
            print(f"interrupted; stopped what this command started ({what})", file=sys.stderr)
            return 130
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
