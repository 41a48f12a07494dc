"""SemanticMemory with a table-driven fake embedder (each text has a known vector).

Why: with known vectors the ids, texts, metadata and scores that `remember` and `search`
return can be checked exactly, as can the argument checks (`texts`, `k`), the `min_score`
boundary, the default `k` and the embedder-output checks (empty, non-finite, zero)."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from kaizen.errors import ConfigurationError
from kaizen.memory import InMemoryVectorStore, MemoryMatch, MemoryStoreError, SemanticMemory

VECTORS = {
    "east": [1.0, 0.0],
    "north": [0.0, 1.0],
    "mostly north": [3.0, 4.0],
    "west": [-1.0, 0.0],
}


class TableEmbedder:
    """Known vectors for known texts, [1, 1] for any other; records each call."""

    def __init__(self, vectors: dict[str, list[float]] | None = None) -> None:
        self.vectors = VECTORS if vectors is None else vectors
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [list(self.vectors.get(t, [1.0, 1.0])) for t in texts]


def test_remember_returns_the_id_search_finds_with_metadata() -> None:
    mem = SemanticMemory(TableEmbedder())
    item = mem.remember("east", {"dir": "e"})
    other = mem.remember("north")
    assert re.fullmatch(r"[0-9a-f]{32}", item) and item != other
    assert mem.search("east", k=2) == [
        MemoryMatch(item, "east", 1.0, {"dir": "e"}),
        MemoryMatch(other, "north", 0.0, {}),
    ]


def test_remember_many_ids_in_order_with_their_metadata() -> None:
    store = InMemoryVectorStore()
    mem = SemanticMemory(TableEmbedder(), store)
    ids = mem.remember_many(["east", "north", "mostly north"], [{"i": 0}, {"i": 1}, {"i": 2}])
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert store.count() == 3
    found = {m.id: (m.text, m.metadata) for m in mem.search("east", k=3)}
    assert found == {
        ids[0]: ("east", {"i": 0}),
        ids[1]: ("north", {"i": 1}),
        ids[2]: ("mostly north", {"i": 2}),
    }


def test_remember_many_without_metadata_stores_empty_metadata() -> None:
    mem = SemanticMemory(TableEmbedder())
    mem.remember_many(["east", "north"])
    assert [m.metadata for m in mem.search("east", k=2)] == [{}, {}]


@pytest.mark.parametrize("texts", [[], [""], ["   "], ["east", " \n"], ["east", 5]])
def test_texts_must_be_non_empty_strings(texts: list[Any]) -> None:
    embedder = TableEmbedder()
    store = InMemoryVectorStore()
    with pytest.raises(ConfigurationError) as info:
        SemanticMemory(embedder, store).remember_many(texts)
    assert info.value.key == "texts"
    assert str(info.value) == "texts: must be a non-empty list of non-empty strings"
    assert embedder.calls == [] and store.count() == 0


@pytest.mark.parametrize("metadata", [[{"i": 0}], [{"i": 0}, {"i": 1}, {"i": 2}]])
def test_mismatched_metadata_is_refused_before_anything_is_stored(
    metadata: list[dict[str, int]],
) -> None:
    embedder = TableEmbedder()
    store = InMemoryVectorStore()
    mem = SemanticMemory(embedder, store)
    with pytest.raises(ConfigurationError) as info:
        mem.remember_many(["east", "north"], metadata)
    assert str(info.value) == (f"metadata: needs one mapping per text: {len(metadata)} for 2 texts")
    assert embedder.calls == [] and store.count() == 0, "nothing embedded, nothing stored"


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "3"])
def test_k_must_be_a_positive_integer(bad: Any) -> None:
    embedder = TableEmbedder()
    mem = SemanticMemory(embedder)
    mem.remember("east")
    with pytest.raises(ConfigurationError) as info:
        mem.search("east", k=bad)
    assert info.value.key == "k"
    assert str(info.value) == f"k: must be a positive integer, got {bad!r}"
    assert embedder.calls == [["east"]]  # the query was never embedded


def test_k_of_one_returns_the_best_match() -> None:
    mem = SemanticMemory(TableEmbedder())
    mem.remember_many(["north", "east", "west"])
    assert [m.text for m in mem.search("east", k=1)] == ["east"]


def test_search_returns_five_by_default() -> None:
    mem = SemanticMemory(TableEmbedder())
    mem.remember_many([f"fact {i}" for i in range(7)])
    assert len(mem.search("anything")) == 5
    assert len(mem.search("anything", k=7)) == 7


async def test_asearch_returns_five_by_default() -> None:
    mem = SemanticMemory(TableEmbedder())
    mem.remember_many([f"fact {i}" for i in range(7)])
    assert len(await mem.asearch("anything")) == 5
    assert len(await mem.asearch("anything", 2)) == 2


def test_min_score_keeps_matches_at_the_threshold() -> None:
    mem = SemanticMemory(TableEmbedder())
    mem.remember_many(["east", "north", "mostly north", "west"])
    assert [(m.text, m.score) for m in mem.search("east", k=4, min_score=0.6)] == [
        ("east", 1.0),
        ("mostly north", 0.6),
    ]
    assert [m.text for m in mem.search("east", k=4, min_score=1.0)] == ["east"]
    assert [m.text for m in mem.search("east", k=4, min_score=-1.0)] == [
        "east",
        "mostly north",
        "north",
        "west",
    ]


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ([], "embedder: embedding is empty or not finite"),
        ([math.nan, 1.0], "embedder: embedding is empty or not finite"),
        ([1.0, math.inf], "embedder: embedding is empty or not finite"),
        ([0.0, 0.0], "embedder: embedding is all zeros; cosine is undefined"),
    ],
)
def test_unusable_embeddings_are_refused(vector: list[float], message: str) -> None:
    store = InMemoryVectorStore()
    mem = SemanticMemory(TableEmbedder({"bad": vector}), store)
    with pytest.raises(MemoryStoreError) as info:
        mem.remember("bad")
    assert str(info.value) == message
    assert store.count() == 0
    mem.remember("east")
    with pytest.raises(MemoryStoreError) as info:
        mem.search("bad")
    assert str(info.value) == message


def test_embedder_returning_the_wrong_count_is_refused() -> None:
    class Short:
        def embed(self, texts: list[str]) -> list[list[float]]:
            return [[1.0, 0.0]]

    with pytest.raises(MemoryStoreError) as info:
        SemanticMemory(Short()).remember_many(["a", "b"])
    assert str(info.value) == "embedder returned 1 vectors for 2"


async def test_asearch_embeds_the_query_it_was_given() -> None:
    embedder = TableEmbedder()
    mem = SemanticMemory(embedder)
    mem.remember("east")
    matches = await mem.asearch("east", k=1)
    assert embedder.calls[-1] == ["east"] and [m.text for m in matches] == ["east"]
