"""`make demo`: Kaizen end to end, on real services started as local processes.

Steps: compile a signature, run a multi-node workflow, bring up PostgreSQL, Redis and the
Ollama-API LLM server, run a signature-based agent and a small multi-agent flow on the real
model, store and read the results in PostgreSQL and Redis, then stop what it started.
Each step prints what happened and how long it took.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kaizen
from kaizen import Kaizen, LocalRuntime, Signature, WorkflowBuilder
from kaizen.signatures import InputField, OutputField, compile_signature


class Triage(Signature):
    """Classify a support ticket and summarise it in a few words."""

    ticket: str = InputField(desc="the customer's message")
    category: str = OutputField(desc="one word: billing, bug or other", max_length=20)
    summary: str = OutputField(desc="a short summary of the ticket", max_length=80)


@contextmanager
def step(title: str) -> Iterator[dict[str, Any]]:
    print(f"\n== {title}")
    info: dict[str, Any] = {}
    started = time.perf_counter()
    yield info
    elapsed = (time.perf_counter() - started) * 1000
    print(f"   ({elapsed:.1f} ms)")


def show(label: str, value: Any) -> None:
    print(f"   {label:<18} {value}")


def core_steps() -> None:
    with step("1. Compile a signature (class form and string form)"):
        compiled = compile_signature(Triage)
        show("inputs", [f.name for f in compiled.inputs])
        show("outputs", [f.name for f in compiled.outputs])
        show("output schema", sorted(compiled.output_schema["properties"]))
        text = compile_signature("question, context -> answer, confidence: float")
        show("string form", f"{text.name}: {[f.name for f in text.outputs]}")

    with step("2. Build and execute a 3-node workflow"):
        wf = WorkflowBuilder()
        wf.add_node("PythonCodeNode", "load", {"function": lambda n: list(range(n))})
        wf.add_node("PythonCodeNode", "square", {"function": lambda xs: [x * x for x in xs]})
        wf.add_node("PythonCodeNode", "total", {"function": sum_of})
        wf.add_connection("load", "result", "square", "xs")
        wf.add_connection("square", "result", "total", "values")
        results, run_id = LocalRuntime().execute(wf.build(), parameters={"load": {"n": 10}})
        show("run id", run_id)
        show("results", {node: out["result"] for node, out in results.items()})


def sum_of(values: list[int]) -> int:
    return sum(values)


def stack_steps() -> int:
    from kaizen.coordination import Consensus
    from kaizen.dataflow import PostgresDatabase, PostgresQueryNode, RedisDatabase
    from tests.utils._services.stack import ServiceUnavailableError, default_stack
    from tests.utils.docker_config import (
        NAME_PREFIX,
        get_ollama_base_url,
        get_ollama_model,
        get_postgres_connection_string,
        get_redis_url,
    )

    stack = default_stack()
    try:
        with step("3. Bring up PostgreSQL, Redis and the LLM server (reused if running)"):
            try:
                statuses = stack.ensure(["postgresql", "redis", "ollama"])
            except ServiceUnavailableError as exc:
                print(f"   cannot bring the stack up: {exc}")
                return 1
            for name, status in statuses.items():
                took = f"{status.start_ms:.0f} ms" if status.start_ms is not None else "reused"
                show(name, f"{status.backend} {status.endpoint} {status.version} ({took})")

        kz = Kaizen()
        base = {
            "model": get_ollama_model(),
            "base_url": get_ollama_base_url(),
            "temperature": 0.0,
            "seed": 7,
            "max_tokens": 96,
            "timeout": 180,
        }
        ticket = "I was charged twice for my subscription this month, please refund one."

        with step("4. A signature-based agent on the real model"):
            agent = kz.create_agent("triage", base, signature=Triage)
            result = agent.run(ticket=ticket)
            show("outputs", dict(result.outputs))
            show("tokens", f"{result.usage.prompt_tokens} in, {result.usage.completion_tokens} out")
            show("attempts", result.attempts)
            show("agent run", f"{result.duration_ms:.0f} ms")

        with step("5. Three agents vote concurrently; the decision is counted, not generated"):
            vote_signature = "ticket -> vote: Literal['billing', 'bug', 'other']"
            voters = [
                kz.create_agent(
                    f"voter-{i}",
                    {**base, "seed": 100 + i, "max_tokens": 24},
                    signature=vote_signature,
                )
                for i in range(3)
            ]
            decision = Consensus(voters, threshold=0.5).run(ticket=ticket)
            show("votes", dict(decision.votes))
            show("tally", dict(decision.tally))
            show("decision", f"{decision.decision!r} (reached={decision.reached})")

        table = f"{NAME_PREFIX}demo_tickets"
        with step(f"6. Store and read the result in PostgreSQL ({table}) through a workflow"):
            dsn = get_postgres_connection_string()
            wf = WorkflowBuilder()
            wf.add_node(
                PostgresQueryNode.node_type,
                "store",
                {
                    "connection": dsn,
                    "statements": [
                        f"CREATE TABLE IF NOT EXISTS {table} (id serial PRIMARY KEY, "
                        "category text, summary text)",
                        f"INSERT INTO {table} (category, summary) VALUES (%s, %s) RETURNING id",
                    ],
                },
            )
            LocalRuntime().execute(
                wf.build(),
                parameters={
                    "store": {
                        "params": [
                            None,
                            [str(result.outputs["category"]), str(result.outputs["summary"])],
                        ]
                    }
                },
            )
            with PostgresDatabase(dsn) as db:
                rows = db.execute(f"SELECT id, category, summary FROM {table}").rows
                show("rows read back", list(rows))
                db.execute(f"DROP TABLE {table}")

        key = f"{NAME_PREFIX}demo:decision"
        with step(f"7. Cache the team decision in Redis ({key})"):
            redis_db = RedisDatabase(get_redis_url())
            try:
                redis_db.command("SET", key, str(decision.decision), "EX", 60)
                show("read back", redis_db.command("GET", key))
                show("deleted", redis_db.command("DEL", key))
            finally:
                redis_db.close()
    finally:
        with step("8. Stop what this demo started"):
            stopped = stack.release()
            show("stopped", stopped or "nothing (the stack was already running; left as is)")
    return 0


def main(argv: list[str] | None = None) -> int:
    print(f"Kaizen {kaizen.__version__} demo")
    core_steps()
    return stack_steps()


if __name__ == "__main__":
    raise SystemExit(main())
