"""KaizenFrameworkBenchmark: the framework's standard operations as one benchmark suite.

Targets are the framework-core goals (medians). The seed limits from the performance issue
(framework init 200 ms, agent creation 100 ms, workflow execution 5 s, signature compile
300 ms) are outer limits only; the stored per-machine baselines are the real guard.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from .instant_provider import ensure_registered
from .suite import BenchmarkResult, BenchmarkSuite
from .tracker import PerformanceTracker

SEED_LIMITS_MS: dict[str, float] = {
    "framework_init": 200.0,
    "agent_creation": 100.0,
    "workflow_execution": 5000.0,
    "signature_define_and_compile": 300.0,
}

TARGETS_MS: dict[str, float] = {
    "framework_init": 200.0,
    "agent_creation": 100.0,
    "signature_compile_cold": 0.100,
    "signature_compile_cached": 0.005,
    "signature_define_and_compile": 300.0,
    "workflow_3node_build_execute": 0.050,
    "agent_run_instant": 0.050,
    "concurrent_agents_1000": 1000.0,
}
CONCURRENT_RSS_LIMIT_MB = 200.0

_QA_DOC = "Answer the question from the context."
_QA_ANNOTATIONS: dict[str, type] = {
    "question": str,
    "context": str,
    "answer": str,
    "confidence": float,
}


def _qa_namespace() -> dict[str, Any]:
    from kaizen import InputField, OutputField

    ns: dict[str, Any] = {"__doc__": _QA_DOC, "__annotations__": dict(_QA_ANNOTATIONS)}
    ns["question"] = InputField(desc="the question")
    ns["context"] = InputField(desc="background")
    ns["answer"] = OutputField(desc="short answer")
    ns["confidence"] = OutputField(desc="0..1")
    return ns


def _inc(x: int) -> int:
    return x + 1


def _tcp_reachable(url: str, timeout: float = 0.5) -> bool:
    parsed = urlparse(url if "://" in url else f"tcp://{url}")
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 80), timeout=timeout
        ):
            return True
    except OSError:
        return False


def skipped_row(name: str, reason: str, target_ms: float | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "median_ms": None,
        "p95_ms": None,
        "target_ms": target_ms,
        "n": 0,
        "skipped": True,
        "reason": reason,
    }


class KaizenFrameworkBenchmark:
    """Runs each framework operation through a BenchmarkSuite and returns bench rows."""

    def __init__(
        self,
        suite: BenchmarkSuite | None = None,
        *,
        targets: Mapping[str, float] | None = None,
    ) -> None:
        import kaizen

        self.kaizen = kaizen
        self.suite = suite or BenchmarkSuite("kaizen-framework")
        self.targets = {**TARGETS_MS, **(targets or {})}
        self.provider = ensure_registered()
        self.QA = type("QA", (kaizen.Signature,), _qa_namespace())
        self._ids = itertools.count()

    def _agent_config(self) -> dict[str, Any]:
        return {"model": "instant", "provider": self.provider, "max_retries": 0}

    def _row(self, name: str, result: BenchmarkResult) -> dict[str, Any]:
        row = result.to_row()
        if name in SEED_LIMITS_MS:
            row["seed_limit_ms"] = SEED_LIMITS_MS[name]
        return row

    def _measure(self, name: str, fn: Callable[[], object], **kwargs: Any) -> dict[str, Any]:
        result = self.suite.measure(name, fn, target_ms=self.targets.get(name), **kwargs)
        return self._row(name, result)

    # --- operations -----------------------------------------------------------------------

    def framework_init(self) -> dict[str, Any]:
        return self._measure("framework_init", lambda: self.kaizen.Kaizen())

    def agent_creation(self) -> dict[str, Any]:
        """create_agent + remove_agent on one framework (removal keeps the namespace flat)."""
        k = self.kaizen.Kaizen()
        config = self._agent_config()

        def create() -> None:
            agent_id = f"a{next(self._ids)}"
            k.create_agent(agent_id, config, signature=self.QA)
            k.remove_agent(agent_id)

        return self._measure("agent_creation", create)

    def signature_compile_cold(self, inner: int = 200) -> dict[str, Any]:
        """compile_signature on classes never compiled before: each round's setup defines
        `inner` fresh Signature classes (untimed), the timed loop compiles each once."""
        kaizen = self.kaizen
        pool: list[type] = []

        def fresh_classes() -> None:
            pool[:] = [
                type(f"QA{next(self._ids)}", (kaizen.Signature,), _qa_namespace())
                for _ in range(inner)
            ]

        def cold() -> None:
            kaizen.compile_signature(pool.pop())

        return self._measure("signature_compile_cold", cold, setup=fresh_classes, inner=inner)

    def signature_define_and_compile(self) -> dict[str, Any]:
        """A class statement plus its first compile: what a user pays per new signature."""
        kaizen = self.kaizen

        def define() -> None:
            cls = type(f"QA{next(self._ids)}", (kaizen.Signature,), _qa_namespace())
            kaizen.compile_signature(cls)

        return self._measure("signature_define_and_compile", define)

    def signature_compile_cached(self) -> dict[str, Any]:
        compile_signature = self.kaizen.compile_signature
        qa = self.QA
        compile_signature(qa)
        return self._measure("signature_compile_cached", lambda: compile_signature(qa))

    def workflow_execution(self) -> dict[str, Any]:
        """Build and execute a 3-node PythonCodeNode chain a -> b -> c."""
        kaizen = self.kaizen
        runtime = kaizen.LocalRuntime()

        def build_execute() -> None:
            wf = kaizen.WorkflowBuilder()
            for node_id in ("a", "b", "c"):
                wf.add_node("PythonCodeNode", node_id, {"function": _inc})
            wf.add_connection("a", "result", "b", "x")
            wf.add_connection("b", "result", "c", "x")
            results, _ = runtime.execute(wf.build(), parameters={"a": {"x": 1}})
            if results["c"]["result"] != 4:
                raise AssertionError(f"3-node workflow computed {results['c']!r}, expected 4")

        return self._measure("workflow_3node_build_execute", build_execute)

    def agent_run_instant(self) -> dict[str, Any]:
        k = self.kaizen.Kaizen()
        agent = k.create_agent("bench-run", self._agent_config(), signature=self.QA)
        result = agent.run(question="q", context="c")
        if "answer" not in result.outputs:
            raise AssertionError(f"instant agent returned {result.outputs!r}")
        return self._measure("agent_run_instant", lambda: agent.run(question="q", context="c"))

    def concurrent_agents(self, n: int, rounds: int = 3) -> list[dict[str, Any]]:
        """n agents run concurrently (asyncio) on the instant provider: wall time and the
        process's absolute peak RSS."""
        k = self.kaizen.Kaizen()
        agents = [
            k.create_agent(f"c{n}-{i}", self._agent_config(), signature=self.QA) for i in range(n)
        ]

        async def run_all() -> None:
            await asyncio.gather(*(a.arun(question="q", context="c") for a in agents))

        peak_mb = 0.0
        samples: list[float] = []
        for _ in range(rounds):
            with PerformanceTracker(
                f"concurrent_agents_{n}", monitor_cpu=True, publish=False
            ) as tracker:
                asyncio.run(run_all())
            metrics = tracker.get_metrics()
            samples.append(metrics.wall_ms)
            peak_mb = max(peak_mb, metrics.rss_peak_mb)
        name = f"concurrent_agents_{n}"
        rows = [
            self._row(name, self.suite.add_samples(name, samples, target_ms=self.targets.get(name)))
        ]
        rows.append(
            {
                "name": f"{name}_peak_rss",
                "median_ms": peak_mb,
                "p95_ms": peak_mb,
                "target_ms": CONCURRENT_RSS_LIMIT_MB if n == 100 else None,
                "n": rounds,
                "unit": "MB",
            }
        )
        return rows

    def real_llm_run(self) -> dict[str, Any]:
        """One agent run against the real Ollama-API server, when it is up."""
        name = "agent_run_real_llm"
        try:
            from tests.utils.docker_config import get_ollama_base_url
        except ImportError as exc:
            return skipped_row(name, f"service helpers unavailable: {exc}")
        url = get_ollama_base_url()
        if not _tcp_reachable(url):
            return skipped_row(name, f"no LLM server at {url} (start it: make services-up)")
        import os

        model = os.environ.get("KAIZEN_OLLAMA_MODEL", "gemma3:270m")
        k = self.kaizen.Kaizen()
        agent = k.create_agent(
            "bench-llm",
            {
                "model": model,
                "provider": "ollama",
                "base_url": url,
                "temperature": 0.0,
                "seed": 7,
                "max_tokens": 32,
                "timeout": 120,
            },
            signature="question -> answer",
        )
        return self._measure(name, lambda: agent.run(question="What is 2 + 2?"), rounds=3, inner=1)

    def database_round_trip(self) -> dict[str, Any]:
        """`SELECT 1` on the test PostgreSQL, when it is up."""
        name = "postgres_round_trip"
        try:
            import psycopg2

            from tests.utils.docker_config import get_postgres_connection_string
        except ImportError as exc:
            return skipped_row(name, f"unavailable: {exc}")
        dsn = get_postgres_connection_string()
        try:
            conn = psycopg2.connect(dsn, connect_timeout=2)
        except psycopg2.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return skipped_row(name, f"PostgreSQL not reachable ({first}); make services-up")
        try:
            cur = conn.cursor()

            def round_trip() -> None:
                cur.execute("SELECT 1")
                cur.fetchone()

            return self._measure(name, round_trip)
        finally:
            conn.close()

    def run_all(
        self, *, concurrency: Sequence[int] = (10, 100, 1000), include_services: bool = True
    ) -> list[dict[str, Any]]:
        rows = [
            self.framework_init(),
            self.agent_creation(),
            self.signature_compile_cold(),
            self.signature_compile_cached(),
            self.signature_define_and_compile(),
            self.workflow_execution(),
            self.agent_run_instant(),
        ]
        for n in concurrency:
            rows += self.concurrent_agents(n)
        if include_services:
            rows += [self.real_llm_run(), self.database_round_trip()]
        return rows
