"""Every conversation-memory backend honours the same interface and limits, against the
real Redis and PostgreSQL; semantic memory on real embeddings from the Ollama API."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from kaizen.memory import (
    ConversationMemory,
    EmbeddingDimensionError,
    InMemoryConversationMemory,
    OllamaEmbedder,
    PostgresConversationMemory,
    PostgresVectorStore,
    RedisConversationMemory,
    SemanticMemory,
    SharedMemoryPool,
)
from tests.integration.dataflow.real_endpoints import unique_name

Factory = Callable[..., ConversationMemory]


@pytest.fixture(params=["in_process", "redis", "postgresql"])
def make_memory(request: pytest.FixtureRequest) -> Iterator[Factory]:
    created: list[ConversationMemory] = []
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = unique_name("mem") + ":"

        def factory(**kw: object) -> ConversationMemory:
            mem = RedisConversationMemory(url, prefix=prefix, **kw)  # type: ignore[arg-type]
            created.append(mem)
            return mem
    elif request.param == "postgresql":
        dsn = request.getfixturevalue("pg_dsn")
        table = unique_name("mem")

        def factory(**kw: object) -> ConversationMemory:
            mem = PostgresConversationMemory(dsn, table=table, **kw)  # type: ignore[arg-type]
            created.append(mem)
            return mem
    else:

        def factory(**kw: object) -> ConversationMemory:
            return InMemoryConversationMemory(**kw)  # type: ignore[arg-type]

    yield factory
    for mem in created:
        if isinstance(mem, PostgresConversationMemory):
            mem.drop()
        elif isinstance(mem, RedisConversationMemory):
            for key in mem._db.client.scan_iter(match=mem.prefix + "*"):
                mem._db.client.delete(key)
        mem.close()


def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        threading.Event().wait(0.05)  # poll interval, bounded by the deadline
    return predicate()


def test_order_limit_and_metadata(make_memory: Factory) -> None:
    mem = make_memory(max_turns=3)
    for i in range(5):
        mem.add("s1", "user" if i % 2 == 0 else "assistant", f"m{i}", {"i": i})
    turns = mem.get("s1")
    assert [t.content for t in turns] == ["m2", "m3", "m4"]
    assert [t.metadata["i"] for t in turns] == [2, 3, 4]
    assert [t.content for t in mem.get("s1", last_n=1)] == ["m4"]
    assert turns[0].timestamp <= turns[-1].timestamp


def test_sessions_isolated_and_cleared(make_memory: Factory) -> None:
    mem = make_memory()
    mem.add("a", "user", "x")
    mem.add("b", "user", "y")
    mem.clear("a")
    assert mem.get("a") == [] and [t.content for t in mem.get("b")] == ["y"]


def test_ttl_expires_the_session(make_memory: Factory) -> None:
    mem = make_memory(ttl_seconds=0.4)
    mem.add("s", "user", "short-lived")
    assert len(mem.get("s")) == 1
    assert _wait_until(lambda: mem.get("s") == [], timeout=10)


async def test_concurrent_writers_respect_the_limit(make_memory: Factory) -> None:
    mem = make_memory(max_turns=10)
    await asyncio.gather(*(mem.aadd("s", f"agent{i}", f"m{i}") for i in range(40)))
    turns = await mem.aget("s")
    assert len(turns) == 10 and len({t.content for t in turns}) == 10


def test_shared_pool_on_backend(make_memory: Factory) -> None:
    pool = SharedMemoryPool(make_memory(max_turns=20), "team-x")
    pool.write("researcher", "fact 1")
    pool.write("writer", "draft 1")
    assert [(t.role, t.content) for t in pool.read()] == [
        ("researcher", "fact 1"),
        ("writer", "draft 1"),
    ]
    assert [t.content for t in pool.read("writer")] == ["draft 1"]


@pytest.mark.requires_services("postgresql")
def test_postgres_vector_store_cosine_in_sql(pg_dsn: str) -> None:
    store = PostgresVectorStore(pg_dsn, table=unique_name("vec"))
    try:
        store.add("x", "east", [1.0, 0.0, 0.0], {"d": "e"})
        store.add("y", "north", [0.0, 1.0, 0.0], {})
        store.add("z", "north-east", [1.0, 1.0, 0.0], {})
        top = store.search([1.0, 0.1, 0.0], k=2)
        assert [m.id for m in top] == ["x", "z"]
        assert top[0].score == pytest.approx(1 / (1.01**0.5), rel=1e-9)
        assert top[0].metadata == {"d": "e"}
        with pytest.raises(EmbeddingDimensionError):
            store.add("w", "bad", [1.0, 0.0], {})
        assert store.count() == 3
    finally:
        store.drop()


@pytest.mark.requires_services("postgresql", "ollama")
def test_semantic_memory_on_real_embeddings(pg_dsn: str, ollama_endpoint: dict) -> None:
    embedder = OllamaEmbedder(
        ollama_endpoint["embed_model"], base_url=ollama_endpoint["base_url"], timeout=120
    )
    store = PostgresVectorStore(pg_dsn, table=unique_name("sem"))
    try:
        mem = SemanticMemory(embedder, store)
        mem.remember_many(
            [
                "The invoice total is 420 euros and is due in March.",
                "Cats sleep for most of the day.",
                "Payment for the invoice must arrive before the due date.",
            ]
        )
        top = mem.search("When do I need to pay the bill?", k=3)
        assert len(top) == 3 and top[0].score >= top[1].score >= top[2].score
        assert "Cats" in top[-1].text  # the unrelated sentence ranks last
        assert all(-1.0 <= m.score <= 1.0 for m in top)
    finally:
        store.drop()
