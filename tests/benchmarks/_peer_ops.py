"""Worker for `make bench-peer`: runs the shared operations through ONE implementation's
public API and prints JSON. Runs under our venv (`ours`, or `before`: our venv with an older
`kaizen` tree first on PYTHONPATH) or the peer venv (`peer`), in a fresh process with a
neutral working directory, so the two `kaizen` packages never mix.

Every row does the same work on both sides (that is the point of the table):

- `type_floor`: a bare `type()` of a class with four plain attributes (the floor; the same
  code on both sides, so its ratio also shows how much the two processes drifted apart);
- `type_floor_same_body`: a bare `type()` (no base class) of the very namespace the next
  row builds, its four field declarations included: what the class body costs by itself;
- `type_floor_subclass_same_body`: the same, as a subclass of a plain empty class (no hook):
  what any signature class with these declarations costs before its base validates
  anything (a base class alone costs ~0.15x of the floor in CPython 3.11);
- `signature_class`: define a signature class with two InputFields and two OutputFields
  (the namespace, field declarations included, is built inside the timed call);
- `signature_ready`: make a signature class ready for use, on classes just defined (their
  definition is outside the timing: it is the row above): ours `compile_signature(cls)`,
  the peer's `cls()` (its signatures are used as instances);
- `signature_class_and_ready`: both steps, as a user pays them for a new signature;
- `agent_creation`: `create_agent(id, config, signature=QA)` on an existing framework made
  with `Kaizen(config=...)` (a fresh one per sample, outside the timing);
- `framework_init`: `Kaizen()`;
- `workflow_3node`: build and run a three-node PythonCodeNode workflow.

usage: python _peer_ops.py {ours|before|peer} {ops|rss} [REPO]
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
SAMPLES = 200
MIN_SAMPLE_S = 0.0005
"""Short samples: a long run of class definitions churns megabytes, and once the allocator
hands that memory back every sample pays page faults, which swamps the figures here."""

Batch = Callable[[int], Callable[[], Any]]
"""A row: `batch(n)` does the setup for n operations (outside the timing) and returns the
callable that performs them (the timing)."""


def repeat(fn: Callable[[], Any]) -> Batch:
    def batch(n: int) -> Callable[[], Any]:
        def run() -> None:
            for _ in range(n):
                fn()

        return run

    return batch


def each(prepare: Callable[[], Any], step: Callable[[Any], Any]) -> Batch:
    """A step that consumes what `prepare()` made (e.g. a class just defined)."""

    def batch(n: int) -> Callable[[], Any]:
        items = [prepare() for _ in range(n)]

        def run() -> None:
            for item in items:
                step(item)

        return run

    return batch


def _time_s(run: Callable[[], Any]) -> float:
    t0 = time.perf_counter_ns()
    run()
    return (time.perf_counter_ns() - t0) / 1e9


def measure(rows: dict[str, Batch], samples: int = SAMPLES) -> dict[str, list[float]]:
    """µs per operation, `samples` values per row. The loop count of each row is calibrated
    first (a sample lasts at least MIN_SAMPLE_S); then the rows take turns, one sample
    each, so that a slow moment of a shared machine lands on every row alike."""
    loops: dict[str, int] = {}
    for name, batch in rows.items():
        batch(1)()  # warm up
        n = 1
        while _time_s(batch(n)) < MIN_SAMPLE_S and n < 100_000:
            n *= 2
        loops[name] = n
    values: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(samples):
        for name, batch in rows.items():
            n = loops[name]
            values[name].append(_time_s(batch(n)) / n * 1e6)
    return values


def _namespace(kaizen: Any) -> dict[str, Any]:
    return {
        "__doc__": "Answer the question from the context.",
        "__annotations__": {"question": str, "context": str, "answer": str, "confidence": float},
        "question": kaizen.InputField(desc="the question"),
        "context": kaizen.InputField(desc="background"),
        "answer": kaizen.OutputField(desc="short answer"),
        "confidence": kaizen.OutputField(desc="0..1"),
    }


def type_floor() -> type:
    """The floor: the same namespace shape with four plain attributes, no base class."""
    return type(
        f"Plain{next(_ids)}",
        (),
        {
            "__doc__": "Answer the question from the context.",
            "__annotations__": {
                "question": str,
                "context": str,
                "answer": str,
                "confidence": float,
            },
            "question": "the question",
            "context": "background",
            "answer": "short answer",
            "confidence": "0..1",
        },
    )


class _PlainBase:
    """A base class that does nothing at subclass creation (for the subclass floor)."""


FRAMEWORK_CONFIG = {"memory_enabled": False}
"""`Kaizen(config=...)` on both sides: a key both frameworks know."""


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

    def framework(self) -> Any:
        return self.k.Kaizen(config=dict(FRAMEWORK_CONFIG))

    def create_agent(self, fw: Any) -> Any:
        return fw.create_agent(f"a{next(_ids)}", dict(self.cfg), signature=self.QA)

    def signature_class(self) -> Any:
        return type(f"QA{next(_ids)}", (self.k.Signature,), _namespace(self.k))

    def same_body(self) -> Any:
        return type(f"QA{next(_ids)}", (), _namespace(self.k))

    def same_body_subclass(self) -> Any:
        return type(f"QA{next(_ids)}", (_PlainBase,), _namespace(self.k))

    def make_ready(self, cls: Any) -> Any:
        return self.k.compile_signature(cls)

    def signature_class_and_ready(self) -> Any:
        return self.make_ready(self.signature_class())

    def workflow_3node(self) -> Any:
        wf = self.k.WorkflowBuilder()
        for n in "abc":
            wf.add_node("PythonCodeNode", n, {"code": "result = x + 1"})
        wf.add_connection("a", "result", "b", "x")
        wf.add_connection("b", "result", "c", "x")
        results, _ = self.k.LocalRuntime().execute(wf.build(), parameters={"a": {"x": 1}})
        assert results["c"]["result"] == 4, results
        return results


class Peer:
    def __init__(self) -> None:
        from kailash.runtime.local import LocalRuntime
        from kailash.workflow.builder import WorkflowBuilder

        import kaizen

        self.k = kaizen
        self.QA = type("QA", (kaizen.Signature,), _namespace(kaizen))
        self.WorkflowBuilder, self.LocalRuntime = WorkflowBuilder, LocalRuntime
        self.cfg = {"model": "mock-model", "provider": "mock"}  # its documented test provider

    def framework_init(self) -> Any:
        return self.k.Kaizen()

    def framework(self) -> Any:
        return self.k.Kaizen(config=dict(FRAMEWORK_CONFIG))

    def create_agent(self, fw: Any) -> Any:
        # it updates the config dict it is given, so both sides get a fresh copy
        return fw.create_agent(f"a{next(_ids)}", dict(self.cfg), signature=self.QA)

    def signature_class(self) -> Any:
        return type(f"QA{next(_ids)}", (self.k.Signature,), _namespace(self.k))

    def same_body(self) -> Any:
        return type(f"QA{next(_ids)}", (), _namespace(self.k))

    def same_body_subclass(self) -> Any:
        return type(f"QA{next(_ids)}", (_PlainBase,), _namespace(self.k))

    def make_ready(self, cls: Any) -> Any:
        return cls()

    def signature_class_and_ready(self) -> Any:
        return self.make_ready(self.signature_class())

    def workflow_3node(self) -> Any:
        wf = self.WorkflowBuilder()
        for n in "abc":
            wf.add_node("PythonCodeNode", n, {"code": "result = x + 1"})
        wf.add_connection("a", "result", "b", "x")
        wf.add_connection("b", "result", "c", "x")
        results, _ = self.LocalRuntime().execute(wf.build(), parameters={"a": {"x": 1}})
        assert results["c"]["result"] == 4, results
        return results


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


def _agent_batch(impl: Any) -> Batch:
    def batch(n: int) -> Callable[[], Any]:
        fw = impl.framework()  # a fresh framework per sample, made outside the timing

        def run() -> None:
            for _ in range(n):
                impl.create_agent(fw)

        return run

    return batch


def main() -> None:
    side, mode = sys.argv[1], sys.argv[2]
    repo = sys.argv[3] if len(sys.argv) > 3 else ""
    impl: Any = Peer() if side == "peer" else Ours(repo)
    if mode == "rss":
        fw = impl.framework()
        agents = [impl.create_agent(fw) for _ in range(100)]
        print(json.dumps({"rss_import_plus_100_agents_mb": _rss_mb(), "agents": len(agents)}))
        return
    impl.workflow_3node()  # fails loud here if a side does not compute the same result
    values = measure(
        {
            "type_floor": repeat(type_floor),
            "type_floor_same_body": repeat(impl.same_body),
            "type_floor_subclass_same_body": repeat(impl.same_body_subclass),
            "signature_class": repeat(impl.signature_class),
            "signature_ready": each(impl.signature_class, impl.make_ready),
            "signature_class_and_ready": repeat(impl.signature_class_and_ready),
            "agent_creation": _agent_batch(impl),
            "framework_init": repeat(impl.framework_init),
            "workflow_3node": repeat(impl.workflow_3node),
        }
    )
    out: dict[str, Any] = {name: statistics.median(v) for name, v in values.items()}
    floors = ("type_floor", "type_floor_same_body", "type_floor_subclass_same_body")
    for floor in floors:  # sample by sample: adjacent in time
        ratios = [c / f for c, f in zip(values["signature_class"], values[floor], strict=True)]
        out[f"signature_class_over_{floor}"] = statistics.median(ratios)
    out["kaizen_path"] = impl.k.__file__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
