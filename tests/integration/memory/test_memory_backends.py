"""Every conversation-memory backend honours the same interface and limits, against the
real Redis and PostgreSQL; semantic memory on real embeddings from the Ollama API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

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
from tests.utils.integration_helpers import wait_for_condition
from tests.utils.pytest_services import ServiceDatabase

Factory = Callable[..., ConversationMemory]


@pytest.fixture(params=["in_process", "redis", "postgresql"])
def make_memory(request: pytest.FixtureRequest) -> Iterator[Factory]:
    """Each backend in the test's own isolated store (the service plugin's flushed Redis db
    or fresh PostgreSQL database), so nothing a test writes outlives it."""
    created: list[ConversationMemory] = []
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")

        def factory(**kw: object) -> ConversationMemory:
            mem = RedisConversationMemory(url, **kw)  # type: ignore[arg-type]
            created.append(mem)
            return mem
    elif request.param == "postgresql":
        dsn = request.getfixturevalue("postgres_test_db").url

        def factory(**kw: object) -> ConversationMemory:
            mem = PostgresConversationMemory(dsn, **kw)  # type: ignore[arg-type]
            created.append(mem)
            return mem
    else:

        def factory(**kw: object) -> ConversationMemory:
            return InMemoryConversationMemory(**kw)  # type: ignore[arg-type]

    yield factory
    for mem in created:
        mem.close()


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
    wait_for_condition(lambda: mem.get("s") == [], timeout=10, message="TTL expired the session")


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
def test_postgres_vector_store_cosine_in_sql(postgres_test_db: ServiceDatabase) -> None:
    store = PostgresVectorStore(postgres_test_db.url)
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


FACTS = {
    "invoice": "The invoice total is 420 euros and payment is due at the end of March.",
    "cats": "Cats sleep for most of the day, often in a sunny spot.",
    "payment": "Please pay the bill before the due date to avoid a late fee.",
    "football": "The football match was postponed because of heavy rain.",
}


@pytest.mark.requires_services("postgresql", "ollama")
@pytest.mark.timeout(300)
def test_semantic_memory_on_real_embeddings(
    postgres_test_db: ServiceDatabase, ollama_service: Any, embed_model: str
) -> None:
    """Real vectors from the server's embedding endpoint (all-MiniLM-L6-v2: 384 dimensions):
    both billing sentences rank above both unrelated ones for a billing question."""
    embedder = OllamaEmbedder(embed_model, base_url=ollama_service.url, timeout=120)
    store = PostgresVectorStore(postgres_test_db.url)
    try:
        mem = SemanticMemory(embedder, store)
        ids = mem.remember_many(list(FACTS.values()), [{"topic": t} for t in FACTS])
        assert len(ids) == 4 and store.count() == 4
        (vector,) = embedder.embed(["When do I have to pay the invoice?"])
        assert len(vector) == 384 and all(isinstance(x, float) for x in vector)
        top = mem.search("When do I have to pay the invoice?", k=4)
        assert [m.score for m in top] == sorted((m.score for m in top), reverse=True)
        assert {m.metadata["topic"] for m in top[:2]} == {"invoice", "payment"}, top
        assert all(-1.0 <= m.score <= 1.0 for m in top)
        assert top[1].score - top[2].score > 0.1, top  # a real margin, not a tie-break
        with pytest.raises(EmbeddingDimensionError):
            store.add("short", "not a MiniLM vector", [1.0, 0.0, 0.0], {})
    finally:
        store.drop()
