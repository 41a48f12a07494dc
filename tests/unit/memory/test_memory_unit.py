"""Memory semantics on the in-process backends (no services)."""

from __future__ import annotations

import hashlib

import pytest

from kaizen.errors import ConfigurationError
from kaizen.memory import (
    EmbeddingDimensionError,
    InMemoryConversationMemory,
    InMemoryVectorStore,
    MemoryStoreError,
    SemanticMemory,
    SharedMemoryPool,
    cosine,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_max_turns_keeps_the_newest() -> None:
    mem = InMemoryConversationMemory(max_turns=3)
    for i in range(5):
        mem.add("s", "user", f"m{i}")
    assert [t.content for t in mem.get("s")] == ["m2", "m3", "m4"]
    assert [t.content for t in mem.get("s", last_n=2)] == ["m3", "m4"]


def test_ttl_expires_after_last_write() -> None:
    clock = FakeClock()
    mem = InMemoryConversationMemory(ttl_seconds=10, clock=clock)
    mem.add("s", "user", "hello")
    clock.now += 9
    mem.add("s", "assistant", "hi")  # refreshes the session
    clock.now += 9
    assert len(mem.get("s")) == 2
    clock.now += 1
    assert mem.get("s") == [] and mem.session_count() == 0


def test_sessions_are_isolated_and_clearable() -> None:
    mem = InMemoryConversationMemory()
    mem.add("a", "user", "1", {"k": 1})
    mem.add("b", "user", "2")
    assert mem.get("a")[0].metadata == {"k": 1}
    mem.clear("a")
    assert mem.get("a") == [] and len(mem.get("b")) == 1


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"max_turns": 0}, "max_turns"),
        ({"max_turns": True}, "max_turns"),
        ({"ttl_seconds": -1}, "ttl_seconds"),
        ({"ttl_seconds": float("inf")}, "ttl_seconds"),
    ],
)
def test_limits_validated(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        InMemoryConversationMemory(**kwargs)
    assert info.value.key == key


def test_bad_inputs_named() -> None:
    mem = InMemoryConversationMemory()
    with pytest.raises(ConfigurationError, match="session_id"):
        mem.add("", "user", "x")
    with pytest.raises(ConfigurationError, match="content"):
        mem.add("s", "user", 3)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="last_n"):
        mem.get("s", last_n=0)


async def test_shared_pool_across_agents() -> None:
    pool = SharedMemoryPool(InMemoryConversationMemory(max_turns=10), "team1")
    pool.write("worker1", "found A")
    await pool.awrite("worker2", "found B")
    assert [t.role for t in pool.read()] == ["worker1", "worker2"]
    assert [t.content for t in await pool.aread("worker2")] == ["found B"]
    pool.clear()
    assert pool.read() == []


class HashEmbedder:
    """Deterministic bag-of-words vectors: similar wording, similar vector."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def embed(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            v = [0.0] * self.dim
            for word in text.lower().split():
                v[int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dim] += 1.0
            out.append(v)
        return out


def test_semantic_search_ranks_by_cosine() -> None:
    mem = SemanticMemory(HashEmbedder())
    mem.remember_many(["the cat sat on the mat", "stock prices fell sharply", "a cat and a mat"])
    top = mem.search("cat on a mat", k=2)
    assert len(top) == 2 and all("cat" in m.text for m in top)
    assert top[0].score >= top[1].score
    assert mem.search("cat", k=5, min_score=0.99) == []


def test_dimension_mismatch_is_typed() -> None:
    store = InMemoryVectorStore()
    store.add("1", "x", [1.0, 0.0], {})
    with pytest.raises(EmbeddingDimensionError, match="2"):
        store.add("2", "y", [1.0, 0.0, 0.0], {})


def test_zero_vector_refused() -> None:
    class Zero:
        def embed(self, texts: list[str]) -> list[list[float]]:
            return [[0.0, 0.0] for _ in texts]

    with pytest.raises(MemoryStoreError, match="zeros"):
        SemanticMemory(Zero()).remember("x")


def test_cosine() -> None:
    assert cosine([1, 0], [1, 0]) == pytest.approx(1.0)
    assert cosine([1, 0], [0, 1]) == pytest.approx(0.0)
