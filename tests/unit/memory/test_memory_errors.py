"""EmbeddingDimensionError: what a caller can read off a dimension mismatch.

Why: the error is how mixing embedding models is reported; it carries both sizes for code
and a message naming the store for people, and is both a MemoryStoreError and a
ValueError so either `except` catches it."""

from __future__ import annotations

from kaizen.errors import KaizenError
from kaizen.memory import EmbeddingDimensionError, MemoryStoreError


def test_dimension_error_carries_both_sizes_and_the_store() -> None:
    err = EmbeddingDimensionError(384, 768, "table notes")
    assert (err.expected, err.got) == (384, 768)
    assert str(err) == (
        "table notes: embedding has 768 dimensions, the store holds 384; use the same "
        "embedding model for storing and searching (or a separate table)"
    )
    assert isinstance(err, MemoryStoreError) and isinstance(err, ValueError)
    assert isinstance(err, KaizenError)
