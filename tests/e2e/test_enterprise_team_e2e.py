"""End to end on the real stack, no mocks: a supervisor-worker team on the real LLM reads
its tasks from MySQL, keeps team memory in Redis, writes its audit trail to PostgreSQL and
its results to MongoDB; then the trail is verified and a compliance report produced.
Plus load (10 real-LLM agents at once) and faults (database connection killed mid-run,
LLM server killed mid-stream)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import tracemalloc
from collections.abc import Iterator

import psycopg2
import pytest

import kaizen.dataflow  # noqa: F401  (registers the database nodes)
from kaizen import Kaizen, LocalRuntime, WorkflowBuilder
from kaizen.audit import (
    AGENT_RUN,
    COORDINATION,
    AuditTrail,
    AuditWriteError,
    PostgresAuditStore,
    generate_compliance_report,
)
from kaizen.coordination import CoordinationError
from kaizen.dataflow import MongoDatabase, MySQLDatabase
from kaizen.errors import ProviderError
from kaizen.memory import RedisConversationMemory
from tests.integration.dataflow.real_endpoints import unique_name

pytestmark = [
    pytest.mark.requires_services("postgresql", "redis", "mysql", "mongodb", "ollama"),
    pytest.mark.timeout(900),
]


@pytest.fixture
def audit_store(pg_dsn: str) -> Iterator[PostgresAuditStore]:
    store = PostgresAuditStore(pg_dsn, table=unique_name("e2e"))
    yield store
    store.drop()


def test_supervisor_team_across_the_whole_stack(
    llm_agent,
    audit_store,
    mysql_dsn,
    mysql_table,
    redis_url,
    redis_prefix,
    mongo_url,
    mongo_db_name,
    mongo_collection,
) -> None:
    questions = ["Name a colour.", "Name an animal.", "Name a city."]
    with MySQLDatabase(mysql_dsn) as db:
        db.execute(f"CREATE TABLE `{mysql_table}` (id INT PRIMARY KEY, question TEXT)")
        db.transaction(
            [
                (f"INSERT INTO `{mysql_table}` VALUES (%s, %s)", [i, q])
                for i, q in enumerate(questions)
            ]
        )
    k = Kaizen({"audit_enabled": True, "audit_retention_days": 400})
    trail = k.attach_audit(AuditTrail(audit_store))
    workers = [llm_agent(k, f"worker{i}", "task -> answer") for i in range(2)]
    llm_agent(k, "supervisor", "results -> summary")
    memory = RedisConversationMemory(redis_url, prefix=redis_prefix, max_turns=50, ttl_seconds=600)
    team = k.create_agent_team(
        "e2e",
        [w.agent_id for w in workers],
        pattern="supervisor_worker",
        supervisor="supervisor",
        memory=memory,
    )

    wf = WorkflowBuilder(name="e2e")
    wf.add_node(
        "MySQLQueryNode",
        "read",
        {"connection": mysql_dsn, "query": f"SELECT id, question FROM `{mysql_table}` ORDER BY id"},
    )
    wf.add_node(
        "PythonCodeNode",
        "to_tasks",
        {"function": lambda rows: [{"task": r["question"]} for r in rows]},
    )
    wf.add_node("CoordinationNode", "team", {"pattern": team})
    wf.add_node(
        "PythonCodeNode",
        "to_docs",
        {
            "function": lambda result: [
                {
                    "task_id": f"task-{i}",
                    "answer": r["answer"],
                    "worker": result.assignments[f"task-{i}"],
                    "run_id": result.run_id,
                }
                for i, r in enumerate(result.task_results)
            ]
        },
    )
    wf.add_node(
        "MongoDBNode",
        "write",
        {
            "connection": mongo_url,
            "database": mongo_db_name,
            "collection": mongo_collection,
            "operation": "insert_many",
        },
    )
    wf.add_connection("read", "rows", "to_tasks", "rows")
    wf.add_connection("to_tasks", "result", "team", "tasks")
    wf.add_connection("team", "result", "to_docs", "result")
    wf.add_connection("to_docs", "result", "write", "documents")
    try:
        results, _ = LocalRuntime().execute(wf.build())
    finally:
        memory_turns = memory.get("team:e2e")
        memory.close()

    team_result = results["team"]["result"]
    assert team_result.success and len(results["write"]["result"]["inserted_ids"]) == 3
    with MongoDatabase(mongo_url, mongo_db_name) as mongo:
        docs = mongo.run("find", mongo_collection, sort=[("task_id", 1)])
    assert [d["task_id"] for d in docs] == ["task-0", "task-1", "task-2"]
    assert all(isinstance(d["answer"], str) and d["worker"] in ("worker0", "worker1") for d in docs)
    # memory in Redis: one turn per successful call (3 tasks + the supervisor)
    assert len(memory_turns) == len([s for s in team_result.steps if s.status == "ok"]) == 4
    # the trail: every call once, verifiable, and a compliance report from evidence
    runs = trail.entries(AGENT_RUN)
    assert sorted(e.payload["run_id"] for e in runs) == sorted(
        s.run_id for s in team_result.steps if s.run_id
    )
    assert [e.outcome for e in trail.entries(COORDINATION)] == ["ok"]
    assert trail.verify().ok
    report = generate_compliance_report(trail, k.config)
    assert report.compliant, report.to_text()
    assert report.control("append_only_storage").evidence["database_refuses_edits"] is True


def test_ten_real_llm_agents_concurrently_nothing_lost(llm_agent, audit_store) -> None:
    tracemalloc.start()
    try:
        k = Kaizen({"audit_enabled": True})
        trail = k.attach_audit(AuditTrail(audit_store))
        agents = [
            llm_agent(k, f"a{i}", "question -> answer", max_tokens=24, seed=i) for i in range(10)
        ]
        result = k.parallel(agents).run(question="Say one word.")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.success and len(result.results) == 10
    runs = trail.entries(AGENT_RUN)
    assert len(runs) == 10 and len({e.payload["run_id"] for e in runs}) == 10
    assert sorted(e.actor for e in runs) == sorted(a.agent_id for a in agents)
    assert trail.verify().ok
    assert peak < 200 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MB"


def test_audit_database_connection_killed_mid_run(llm_agent, audit_store, pg_dsn) -> None:
    """The audit database drops our connection while the team runs: the run fails with a
    typed error, the trail still verifies, and no half-written entry exists."""
    k = Kaizen({"audit_enabled": True})
    trail = k.attach_audit(AuditTrail(audit_store))
    before = len(trail.entries())
    agents = [llm_agent(k, f"w{i}", "question -> answer", max_tokens=24) for i in range(2)]
    pid = audit_store._query("SELECT pg_backend_pid()")[0][0]
    killer = psycopg2.connect(pg_dsn, connect_timeout=10)
    try:
        with killer, killer.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    with pytest.raises(CoordinationError) as info:
        k.parallel(agents).run(question="Say one word.")
    assert isinstance(info.value.__cause__, AuditWriteError) or "AuditWriteError" in str(info.value)
    entries = trail.entries()  # reconnects
    assert trail.verify().ok
    assert all(e.hash and e.prev_hash for e in entries) and len(entries) >= before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_llm_server_killed_mid_stream(ollama_endpoint, audit_store) -> None:
    """Our own LLM server process (started here, stopped by PID) is killed while an agent
    streams from it: the stream fails with a ProviderError and the trail stays valid."""
    from tests.utils.ollama_server import READY_PREFIX, REPO_ROOT, server_command

    port = _free_port()
    proc = subprocess.Popen(
        server_command("127.0.0.1", port, embeddings=False),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        ready = threading.Event()

        def watch() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith(READY_PREFIX):
                    ready.set()

        threading.Thread(target=watch, daemon=True).start()
        assert ready.wait(180), "local LLM server did not become ready"
        k = Kaizen({"audit_enabled": True})
        trail = k.attach_audit(AuditTrail(audit_store))
        agent = k.create_agent(
            "streamer",
            {
                "model": ollama_endpoint["model"],
                "base_url": f"http://127.0.0.1:{port}",
                "max_tokens": 400,
                "timeout": 120,
                "max_retries": 0,
            },
            signature="topic -> essay",
        )
        chunks: list[str] = []
        with pytest.raises(ProviderError):
            for chunk in agent.stream(topic="the history of rivers"):
                chunks.append(chunk)
                if len(chunks) == 2:
                    os.kill(proc.pid, signal.SIGKILL)
        assert len(chunks) >= 2
        trail.record_agent_run(
            "streamer",
            run_id="stream-1",
            outcome="failed",
            duration_ms=0.0,
            error="LLM server killed mid-stream",
        )
        assert trail.verify().ok
        assert trail.entries(AGENT_RUN)[-1].outcome == "failed"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
