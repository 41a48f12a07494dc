"""Memory, database, signature-compiler and audit mocks: real semantics, one call log."""

from __future__ import annotations

import sqlite3

import pytest

from kaizen.audit import AuditEntry
from kaizen.errors import SignatureParseError
from kaizen.memory import EmbeddingDimensionError, MemoryMatch
from tests.utils.mock_providers import (
    CallLog,
    MockAuditLogger,
    MockDatabaseProvider,
    MockMemoryProvider,
    MockSignatureCompiler,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- memory ---------------------------------------------------------------------------------


def test_memory_keeps_the_newest_max_turns() -> None:
    memory = MockMemoryProvider(max_turns=3)
    for i in range(5):
        memory.add_turn("s1", "user", f"m{i}")
    assert [t.content for t in memory.get_history("s1")] == ["m2", "m3", "m4"]
    assert [t.content for t in memory.get_history("s1", limit=2)] == ["m3", "m4"]


def test_memory_sessions_are_isolated_and_clearable() -> None:
    memory = MockMemoryProvider()
    memory.add_turn("a", "user", "for a")
    memory.add_turn("b", "user", "for b")
    assert [t.content for t in memory.get_history("a")] == ["for a"]
    memory.clear("a")
    assert memory.get_history("a") == []
    assert memory.sessions() == ["b"]


def test_memory_ttl_expires_idle_sessions() -> None:
    clock = FakeClock()
    memory = MockMemoryProvider(ttl=60, clock=clock)
    memory.add_turn("s", "user", "hello")
    clock.now += 59
    assert len(memory.get_history("s")) == 1
    clock.now += 2
    assert memory.get_history("s") == []
    assert memory.sessions() == []


def test_memory_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="max_turns"):
        MockMemoryProvider(max_turns=0)
    with pytest.raises(ValueError, match="session_id"):
        MockMemoryProvider().add_turn("", "user", "x")


def test_semantic_search_orders_by_cosine_similarity() -> None:
    memory = MockMemoryProvider()
    memory.store("cat", "a cat", [1.0, 0.0, 0.0])
    memory.store("dog", "a dog", [0.8, 0.6, 0.0])
    memory.store("car", "a car", [0.0, 0.0, 1.0])
    hits = memory.search([1.0, 0.1, 0.0], k=2)
    assert all(isinstance(h, MemoryMatch) for h in hits)  # kaizen's own type
    assert [h.id for h in hits] == ["cat", "dog"]
    assert hits[0].score > hits[1].score > 0.5


