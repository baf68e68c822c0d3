"""Statistics of one sample, exactly as DESIGN.md defines them, independent of sample order.

The sample is sorted first, so the same multiset of values gives bit-identical results however
it was accumulated (cold or in batches).  Percentiles reproduce numpy's default "linear" method
formula on the sorted array (cheaper than ``np.percentile``'s partition, same result; a test
checks the equality).
"""

from __future__ import annotations

import numpy as np

KEYS = ("n", "min", "max", "mean", "std", "p50", "p95")
_QUANTILES = np.true_divide(np.array([50.0, 95.0]), 100)


def empty() -> dict:
    """The statistics of an empty sample: n = 0, everything else null."""
    return {"n": 0, "min": None, "max": None, "mean": None, "std": None, "p50": None, "p95": None}


def describe(values: np.ndarray, *, presorted: bool = False) -> dict:
    """n, min, max, mean, std (ddof 0), p50, p95 of ``values`` as JSON-ready Python numbers."""
    s = np.asarray(values, dtype=np.float64)
    if not presorted:
        s = np.sort(s)
    n = len(s)
    if n == 0:
        return empty()
    p50, p95 = percentiles_sorted(s)
    return {
        "n": n,
        "min": float(s[0]),
        "max": float(s[-1]),
        "mean": float(np.mean(s)),
        "std": float(np.std(s)),
        "p50": p50,
        "p95": p95,
    }


def percentiles_sorted(s: np.ndarray) -> tuple[float, float]:
    """p50 and p95 of a sorted, non-empty array with numpy's linear interpolation."""
    n = len(s)
    virtual = (n - 1) * _QUANTILES
    previous = np.floor(virtual)
    gamma = virtual - previous
    lo = previous.astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    a, b = s[lo], s[hi]
    diff = b - a
    # numpy's _lerp: interpolate from the nearer end for numerical symmetry.
    out = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    return float(out[0]), float(out[1])
