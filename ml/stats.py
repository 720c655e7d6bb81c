"""Is system A better than system B on the same documents? A paired bootstrap over documents.

The one implementation used by the promotion gate (jobs), the benchmarks (bench/) and
anything else that compares two systems' per-document scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class BootstrapResult:
    """Mean of (a - b) over ``n`` documents and its 95% percentile interval."""

    n: int
    mean_difference: float
    low: float
    high: float
    share_a_not_better: float  # share of resamples whose mean difference is <= 0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "mean_difference": self.mean_difference,
            "ci95_low": self.low,
            "ci95_high": self.high,
            "share_a_not_better": self.share_a_not_better,
        }


def paired_bootstrap_result(
    a_scores: Sequence[float],
    b_scores: Sequence[float],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> BootstrapResult:
    """Resample documents with replacement (the same indices for both systems, so the
    comparison stays paired) and return the 95% interval of the mean difference a - b.
    Seeded: the same scores always give the same interval."""
    a = np.asarray(a_scores, dtype=np.float64)
    b = np.asarray(b_scores, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired scores must be equal-length lists, got {a.shape} and {b.shape}")
    n = int(a.shape[0])
    if n == 0:
        raise ValueError("no documents to compare")
    if resamples <= 0:
        raise ValueError(f"resamples must be positive, got {resamples}")
    differences = a - b
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, size=(resamples, n))
    means = differences[indices].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return BootstrapResult(
        n=n,
        mean_difference=float(differences.mean()),
        low=float(low),
        high=float(high),
        share_a_not_better=float((means <= 0).mean()),
    )


def paired_bootstrap(
    a_scores: Sequence[float],
    b_scores: Sequence[float],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float, float]:
    """``(mean_difference, ci95_low, ci95_high)`` of a - b; see ``paired_bootstrap_result``."""
    result = paired_bootstrap_result(a_scores, b_scores, resamples, seed)
    return result.mean_difference, result.low, result.high
