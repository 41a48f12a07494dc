"""Tool-loop targets (issue 13), as medians, on the in-process fake LLM answering at once:

- overhead per tool call beyond the tool's own time: < 50 µs (a run with ten calls minus a
  run with none, interleaved, divided by ten)
- 1,000 concurrent tool-using agent runs (one call each): < 2 s and < 100 MB RSS (fresh
  subprocess)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.utils._perf.stats import SampleStats

REPO = Path(__file__).resolve().parents[2]
PER_CALL_TARGET_US = 50.0
CONCURRENT_TARGET_MS = 2000.0
CONCURRENT_RSS_TARGET_MB = 100.0
CALLS = 10
ROUNDS, REPS = 15, 100

# Shared by this process and the subprocess: the unit tier's fake LLM (MockLLMProvider,
# function mode) asks for `add` until the transcript holds `calls` tool results, then
# answers; no call log, fixed usage, so the fake costs as little as it can.
_SETUP = """
from kaizen import Kaizen
from kaizen.providers import ToolCall, available_providers, register_provider
from tests.utils.mock_providers import MockLLMProvider

CALL = ToolCall("add", {"a": 1, "b": 2}, "c0")
ANSWER = '{"answer": "3"}'


def tool_caller(calls):
    def answer(messages, signature):
        done = sum(1 for m in messages if m.get("role") == "tool")
        return CALL if done < calls else ANSWER

    return MockLLMProvider(
        name=f"bench-tools-{calls}", fn=answer, model="m", usage=(0, 0), record_calls=False
    )


def add(a: int, b: int) -> int:
    return a + b


def tool_agent(k, agent_id, calls):
    name = f"bench-tools-{calls}"
    if name not in available_providers():
        register_provider(name, tool_caller(calls).factory)
    config = {"model": "m", "provider": name, "max_steps": calls + 2}
    return k.create_agent(agent_id, config, tools=[add])
"""

_CONCURRENT = (
    _SETUP
    + """
import asyncio, json, time

k = Kaizen()
agents = [tool_agent(k, f"c{i}", 1) for i in range(1000)]


async def main():
    return await asyncio.gather(*(a.arun(question="q") for a in agents))


started = time.perf_counter()
results = asyncio.run(main())
elapsed_ms = (time.perf_counter() - started) * 1000
assert all(r.answer == "3" and len(r.steps) == 3 for r in results)
with open("/proc/self/status") as fh:
    rss_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"ms": elapsed_ms, "rss_mb": rss_kb / 1024}))
"""
)


def _namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(_SETUP, "<bench_tools setup>", "exec"), namespace)
    return namespace


def per_tool_call() -> dict[str, Any]:
    ns = _namespace()
    k = ns["Kaizen"]()
    none, ten = ns["tool_agent"](k, "none", 0), ns["tool_agent"](k, "ten", CALLS)

    def batch(agent: Any) -> float:
        started = time.perf_counter_ns()
        for _ in range(REPS):
            agent.run(question="q")
        return (time.perf_counter_ns() - started) / REPS / 1000  # µs per run

    batch(none), batch(ten)  # warm-up
    diffs = []
    for i in range(ROUNDS):  # interleaved: drift hits both sides
        if i % 2:
            t_ten, t_none = batch(ten), batch(none)
        else:
            t_none, t_ten = batch(none), batch(ten)
        diffs.append((t_ten - t_none) / CALLS / 1000)  # ms per call
    stats = SampleStats.of(diffs)
    return {
        "name": "tool_call_overhead",
        "median_ms": stats.median_ms,
        "p95_ms": stats.p95_ms,
        "target_ms": PER_CALL_TARGET_US / 1000,
        "n": stats.n,
        "mad_ms": stats.mad_ms,
    }


def concurrent_tool_runs(runs: int = 3) -> list[dict[str, Any]]:
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _CONCURRENT], cwd=REPO, check=True, capture_output=True
        )
        samples.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))
    times = SampleStats.of([s["ms"] for s in samples])
    rss = SampleStats.of([s["rss_mb"] for s in samples])
    return [
        {
            "name": "tool_runs_1000_concurrent",
            "median_ms": times.median_ms,
            "p95_ms": times.p95_ms,
            "target_ms": CONCURRENT_TARGET_MS,
            "n": times.n,
            "mad_ms": times.mad_ms,
        },
        {
            "name": "tool_runs_1000_concurrent_peak_rss",
            "median_ms": rss.median_ms,
            "p95_ms": rss.p95_ms,
            "target_ms": CONCURRENT_RSS_TARGET_MB,
            "n": rss.n,
            "mad_ms": rss.mad_ms,
            "unit": "MB",
        },
    ]


def run() -> list[dict[str, Any]]:
    return [per_tool_call(), *concurrent_tool_runs()]


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
