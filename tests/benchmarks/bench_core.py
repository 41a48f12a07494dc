"""Framework-core targets (issue 2), as medians:

- `python -c "import kaizen"` minus `python -c "pass"`: < 25 ms (subprocesses, interleaved)
- build + execute a 3-node PythonCodeNode workflow: < 50 µs
- agent run on an in-process instant provider: < 50 µs of overhead
- signature compile: < 100 µs cold, < 5 µs cached
- RSS after `import kaizen` + creating 1,000 agents: < 40 MB (fresh subprocess)
- 100 concurrent agents under 200 MB RSS; 1,000 concurrent agents in under 1 s
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.utils._perf.stats import SampleStats

REPO = Path(__file__).resolve().parents[2]
IMPORT_TARGET_MS = 25.0
RSS_TARGET_MB = 40.0
IMPORT_PAIRS = int(os.environ.get("KAIZEN_BENCH_IMPORT_PAIRS", "40"))
RSS_RUNS = 5

# Runs in a fresh interpreter: only kaizen, the instant provider and 1,000 agents.
_RSS_SCRIPT = """
import kaizen
from kaizen import InputField, OutputField, Signature
from tests.utils._perf.instant_provider import ensure_registered

class QA(Signature):
    \"\"\"Answer the question from the context.\"\"\"
    question: str = InputField(desc="the question")
    context: str = InputField(desc="background")
    answer: str = OutputField(desc="short answer")
    confidence: float = OutputField(desc="0..1")

name = ensure_registered()
k = kaizen.Kaizen()
cfg = {"model": "instant", "provider": name}
agents = [k.create_agent(f"a{i}", cfg, signature=QA) for i in range(1000)]
assert len(k.list_agents()) == 1000
with open("/proc/self/status") as fh:
    rss_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
print(rss_kb / 1024)
"""


def _run_ms(code: str) -> float:
    t0 = time.perf_counter_ns()
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return (time.perf_counter_ns() - t0) / 1e6


def import_time(pairs: int = IMPORT_PAIRS) -> dict[str, Any]:
    """Paired, alternating runs so machine drift hits both sides equally."""
    _run_ms("import kaizen")  # warm the OS page cache and bytecode
    diffs: list[float] = []
    base: list[float] = []
    for i in range(pairs):
        if i % 2:
            t_import, t_pass = _run_ms("import kaizen"), _run_ms("pass")
        else:
            t_pass, t_import = _run_ms("pass"), _run_ms("import kaizen")
        diffs.append(t_import - t_pass)
        base.append(t_pass)
    stats = SampleStats.of(diffs)
    return {
        "name": "import_kaizen_minus_python",
        "median_ms": stats.median_ms,
        "p95_ms": stats.p95_ms,
        "target_ms": IMPORT_TARGET_MS,
        "n": stats.n,
        "mad_ms": stats.mad_ms,
        "python_startup_ms": statistics.median(base),
    }


def rss_1000_agents(runs: int = RSS_RUNS) -> dict[str, Any]:
    values = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", _RSS_SCRIPT],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
        values.append(float(proc.stdout.strip().splitlines()[-1]))
    stats = SampleStats.of(values)
    return {
        "name": "rss_import_plus_1000_agents",
        "median_ms": stats.median_ms,
        "p95_ms": stats.p95_ms,
        "target_ms": RSS_TARGET_MB,
        "n": stats.n,
        "mad_ms": stats.mad_ms,
        "unit": "MB",
    }


def run() -> list[dict[str, Any]]:
    from tests.utils._perf.framework import KaizenFrameworkBenchmark

    rows = [import_time(), rss_1000_agents()]
    rows += KaizenFrameworkBenchmark().run_all(concurrency=(10, 100, 1000), include_services=False)
    return rows


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