def test_semantic_store_checks_vectors() -> None:
    memory = MockMemoryProvider()
    memory.store("a", "a", [1.0, 2.0])
    with pytest.raises(EmbeddingDimensionError, match="has 3 dimensions, the store holds 2"):
        memory.store("b", "b", [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="non-zero"):
        memory.store("z", "z", [0.0, 0.0])
    with pytest.raises(EmbeddingDimensionError, match="has 1 dimensions"):
        memory.search([1.0])


def test_memory_calls_are_logged() -> None:
    memory = MockMemoryProvider()
    memory.add_turn("s", "user", "x")
    memory.get_history("s", limit=1)
    assert [c.method for c in memory.calls] == ["add_turn", "get_history"]
    assert memory.calls[1].kwargs == {"limit": 1}
    memory.assert_called("add_turn", times=1)


# --- database -------------------------------------------------------------------------------


@pytest.fixture
def db():
    database = MockDatabaseProvider()
    database.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    yield database
    database.close()


def test_database_round_trip(db: MockDatabaseProvider) -> None:
    assert db.execute("INSERT INTO users (name) VALUES (?)", ["ada"]) == 1
    db.execute("INSERT INTO users (name) VALUES (:n)", {"n": "bob"})
    assert db.fetch_all("SELECT name FROM users ORDER BY id") == [{"name": "ada"}, {"name": "bob"}]
    assert db.fetch_one("SELECT id FROM users WHERE name = ?", ["bob"]) == {"id": 2}
    assert db.fetch_one("SELECT id FROM users WHERE name = ?", ["eve"]) is None
    assert db.tables() == ["users"]


def test_database_injection_attempt_is_inert(db: MockDatabaseProvider) -> None:
    db.execute("INSERT INTO users (name) VALUES (?)", ["x'); DROP TABLE users; --"])
    assert db.tables() == ["users"]
    assert db.fetch_one("SELECT name FROM users")["name"] == "x'); DROP TABLE users; --"


def test_database_transaction_rolls_back_on_error(db: MockDatabaseProvider) -> None:
    with pytest.raises(RuntimeError, match="abort"), db.transaction():
        db.execute("INSERT INTO users (name) VALUES (?)", ["temp"])
        raise RuntimeError("abort")
    assert db.fetch_all("SELECT * FROM users") == []
    with db.transaction():
        db.execute("INSERT INTO users (name) VALUES (?)", ["kept"])
    assert len(db.fetch_all("SELECT * FROM users")) == 1
    assert [c.method for c in db.calls if c.method in ("begin", "commit", "rollback")] == [
        "begin",
        "rollback",
        "begin",
        "commit",
    ]


def test_database_nested_transaction_is_refused(db: MockDatabaseProvider) -> None:
    with pytest.raises(RuntimeError, match="nested"), db.transaction(), db.transaction():
        pass


def test_database_errors_are_real_and_logged(db: MockDatabaseProvider) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        db.fetch_all("SELECT * FROM missing")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO users (name) VALUES (?)", [None])
    assert all(not c.ok for c in db.calls[-2:])


def test_database_params_must_be_a_collection(db: MockDatabaseProvider) -> None:
    with pytest.raises(TypeError, match="sequence or mapping"):
        db.execute("SELECT ?", "abc")  # type: ignore[arg-type]


# --- signature compiler ---------------------------------------------------------------------


def test_signature_compiler_compiles_for_real_and_logs() -> None:
    compiler = MockSignatureCompiler()
    compiled = compiler("question -> answer")
    assert [f.name for f in compiled.outputs] == ["answer"]
    with pytest.raises(SignatureParseError):
        compiler.compile("question ->")
    assert [c.ok for c in compiler.calls] == [True, False]


def test_signature_compiler_scripted_failure() -> None:
    compiler = MockSignatureCompiler()
    compiler.fail_with(SignatureParseError("x", 0, "scripted"), times=1)
    with pytest.raises(SignatureParseError, match="scripted"):
        compiler.compile("q -> a")
    assert compiler.compile("q -> a").name
    compiler.assert_called("compile", times=2)


# --- audit ----------------------------------------------------------------------------------


def _trail() -> MockAuditLogger:
    audit = MockAuditLogger()
    for i in range(4):
        audit.log_event("agent_run", f"agent-{i}", {"n": i})
    return audit


def test_audit_chain_verifies_when_intact() -> None:
    audit = _trail()
    assert audit.verify() == []
    assert all(isinstance(e, AuditEntry) for e in audit.entries)  # kaizen's own type
    assert [e.seq for e in audit.entries] == [1, 2, 3, 4]
    assert audit.entries[1].prev_hash == audit.entries[0].hash


def test_audit_detects_a_modified_entry() -> None:
    from dataclasses import replace

    audit = _trail()
    audit._tamper(2, replace(audit.entries[2], payload={"n": 99}))
    (problem,) = audit.verify()
    assert problem.startswith("edited at seq 3:") and "no longer matches" in problem


def test_audit_detects_a_deleted_entry() -> None:
    audit = _trail()
    audit._tamper(1, None)
    problems = audit.verify()
    assert problems[0].startswith("deleted at seq 2: entries at seq 2..2 are missing")
    assert [p.kind for p in audit.report().problems] == ["deleted", "truncated"]


def test_audit_detects_reordering() -> None:
    audit = _trail()
    first, second = audit.entries[0], audit.entries[1]
    audit._tamper(0, second)
    audit._tamper(1, first)
    assert len(audit.verify()) >= 2
    assert "reordered" in {p.kind for p in audit.report().problems}


def test_audit_payload_is_copied() -> None:
    audit = MockAuditLogger()
    payload = {"items": [1]}
    audit.log_event("e", "a", payload)
    payload["items"].append(2)
    assert audit.verify() == []
    assert audit.entries[0].payload == {"items": [1]}


def test_audit_requires_event_and_actor() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        MockAuditLogger().log_event("", "actor")


def test_call_log_is_shared_shape() -> None:
    log = CallLog("x")
    log.record("m", (1,), {"k": 2}, result=3)
    (call,) = log.calls
    assert (call.target, call.method, call.args, call.kwargs, call.result) == (
        "x",
        "m",
        (1,),
        {"k": 2},
        3,
    )
    assert len(log) == 1


# --- thin layers over kaizen's backends -------------------------------------------------------


def test_memory_is_kaizens_in_memory_conversation_memory() -> None:
    from kaizen.memory import ConversationMemory, InMemoryConversationMemory, Turn

    memory = MockMemoryProvider(max_turns=2)
    assert isinstance(memory, InMemoryConversationMemory)
    assert isinstance(memory, ConversationMemory)
    turn = memory.add("s", "user", "hi", {"k": 1})
    assert isinstance(turn, Turn) and turn.metadata == {"k": 1}
    memory.add_turn("s", "assistant", "hello")
    memory.add_turn("s", "user", "again")
    assert [t.content for t in memory.get("s")] == ["hello", "again"]
    assert [c.method for c in memory.calls] == ["add", "add_turn", "add_turn", "get"]
    memory.clear("s")
    assert memory.sessions() == [] and memory.session_count() == 0


async def test_memory_async_twins_are_recorded() -> None:
    memory = MockMemoryProvider()
    await memory.aadd("s", "user", "x")
    assert [t.content for t in await memory.aget("s")] == ["x"]
    assert [c.method for c in memory.calls] == ["add", "get"]


def test_memory_limits_are_kaizens_configuration_errors() -> None:
    from kaizen.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="ttl_seconds"):
        MockMemoryProvider(ttl=0)
    with pytest.raises(ConfigurationError, match="session_id"):
        MockMemoryProvider().get_history("")


