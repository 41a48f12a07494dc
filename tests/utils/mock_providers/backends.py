"""Recording, fault-injecting layers over kaizen's own in-memory backends.

Each keeps the seed's name and methods, but the work is done by the real thing, so a test
that passes here passes for the reason it would in production, and the data types are
kaizen's (`Turn`, `MemoryMatch`, `AuditEntry`, `CompiledSignature`):

- `MockMemoryProvider` is an `InMemoryConversationMemory` (plus an `InMemoryVectorStore`);
- `MockAuditLogger` drives an `AuditTrail(InMemoryAuditStore())`;
- `MockSignatureCompiler` calls `compile_signature`;
- `MockDatabaseProvider` is an in-memory SQLite database (kaizen has no in-process SQL
  backend; SQLite's semantics are real).

Every call is in `.calls`; `fail_with(error, times, method=)` makes the next calls raise.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from kaizen.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditTrail,
    InMemoryAuditStore,
    VerificationReport,
)
from kaizen.memory import InMemoryConversationMemory, InMemoryVectorStore, MemoryMatch, Turn

from ._calls import Layer

if TYPE_CHECKING:
    from kaizen.signatures import CompiledSignature, Signature

T = TypeVar("T")

# --- memory -------------------------------------------------------------------------------


class MockMemoryProvider(Layer, InMemoryConversationMemory):
    """Kaizen's in-process conversation memory, recorded: `max_turns` keeps the newest
    turns, `ttl` expires a session that many seconds after its last write (`clock`
    injectable). Usable wherever kaizen takes a `ConversationMemory`.

    The seed's methods stay (`add_turn`, `get_history`, `sessions`, `store`, `search`)
    beside kaizen's (`add`, `get`, `clear`); `store`/`search` use an `InMemoryVectorStore`.
    """

    def __init__(
        self,
        *,
        max_turns: int = 50,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        InMemoryConversationMemory.__init__(self, max_turns=max_turns, ttl_seconds=ttl, clock=clock)
        self._init_layer("memory")
        self.vectors = InMemoryVectorStore()
        """The real vector store behind `store`/`search`."""
        self._known: dict[str, None] = {}  # sessions written, in order (for `sessions()`)
        self._known_lock = threading.Lock()

    @property
    def ttl(self) -> float | None:
        return self.ttl_seconds

    # -- kaizen's ConversationMemory interface, recorded --------------------------------------

    def add(
        self, session_id: str, role: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> Turn:
        return self._call(
            "add",
            (session_id, role, content),
            {"metadata": metadata},
            lambda: self._add(session_id, role, content, metadata),
        )

    def get(self, session_id: str, last_n: int | None = None) -> list[Turn]:
        return self._call(
            "get",
            (session_id,),
            {"last_n": last_n},
            lambda: InMemoryConversationMemory.get(self, session_id, last_n),
        )

    def clear(self, session_id: str) -> None:
        self._call("clear", (session_id,), None, lambda: self._clear(session_id))

    # -- the seed's interface -------------------------------------------------------------------

    def add_turn(self, session_id: str, role: str, content: str) -> Turn:
        return self._call(
            "add_turn",
            (session_id, role, content),
            None,
            lambda: self._add(session_id, role, content, None),
        )

    def get_history(self, session_id: str, limit: int | None = None) -> list[Turn]:
        """The session's turns, oldest first; `limit` keeps the newest `limit`."""
        return self._call(
            "get_history",
            (session_id,),
            {"limit": limit},
            lambda: InMemoryConversationMemory.get(self, session_id, limit or None),
        )

    def sessions(self) -> list[str]:
        """Sessions that hold turns now (expired ones are dropped), in first-write order."""
        with self._known_lock:
            known = list(self._known)
        return [s for s in known if InMemoryConversationMemory.get(self, s, 1)]

    def store(
        self,
        key: str,
        text: str,
        embedding: Sequence[float],
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        vector = [float(x) for x in embedding]

        def add() -> None:
            if not vector or not any(vector):  # cosine is undefined for it
                raise ValueError(f"embedding for {key!r} must be a non-zero vector")
            self.vectors.add(key, text, vector, dict(metadata or {}))

        self._call("store", (key, text), {"dims": len(vector)}, add)

    def search(self, embedding: Sequence[float], k: int = 3) -> list[MemoryMatch]:
        """Stored items by cosine similarity to `embedding`, best first."""
        query = [float(x) for x in embedding]
        return self._call("search", (), {"k": k}, lambda: self.vectors.search(query, k))

    # -- helpers --------------------------------------------------------------------------------

    def _add(
        self, session_id: str, role: str, content: str, metadata: Mapping[str, Any] | None
    ) -> Turn:
        turn = InMemoryConversationMemory.add(self, session_id, role, content, metadata)
        with self._known_lock:
            self._known[session_id] = None
        return turn

    def _clear(self, session_id: str) -> None:
        InMemoryConversationMemory.clear(self, session_id)
        with self._known_lock:
            self._known.pop(session_id, None)


# --- database -----------------------------------------------------------------------------


class MockDatabaseProvider(Layer):
    """An in-memory SQLite database: real SQL semantics, parameterised queries only.

    `params` are passed to sqlite3, never formatted into the SQL, so an injection attempt
    stays inert here exactly as with the real data nodes.
    """

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._in_tx = False
        self._init_layer("database")

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement; returns the affected row count."""
        return int(self._run("execute", sql, params, lambda cur: cur.rowcount))

    def fetch_all(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[dict[str, Any]]:
        return self._run("fetch_all", sql, params, lambda cur: [dict(r) for r in cur.fetchall()])

    def fetch_one(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> dict[str, Any] | None:
        def one(cur: sqlite3.Cursor) -> dict[str, Any] | None:
            row = cur.fetchone()
            return dict(row) if row is not None else None

        return self._run("fetch_one", sql, params, one)

    def _run(self, method: str, sql: str, params: object, read: Callable[[sqlite3.Cursor], T]) -> T:
        if not isinstance(params, Sequence | Mapping) or isinstance(params, str):
            raise TypeError(f"params must be a sequence or mapping, got {type(params).__name__}")

        def run() -> T:
            with self._lock:
                return read(self._conn.execute(sql, params))

        return self._call(method, (sql, params), None, run)

    @contextmanager
    def transaction(self) -> Iterator[MockDatabaseProvider]:
        """BEGIN ... COMMIT, or ROLLBACK when the block raises."""
        with self._lock:
            if self._in_tx:
                raise RuntimeError("nested transactions are not supported")
            self._call("begin", (), None, lambda: self._conn.execute("BEGIN"))
            self._in_tx = True
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                self.log.record("rollback")
                raise
            else:
                self._call("commit", (), None, lambda: self._conn.execute("COMMIT"))
            finally:
                self._in_tx = False

    def tables(self) -> list[str]:
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        return [r[0] for r in rows]

    def close(self) -> None:
        self._conn.close()
        self.log.record("close")


# --- signature compiler -------------------------------------------------------------------


class MockSignatureCompiler(Layer):
    """The real `compile_signature` (real semantics), recorded; `fail_with` makes the next
    compilations raise a chosen error (e.g. a SignatureParseError)."""

    def __init__(self) -> None:
        self._init_layer("signature_compiler")

    def compile(self, signature: type[Signature] | str | CompiledSignature) -> CompiledSignature:
        from kaizen.signatures import compile_signature

        return self._call("compile", (signature,), None, lambda: compile_signature(signature))

    __call__ = compile


# --- audit logger -------------------------------------------------------------------------


class MockAuditLogger(Layer):
    """Kaizen's hash-chained `AuditTrail` over an `InMemoryAuditStore`, recorded: an
    edited, deleted or reordered entry is detected and named by the real `verify()`.
    `trail` can be attached to a framework (`Kaizen.attach_audit`)."""

    GENESIS = GENESIS_HASH

    def __init__(self, *, key: bytes | None = None) -> None:
        self.store = InMemoryAuditStore()
        """The real store (its `_tamper_*` hooks are what `_tamper` uses)."""
        self.trail = AuditTrail(self.store, key=key)
        """The real trail every call goes to."""
        self._init_layer("audit")

    def log_event(
        self,
        event: str,
        actor: str,
        payload: Mapping[str, Any] | None = None,
        *,
        action: str | None = None,
        outcome: str = "ok",
    ) -> AuditEntry:
        """Append an entry (`action` defaults to `event`); the payload is redacted and
        copied by the trail, as in production."""
        return self._call(
            "log_event",
            (event, actor),
            {"payload": payload},
            lambda: self.trail.record(
                event, actor=actor, action=action or event, outcome=outcome, payload=payload
            ),
        )

    @property
    def entries(self) -> list[AuditEntry]:
        return self.trail.entries()

    def report(self, **expectations: Any) -> VerificationReport:
        """The trail's own `verify()` report (`min_entries=`, `expected_head=` pass on)."""
        return self._call("report", (), expectations, lambda: self.trail.verify(**expectations))

    def verify(self) -> list[str]:
        """Problems found, one line each (empty list: the chain is intact)."""
        return self._call(
            "verify", (), None, lambda: [str(p) for p in self.trail.verify().problems]
        )

    def _tamper(self, index: int, entry: AuditEntry | None) -> None:
        """Test hook: put `entry`'s content at the `index`-th stored position (keeping that
        position's seq), or delete the entry there (None), behind the chain's back."""
        at = self.trail.entries()[index].seq
        if entry is None:
            self.store._tamper_delete(at)
        else:
            changes = {f.name: getattr(entry, f.name) for f in fields(entry) if f.name != "seq"}
            self.store._tamper_replace(at, **changes)
