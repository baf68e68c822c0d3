"""Statistics of one sample, exactly as DESIGN.md defines them.

Percentiles reproduce numpy's default "linear" method on the few order statistics they need,
found with two partitions (a test checks equality with ``np.percentile``).  The mean is numpy's
and the std a chunked two-pass sum, over the values in the order given: callers pass samples in
a canonical order (file order), so cold and incremental computations give bit-identical results.
"""

from __future__ import annotations

import math

import numpy as np

KEYS = ("n", "min", "max", "mean", "std", "p50", "p95")
_QUANTILES = np.true_divide(np.array([50.0, 95.0]), 100)


def empty() -> dict:
    """The statistics of an empty sample: n = 0, everything else null."""
    return {"n": 0, "min": None, "max": None, "mean": None, "std": None, "p50": None, "p95": None}


def describe(values: np.ndarray, owned: bool = False) -> dict:
    """n, min, max, mean, std (ddof 0), p50, p95 of ``values`` as JSON-ready Python numbers.

    ``owned``: the caller gives the array away, so the percentiles may reorder it in place
    instead of partitioning a copy (after the mean and std, which depend on the order).
    """
    a = np.asarray(values)
    n = len(a)
    if n == 0:
        return empty()
    if a.dtype not in (np.float64, np.float32):
        a = a.astype(np.float64)
    # float32 samples (delivery delays) are summed in float64 without a float64 copy.
    mean = float(np.mean(a, dtype=np.float64))
    std = _std(a, mean)
    low, p50, p95, high = order_statistics(a, in_place=owned)
    return {"n": n, "min": low, "max": high, "mean": mean, "std": std, "p50": p50, "p95": p95}


_STD_CHUNK = 1 << 15  # values per step of _std: its float64 scratch stays in the CPU cache


def _std(a: np.ndarray, mean: float) -> float:
    """Population standard deviation around ``mean``, two-pass like np.std but a chunk at a
    time: np.std makes float64 temporaries as large as the sample (80 MB for ten million
    float32 delays) and takes four times as long.  Chunk sums add up in a fixed order, so the
    result depends only on the values and their order."""
    n = len(a)
    centre = np.float64(mean)  # a NumPy float64, not a Python float: float32 chunks are then
    scratch = np.empty(min(n, _STD_CHUNK), np.float64)  # subtracted in float64, not float32
    total = 0.0
    for lo in range(0, n, _STD_CHUNK):
        chunk = a[lo : lo + _STD_CHUNK]
        d = scratch[: len(chunk)]
        np.subtract(chunk, centre, out=d)
        np.multiply(d, d, out=d)
        total += float(np.add.reduce(d))
    return math.sqrt(total / n)


def order_statistics(a: np.ndarray, in_place: bool = False) -> tuple[float, float, float, float]:
    """(min, p50, p95, max) of a non-empty array; the percentiles with numpy's default
    "linear" interpolation.  ``in_place``: partition ``a`` itself rather than a copy.

    Two single-pivot partitions (p95 first, then p50 inside the lower part) and a min over
    what lies above each pivot find the four order statistics the percentiles need, much
    cheaper than a sort or a multi-pivot ``np.partition``; min and max then come from the
    parts below p50 and above p95 instead of two passes over everything.
    """
    n = len(a)
    virtual = (n - 1) * _QUANTILES
    previous = np.floor(virtual)
    gamma = virtual - previous
    lo50, lo95 = (int(i) for i in previous)
    few = _few_values(a)
    if few is not None:  # a handful of distinct values: the order statistics are counted
        values, ends = few

        def kth(i: int):
            return values[int(np.searchsorted(ends, i, side="right"))]

        x50, y50 = kth(lo50), kth(min(lo50 + 1, n - 1))
        x95, y95 = kth(lo95), kth(min(lo95 + 1, n - 1))
        return _interpolated(float(values[0]), x50, y50, x95, y95, gamma, float(values[-1]))
    if in_place:
        a.partition(lo95)
        part = a
    else:
        part = np.partition(a, lo95)
    x95 = part[lo95]
    above = part[lo95 + 1 :]
    y95, high = (above.min(), above.max()) if len(above) else (x95, x95)
    if lo50 < lo95:
        part[:lo95].partition(lo50)
        x50, y50 = part[lo50], part[lo50 + 1 : lo95 + 1].min()
    else:
        x50, y50 = x95, y95
    low = part[:lo50].min() if lo50 else x50
    return _interpolated(float(low), x50, y50, x95, y95, gamma, float(high))