def test_memory_fail_with_injects_a_backend_error() -> None:
    from kaizen.memory import MemoryStoreError

    memory = MockMemoryProvider()
    memory.fail_with(MemoryStoreError("redis gone"), times=2, method="add_turn")
    for _ in range(2):
        with pytest.raises(MemoryStoreError, match="redis gone"):
            memory.add_turn("s", "user", "lost")
    memory.get_history("s")  # other methods are untouched
    memory.add_turn("s", "user", "kept")
    assert [t.content for t in memory.get_history("s")] == ["kept"]
    assert [c.ok for c in memory.calls] == [False, False, True, True, True]


def test_fail_with_forever_and_clear() -> None:
    compiler = MockSignatureCompiler()
    compiler.fail_with(RuntimeError("down"), times=None)
    for _ in range(3):
        with pytest.raises(RuntimeError, match="down"):
            compiler("q -> a")
    compiler.clear_failures()
    assert compiler("q -> a").name


@pytest.mark.parametrize(("error", "times"), [("not an exception", 1), (RuntimeError(), 0)])
def test_fail_with_checks_its_arguments(error: object, times: int) -> None:
    with pytest.raises((TypeError, ValueError)):
        MockSignatureCompiler().fail_with(error, times=times)  # type: ignore[arg-type]


def test_database_fail_with_a_locked_database(db: MockDatabaseProvider) -> None:
    db.fail_with(sqlite3.OperationalError("database is locked"), method="execute")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        db.execute("INSERT INTO users (name) VALUES (?)", ["a"])
    assert db.fetch_all("SELECT * FROM users") == []  # never reached SQLite
    assert db.execute("INSERT INTO users (name) VALUES (?)", ["a"]) == 1


def test_audit_logger_is_kaizens_trail_and_attaches_to_a_framework() -> None:
    from kaizen import Kaizen
    from kaizen.audit import CONFIG_CHANGE, AuditTrail, InMemoryAuditStore

    audit = MockAuditLogger(key=b"k" * 32)
    assert isinstance(audit.trail, AuditTrail) and isinstance(audit.store, InMemoryAuditStore)
    Kaizen({"audit_enabled": True}).attach_audit(audit.trail)
    audit.log_event("deploy", "ops")
    assert [e.event_type for e in audit.entries] == [CONFIG_CHANGE, "deploy"]
    assert audit.verify() == [] and audit.report(min_entries=2).ok
    assert audit.report(min_entries=3).problems[0].kind == "truncated"


def test_audit_payload_secrets_are_redacted_like_production() -> None:
    audit = MockAuditLogger()
    entry = audit.log_event("config_change", "ops", {"password": "hunter2", "n": 1})
    assert entry.payload == {"password": "***redacted***", "n": 1}
    assert entry.action == "config_change" and entry.outcome == "ok"
