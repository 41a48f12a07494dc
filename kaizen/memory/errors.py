"""Typed memory errors (named to avoid shadowing the builtin `MemoryError`)."""

from __future__ import annotations

from kaizen.errors import KaizenError


class MemoryStoreError(KaizenError):
    """A memory backend could not read or write; the message names the backend."""


class EmbeddingDimensionError(MemoryStoreError, ValueError):
    """A vector's length differs from the store's: mixing embedding models breaks search."""

    def __init__(self, expected: int, got: int, where: str) -> None:
        self.expected = expected
        self.got = got
        super().__init__(
            f"{where}: embedding has {got} dimensions, the store holds {expected}; use the same "
            "embedding model for storing and searching (or a separate table)"
        )
