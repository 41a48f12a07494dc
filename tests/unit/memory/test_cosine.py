"""`cosine`: the similarity every vector store ranks by.

Why: scores are returned to callers and compared with `min_score`, so their values must be
exact, and vectors of different lengths (two embedding models) must not be silently
truncated into a meaningless score."""

from __future__ import annotations

import pytest

from kaizen.memory import cosine


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1.0, 0.0], [1.0, 0.0], 1.0),
        ([1.0, 0.0], [0.0, 1.0], 0.0),
        ([1.0, 0.0], [-1.0, 0.0], -1.0),
        ([1.0, 0.0], [3.0, 4.0], 0.6),
        ([3.0, 4.0], [4.0, 3.0], 0.96),
        ([2.0, 0.0, 0.0], [5.0, 0.0, 0.0], 1.0),
    ],
)
def test_cosine_values(a: list[float], b: list[float], expected: float) -> None:
    assert cosine(a, b) == pytest.approx(expected, abs=1e-15)
    assert cosine(b, a) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(("a", "b"), [([1.0, 0.0], [1.0, 0.0, 0.0]), ([1.0, 2.0, 3.0], [1.0])])
def test_cosine_refuses_different_lengths(a: list[float], b: list[float]) -> None:
    with pytest.raises(ValueError):
        cosine(a, b)
