"""Robust summary statistics for timing samples (median, p95, MAD), no numpy needed."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# MAD * 1.4826 estimates the standard deviation of normally distributed samples.
MAD_TO_SIGMA = 1.4826


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation: a spread estimate one outlier cannot inflate."""
    med = statistics.median(values)
    return statistics.median(abs(v - med) for v in values)


@dataclass(frozen=True, slots=True)
class SampleStats:
    """Summary of per-operation samples, all in milliseconds."""

    n: int
    median_ms: float
    p95_ms: float
    mad_ms: float
    min_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> SampleStats:
        if not samples_ms:
            raise ValueError("no samples to summarise")
        return cls(
            n=len(samples_ms),
            median_ms=statistics.median(samples_ms),
            p95_ms=percentile(samples_ms, 95),
            mad_ms=mad(samples_ms),
            min_ms=min(samples_ms),
            max_ms=max(samples_ms),
            mean_ms=statistics.fmean(samples_ms),
        )
