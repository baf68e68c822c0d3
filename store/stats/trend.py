"""Trends (DESIGN.md "Operator insight"): one row per UTC hour or day of the testruns' first
requests, from the bucket of a SUMMARY's first request to that of its last, empty buckets
included.  ROW = {"start", "requests", "finished", "errors", "error_pct", "testrun": {"p50",
"p95"}, "queue": {"p50", "p95"}} over the testruns whose first request (engine clock) falls in
the bucket; "requests" counts those testruns; percentiles are numpy's default (linear) over the
non-negative samples, null without one.  Testruns never requested are in no bucket.

Cost, per query: O(runs) for the counts (bincounts per (group, bucket)) plus, per sample kind,
one argsort of the window's samples and one sort of packed integer keys (bucket, rank) for all
groups at once and one for "all": the order statistics of every bucket are then gathers.  A
span of more than MAX_BUCKETS buckets (an hourly trend over years, or one stray request dated
1970) is refused with TrendTooLong rather than answered with a huge table.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from store.stats.describe import _QUANTILES

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
    r = f.st.runs
    runs = np.flatnonzero(f.mask)
    request = r.request[runs]
    requested = ~np.isnan(request)
    runs = runs[requested]
    if len(runs) == 0:
        return ([[] for _ in f.group_names] if per_group else None), ([] if with_all else None)
    b = np.floor(request[requested] / size).astype(np.int64)
    first, last = int(b.min()), int(b.max())
    nb = last - first + 1
    if nb > MAX_BUCKETS:
        raise TrendTooLong(
            f"a trend by {bucket} of these testruns would have {nb:,} rows (their requests "
            f"span {_date(first * size)} to {_date(last * size)}); at most {MAX_BUCKETS:,}: "
            "take a coarser bucket or a shorter window")
    rel = b - first
    group = f.gidx[runs].astype(np.int64)
    ng = len(f.group_names)
    columns = _counts(f.status[runs], rel, group, nb, ng)
    for name in SAMPLES:
        values = f.per_run_duration(name)[runs]
        ok = values >= 0  # NaN (undefined) and clock skew left out
        columns[name] = _percentiles(values[ok], rel[ok], group[ok], nb, ng, per_group,
                                     with_all)
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


def _counts(status: np.ndarray, rel: np.ndarray, group: np.ndarray, nb: int,
            ng: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """requests / finished / errors as ((groups, buckets) counts, (1, buckets) counts)."""
    out = {}
    for name, sel in (("requests", None), ("finished", status == 2), ("errors", status == 3)):
        key = group * nb + rel
        per_group = np.bincount(key if sel is None else key[sel], minlength=ng * nb)
        per_group = per_group.reshape(ng, nb)
        out[name] = (per_group, per_group.sum(axis=0, keepdims=True))
    return out


def _percentiles(values, rel, group, nb, ng, per_group, with_all):
    """((p50, p95) of each (group, bucket), (p50, p95) of each bucket), arrays NaN where
    empty; a part not asked for is None."""
    order = np.argsort(values)
    values, rel, group = values[order], rel[order], group[order]
    grouped = _by_key(values, group * nb + rel, ng * nb, (ng, nb)) if per_group else None
    whole = _by_key(values, rel, nb, (1, nb)) if with_all else None
    return grouped, whole


def _by_key(ascending: np.ndarray, key: np.ndarray, width: int, shape) -> tuple:
    """(p50, p95) per key value of ``ascending`` (sorted values, ``key`` of each), in
    ``shape``: a sort of key << bits | rank groups them by key, keeping value order."""
    m = len(ascending)
    bits = max(m - 1, 1).bit_length()
    packed = key.astype(np.int64) << bits
    packed |= np.arange(m, dtype=np.int64)
    packed.sort()
    ordered = ascending[packed & ((1 << bits) - 1)]
    count = np.bincount(key, minlength=width)
    start = np.cumsum(count) - count
    out = []
    for q in _QUANTILES:  # numpy's default "linear" method, as describe.order_statistics
        virtual = (count - 1) * q
        below = np.floor(virtual)
        gamma = virtual - below
        lo = start + np.maximum(below, 0).astype(np.int64)
        hi = start + np.minimum(below + 1, np.maximum(count - 1, 0)).astype(np.int64)
        have = count > 0
        x = np.where(have, ordered[np.minimum(lo, m - 1)] if m else 0.0, np.nan)
        y = np.where(have, ordered[np.minimum(hi, m - 1)] if m else 0.0, np.nan)
        diff = y - x
        out.append(np.where(gamma >= 0.5, y - diff * (1 - gamma), x + diff * gamma)
                   .reshape(shape))
    return tuple(out)


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