def _interpolated(low: float, x50, y50, x95, y95, gamma: np.ndarray,
                  high: float) -> tuple[float, float, float, float]:
    """(min, p50, p95, max) from the order statistics around each percentile."""
    x, y = np.array([x50, x95], np.float64), np.array([y50, y95], np.float64)
    diff = y - x
    # numpy's _lerp: interpolate from the nearer end for numerical symmetry.
    out = np.where(gamma >= 0.5, y - diff * (1 - gamma), x + diff * gamma)
    return low, float(out[0]), float(out[1]), high


FEW_VALUES = 8  # at most this many distinct values: counted rather than partitioned
_FEW_FROM = 4096  # smaller samples: a partition costs next to nothing


def _few_values(a: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(the distinct values ascending, their cumulative counts) when ``a`` holds at most
    FEW_VALUES distinct values, else None.

    A partition (introselect) slows down ten- to twentyfold on such samples (durations of
    whole seconds, delays that are all 0 or 1: 15-20 ms instead of 1 ms per million values,
    for every group and percentile), while counting them is a pass per value.  A strided
    probe of ~1,000 values proposes the candidates; they must then account for every value
    (else None: the partition decides).  A -0.0 among zeros also leaves it to the partition,
    whose answer it is (the two compare equal but print differently)."""
    n = len(a)
    if n < _FEW_FROM:
        return None
    probe = unique_sorted(a[:: n // 1024])
    if len(probe) > FEW_VALUES:
        return None
    counts = []
    for value in probe:
        counts.append(int(np.count_nonzero(a == value)))
    if sum(counts) != n:  # other values (or NaN) too
        return None
    if bool((probe == 0).any()) and bool(np.signbit(a[a == 0]).any()):
        return None
    return probe, np.cumsum(counts)


def p95(values: np.ndarray) -> float:
    """The p95 of a non-empty sample, equal to ``order_statistics(values)[2]`` (and to numpy's
    default percentile) at the cost of one selection: for a query that needs nothing else."""
    n = len(values)
    virtual = (n - 1) * _QUANTILES[1]
    below = int(np.floor(virtual))
    gamma = virtual - below
    part = np.partition(values, below)
    x = part[below]
    above = part[below + 1 :]
    y = above.min() if len(above) else x
    x, y = np.float64(x), np.float64(y)
    diff = y - x
    return float(y - diff * (1 - gamma) if gamma >= 0.5 else x + diff * gamma)


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """np.unique(values) for values without NaN, by a sort: numpy's own plain np.unique
    imports numpy.ma on first use (17 ms of a command's start-up); its variants with
    return_index and the like do not."""
    out = np.sort(values)
    if len(out) > 1:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out


def describe_histogram(hist: np.ndarray) -> dict:
    """The statistics of a sample of small non-negative integers given as ``hist[k]`` = how
    many samples equal k (iteration counts: one pass to count, no per-sample arrays)."""
    values = np.flatnonzero(hist)
    weights = hist[values].astype(np.int64)
    n = int(weights.sum())
    if n == 0:
        return empty()
    total = int((values * weights).sum())  # exact: integers
    mean = total / n
    std = math.sqrt(float((weights * (values - mean) ** 2).sum()) / n)
    cum = np.cumsum(weights)

    def order_stat(i: int) -> float:
        return float(values[int(np.searchsorted(cum, i, side="right"))])

    virtual = (n - 1) * _QUANTILES
    previous = np.floor(virtual)
    gamma = virtual - previous
    out = []
    for g, lo in zip(gamma.tolist(), previous.astype(int).tolist(), strict=True):
        x, y = order_stat(lo), order_stat(min(lo + 1, n - 1))
        out.append(y - (y - x) * (1 - g) if g >= 0.5 else x + (y - x) * g)
    return {"n": n, "min": float(values[0]), "max": float(values[-1]), "mean": mean,
            "std": std, "p50": out[0], "p95": out[1]}
