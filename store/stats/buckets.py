"""Cumulative histogram buckets of the duration samples, per device group (Prometheus' shape).

The samples are exactly those of SUMMARY's ``durations`` (negatives, i.e. clock skew, left out),
so a histogram's ``_count`` is that STATS' n.  One Frame for every group and duration, and no
sort: each sample finds its bucket by a binary search among the few bounds.
"""

from __future__ import annotations

import numpy as np

from store.stats.frame import Frame
from store.stats.names import DURATIONS

METRIC_BOUNDS = (60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800, 14400,
                 21600)
"""The metrics' histogram bounds (seconds): trmon_phase_duration_seconds' ``le`` buckets."""


def duration_buckets(f: Frame, bounds: np.ndarray) -> dict[str, dict[str, list[int]]]:
    """{GROUP: {DURATION: [samples <= bound, for each of ``bounds`` (ascending)]}}."""
    return {group: {name: cumulative_counts(f.samples(name, g), bounds) for name in DURATIONS}
            for g, group in enumerate(f.group_names)}


def cumulative_counts(values: np.ndarray, bounds: np.ndarray) -> list[int]:
    """How many of the values are <= each bound (NaN and negative values left out)."""
    kept = values[values >= 0]  # NaN compares False: undefined durations drop out too
    bucket = np.searchsorted(bounds, kept, side="left")  # first bound >= the value
    return np.cumsum(np.bincount(bucket, minlength=len(bounds) + 1))[: len(bounds)].tolist()
