"""InMemoryVectorStore: rows ranked by cosine, one dimension per store.

Why: search results carry the stored text and metadata with exact scores, best first and
at most k; a vector of another dimension is refused on add and on search with an error
that names this store and both sizes."""

from __future__ import annotations

import re

import pytest

from kaizen.memory import EmbeddingDimensionError, InMemoryVectorStore, MemoryMatch

MISMATCH = "in-memory vector store: embedding has 3 dimensions, the store holds 2; "


def make_store() -> InMemoryVectorStore:
    store = InMemoryVectorStore()
    store.add("east", "go east", [1.0, 0.0], {"dir": "e"})
    store.add("north", "go north", [0.0, 1.0], {"dir": "n"})
    store.add("mixed", "mostly north", [3.0, 4.0], {})
    return store


def test_search_ranks_with_text_metadata_and_scores() -> None:
    store = make_store()
    assert store.search([1.0, 0.0], k=3) == [
        MemoryMatch("east", "go east", 1.0, {"dir": "e"}),
        MemoryMatch("mixed", "mostly north", 0.6, {}),
        MemoryMatch("north", "go north", 0.0, {"dir": "n"}),
    ]
    assert [m.id for m in store.search([0.0, 2.0], k=2)] == ["north", "mixed"]


def test_search_returns_at_most_k() -> None:
    store = make_store()
    assert [m.id for m in store.search([1.0, 0.0], k=1)] == ["east"]
    assert len(store.search([1.0, 0.0], k=10)) == 3


def test_empty_store_searches_any_dimension() -> None:
    store = InMemoryVectorStore()
    assert store.search([1.0, 2.0, 3.0], k=5) == []
    assert store.count() == 0


def test_add_of_another_dimension_is_refused() -> None:
    store = make_store()
    with pytest.raises(EmbeddingDimensionError, match="^" + re.escape(MISMATCH)) as info:
        store.add("z", "up", [0.0, 0.0, 1.0], {})
    assert (info.value.expected, info.value.got) == (2, 3)
    assert store.count() == 3


def test_search_of_another_dimension_is_refused() -> None:
    store = make_store()
    with pytest.raises(EmbeddingDimensionError, match="^" + re.escape(MISMATCH)) as info:
        store.search([0.0, 0.0, 1.0], k=1)
    assert (info.value.expected, info.value.got) == (2, 3)


def test_same_id_replaces_the_row() -> None:
    store = make_store()
    store.add("east", "head east", [1.0, 0.0], {"v": 2})
    assert store.count() == 3
    assert store.search([1.0, 0.0], k=1) == [MemoryMatch("east", "head east", 1.0, {"v": 2})]
