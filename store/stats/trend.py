"""Trends (DESIGN.md "Operator insight"): one row per UTC hour or day of the testruns' first
requests, from the bucket of a SUMMARY's first request to that of its last, empty buckets
included.  ROW = {"start", "requests", "finished", "errors", "error_pct", "testrun": {"p50",
"p95"}, "queue": {"p50", "p95"}} over the testruns whose first request (engine clock) falls in
the bucket; "requests" counts those testruns; percentiles are numpy's default (linear) over the
non-negative samples, null without one.  Testruns never requested are in no bucket.

Cost, per query: O(runs) for the counts (one bincount per (group, bucket, status)) plus, per
sample kind, the samples grouped by (group, bucket) and by bucket with engine.stable_order (a
packed or radix sort of small integer keys, O(n)) and each group sorted in place (numpy's
vectorised sort, faster than a partition for the four order statistics p50 and p95 need);
buckets of 32 samples or fewer on average sort all the samples once instead.  The order
statistics of every bucket are then gathers.  A span of more than MAX_BUCKETS buckets (an
hourly trend over years, or one stray request dated 1970) is refused with TrendTooLong rather
than answered with a huge table.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from store.stats.describe import _QUANTILES
from store.stats.engine import stable_order

BUCKETS = {"hour": 3600.0, "day": 86400.0}
MAX_BUCKETS = 10_000
SAMPLES = ("testrun", "queue")


class TrendTooLong(ValueError):
    """The requests span more buckets than MAX_BUCKETS."""


def trends(f, bucket: str, per_group: bool,
           with_all: bool) -> tuple[list[list[dict]] | None, list[dict] | None]:
    """(rows of each group of the frame or None, rows of all the frame's runs or None)."""
    size = BUCKETS.get(bucket)
    if size is None:
        raise ValueError(f"trend bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    request = f.st.runs.request[: f.n]
    chosen = f.mask & ~np.isnan(request)
    ng = len(f.group_names)
    if not chosen.any():
        return ([[] for _ in range(ng)] if per_group else None), ([] if with_all else None)
    b = np.floor(request[chosen] / size).astype(np.int64)
    first, last = int(b.min()), int(b.max())
    nb = last - first + 1
    if nb > MAX_BUCKETS:
        raise TrendTooLong(
            f"a trend by {bucket} of these testruns would have {nb:,} rows (their requests "
            f"span {_date(first * size)} to {_date(last * size)}); at most {MAX_BUCKETS:,}: "
            "take a coarser bucket or a shorter window")
    rel = b - first
    key = f.gidx[chosen] * nb + rel  # (group, bucket)
    per_status = np.bincount(key * 4 + f.status[chosen], minlength=ng * nb * 4)
    per_status = per_status.reshape(ng, nb, 4)
    columns = {"requests": per_status.sum(axis=2), "finished": per_status[:, :, 2],
               "errors": per_status[:, :, 3]}
    columns = {name: (c, c.sum(axis=0, keepdims=True)) for name, c in columns.items()}
    for name in SAMPLES:
        values = f.per_run_duration(name)[chosen]
        ok = values >= 0  # NaN (undefined) and clock skew left out
        values = values[ok]
        columns[name] = (
            _percentiles(values, key[ok], ng * nb, (ng, nb)) if per_group else None,
            _percentiles(values, rel[ok], nb, (1, nb)) if with_all else None)
    starts = (first + np.arange(nb)) * size
    grouped = None
    if per_group:
        grouped = []
        for g in range(ng):
            used = np.flatnonzero(columns["requests"][0][g])
            span = slice(used[0], used[-1] + 1) if len(used) else slice(0, 0)
            grouped.append(_rows(starts, columns, 0, g, span))
    whole = _rows(starts, columns, 1, 0, slice(0, nb)) if with_all else None
    return grouped, whole


def _date(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def _percentiles(values: np.ndarray, key: np.ndarray, width: int, shape) -> tuple:
    """(p50, p95) of the values of each key in [0, width), NaN where none, in ``shape``:
    numpy's default "linear" method, as describe.order_statistics."""
    count = np.bincount(key, minlength=width)
    below = [np.floor((count - 1) * q) for q in _QUANTILES]
    ordered, start = _ordered_by_key(values, key, width, count)
    have = count > 0
    last = max(len(ordered) - 1, 0)
    out = []
    for q, low in zip(_QUANTILES, below, strict=True):
        gamma = (count - 1) * q - low
        lo = start + np.maximum(low, 0).astype(np.int64)
        hi = start + np.minimum(low + 1, np.maximum(count - 1, 0)).astype(np.int64)
        x = np.where(have, ordered[np.minimum(lo, last)] if len(ordered) else 0.0, np.nan)
        y = np.where(have, ordered[np.minimum(hi, last)] if len(ordered) else 0.0, np.nan)
        diff = y - x
        out.append(np.where(gamma >= 0.5, y - diff * (1 - gamma), x + diff * gamma)
                   .reshape(shape))
    return tuple(out)


def _ordered_by_key(values: np.ndarray, key: np.ndarray, width: int,
                    count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values ordered by (key, value), the start of each key's values; ``count`` of each)."""
    if len(values) == 0:
        return values, np.zeros(width, np.int64)
    if 32 * width > len(values):  # small groups: sort everything once, then group stably
        by_value = np.argsort(values)
        order, bounds = stable_order(key[by_value], width)
        return values[by_value][order], bounds[:-1]
    order, bounds = stable_order(key, width)
    ordered = values[order]
    for k in np.flatnonzero(count > 1).tolist():  # numpy's vectorised sort beats partition
        ordered[bounds[k] : bounds[k + 1]].sort()
    return ordered, bounds[:-1]


def _rows(starts: np.ndarray, columns: dict, part: int, g: int, span: slice) -> list[dict]:
    """The ROWs of one SUMMARY: ``part`` 0 = group ``g``, 1 = all; buckets ``span``."""
    lists = {}
    for name in ("requests", "finished", "errors"):
        lists[name] = columns[name][part][g, span].tolist()
    for name in SAMPLES:
        pcts = columns[name][part]
        lists[name] = [_num_list(p[g, span]) for p in pcts]
    rows = []
    for i, start in enumerate(starts[span].tolist()):
        finished, errors = lists["finished"][i], lists["errors"][i]
        rows.append({
            "start": start,
            "requests": lists["requests"][i],
            "finished": finished,
            "errors": errors,
            "error_pct": 100.0 * errors / (finished + errors) if finished + errors else None,
            "testrun": {"p50": lists["testrun"][0][i], "p95": lists["testrun"][1][i]},
            "queue": {"p50": lists["queue"][0][i], "p95": lists["queue"][1][i]},
        })
    return rows


def _num_list(a: np.ndarray) -> list:
    return [None if v != v else v for v in a.tolist()]  # NaN -> None
