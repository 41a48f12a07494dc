"""Worker for `make bench-peer`: runs the shared operations through ONE implementation's
public API and prints JSON. Runs under our venv (`ours`) or the peer venv (`peer`), in a
fresh process with a neutral working directory, so the two `kaizen` packages never mix.

usage: python _peer_ops.py {ours|peer} {ops|rss} [REPO]
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

_ids = itertools.count()


def _median_ms(fn: Callable[[], Any], rounds: int = 7, min_round_s: float = 0.02) -> float:
    fn()
    loops = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        if time.perf_counter() - t0 >= min_round_s or loops >= 100_000:
            break
        loops *= 2
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter_ns() - t0) / loops / 1e6)
    return statistics.median(samples)


def _namespace(kaizen: Any) -> dict[str, Any]:
    return {
        "__doc__": "Answer the question from the context.",
        "__annotations__": {"question": str, "context": str, "answer": str, "confidence": float},
        "question": kaizen.InputField(desc="the question"),
        "context": kaizen.InputField(desc="background"),
        "answer": kaizen.OutputField(desc="short answer"),
        "confidence": kaizen.OutputField(desc="0..1"),
    }


class Ours:
    def __init__(self, repo: str) -> None:
        import kaizen

        sys.path.append(repo)  # after kaizen is imported: only for the instant provider
        from tests.utils._perf.instant_provider import ensure_registered

        self.k = kaizen
        self.QA = type("QA", (kaizen.Signature,), _namespace(kaizen))
        self.cfg = {"model": "instant", "provider": ensure_registered()}

    def framework_init(self) -> Any:
        return self.k.Kaizen()

    def agent_creation(self, fw: Any = None) -> Any:
        fw = fw or self.k.Kaizen()
        return fw.create_agent(f"a{next(_ids)}", self.cfg, signature=self.QA)

    def signature_define(self) -> Any:
        cls = type(f"QA{next(_ids)}", (self.k.Signature,), _namespace(self.k))
        return self.k.compile_signature(cls)

    def workflow_3node(self) -> Any:
        wf = self.k.WorkflowBuilder()
        for n in "abc":
            wf.add_node("PythonCodeNode", n, {"code": "result = x + 1"})
        wf.add_connection("a", "result", "b", "x")
        wf.add_connection("b", "result", "c", "x")
        results, _ = self.k.LocalRuntime().execute(wf.build(), parameters={"a": {"x": 1}})
        assert results["c"]["result"] == 4, results
        return results

    def make_runner(self) -> Callable[[], Any]:
        agent = self.agent_creation()
        return lambda: agent.run(question="q", context="c")


class Peer:
    def __init__(self) -> None:
        from kailash.runtime.local import LocalRuntime
        from kailash.workflow.builder import WorkflowBuilder
        from kaizen.core.base_agent import BaseAgent
        from kaizen.core.config import BaseAgentConfig

        import kaizen

        self.k = kaizen
        self.QA = type("QA", (kaizen.Signature,), _namespace(kaizen))
        self.WorkflowBuilder, self.LocalRuntime = WorkflowBuilder, LocalRuntime
        self.BaseAgent, self.BaseAgentConfig = BaseAgent, BaseAgentConfig
        self.cfg = {"model": "mock-model", "provider": "mock"}

    def framework_init(self) -> Any:
        return self.k.Kaizen()

    def agent_creation(self, fw: Any = None) -> Any:
        fw = fw or self.k.Kaizen()
        return fw.create_agent(f"a{next(_ids)}", dict(self.cfg), signature=self.QA)

    def signature_define(self) -> Any:
        return type(f"QA{next(_ids)}", (self.k.Signature,), _namespace(self.k))()

    def workflow_3node(self) -> Any:
        wf = self.WorkflowBuilder()
        for n in "abc":
            wf.add_node("PythonCodeNode", n, {"code": "result = x + 1"})
        wf.add_connection("a", "result", "b", "x")
        wf.add_connection("b", "result", "c", "x")
        results, _ = self.LocalRuntime().execute(wf.build(), parameters={"a": {"x": 1}})
        return results

    def make_runner(self) -> Callable[[], Any]:
        # its documented test provider ("mock"); the canned answer does not fit the
        # signature, so the run returns an error dict, but it walks the full run path.
        agent = self.BaseAgent(
            config=self.BaseAgentConfig(llm_provider="mock", model="mock-model"),
            signature=self.QA(),
            mcp_servers=[],
        )
        return lambda: agent.run(question="q", context="c")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


def main() -> None:
    side, mode = sys.argv[1], sys.argv[2]
    repo = sys.argv[3] if len(sys.argv) > 3 else ""
    impl: Any = Ours(repo) if side == "ours" else Peer()
    if mode == "rss":
        fw = impl.framework_init()
        agents = [impl.agent_creation(fw) for _ in range(100)]
        print(json.dumps({"rss_import_plus_100_agents_mb": _rss_mb(), "agents": len(agents)}))
        return
    runner = impl.make_runner()
    out = {
        "framework_init": _median_ms(impl.framework_init),
        "agent_creation": _median_ms(impl.agent_creation, rounds=5),
        "signature_define": _median_ms(impl.signature_define),
        "workflow_3node": _median_ms(impl.workflow_3node, rounds=5),
        "agent_run_test_provider": _median_ms(runner, rounds=5),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
