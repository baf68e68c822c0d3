"""LIFO matching of ``*_start`` / ``*_end`` events, vectorised, carrying open starts across batches.

DESIGN.md: "each ``*_end`` closes the latest open ``*_start`` of that testrun".  Per testrun that
is a stack: a start pushes, an end pops (an end on an empty stack is an anomaly, "end without
start").  Doing it per event in Python is too slow for millions of events, so:

1. The still-open starts of earlier batches (the *pool*) for the runs present in this batch are
   put in front of the batch's events: cold (one batch) and incremental (many) share this code.
2. The events are grouped by run, file order kept, with one sort of ``run << bits | position``.
3. The stack depth is a cumulative sum of +1/-1 clamped at zero; per group the clamp is
   ``C - min(0, prefix-min(C))``, and the prefix minimum of every group at once is one
   ``minimum.accumulate`` over values shifted down by ``group * BIG`` (earlier groups are then
   always larger and never win the minimum).
4. An end with depth ``d`` before it closes the latest start before it whose depth after it is
   ``d``.  Usually that start is the event just before (fast path); otherwise a search in the
   starts sorted by ``(group, depth, position)`` finds it.
5. Starts never matched are still open: they form the new pool entries of those runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Pool:
    """Open starts of one phase, per run in file order (runs in no particular order)."""

    run: np.ndarray
    t: np.ndarray
    row: np.ndarray
    """Global event row of the start (file order), used for the current phase's start time."""

    @classmethod
    def empty(cls) -> Pool:
        return cls(np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.int64))

    def __len__(self) -> int:
        return len(self.run)


@dataclass
class Matched:
    """Result of matching one batch of one phase."""

    run: np.ndarray
    """Run of each closed pair, grouped by run, each run's pairs in file order of their end."""
    duration: np.ndarray
    """End time minus start time of each closed pair (may be negative: clock skew)."""
    orphan_runs: np.ndarray
    """Run of each end that found no open start (one entry per such end)."""
    end_pos: np.ndarray
    """Position of each pair's end in the batch (``pos`` of match; unique, file order)."""
    pool: Pool
    """The open starts after this batch (all runs)."""
    end_rank: np.ndarray | None = None
    """match_simple with several pairs per run: each pair's rank among its run's pairs (file
    order), since ``run`` then is not grouped by run."""


def match(run: np.ndarray, is_start: np.ndarray, t: np.ndarray, row: np.ndarray,
          pos: np.ndarray, pool: Pool, marks: np.ndarray) -> Matched:
    """Match one batch of one phase's events against the open starts in ``pool``.

    ``pos`` is each event's position in the batch (file order; the events may come in any
    order).  ``marks`` is a scratch boolean array with one False entry per run (left all False).
    """
    run = run.astype(np.int64, copy=False)
    if len(pool):
        marks[run] = True
        carried = marks[pool.run]
        marks[run] = False
    else:
        carried = np.zeros(0, bool)
    if carried.any():
        keep = ~carried
        R = np.concatenate([pool.run[carried], run])
        S = np.concatenate([np.ones(int(carried.sum()), bool), is_start])
        T = np.concatenate([pool.t[carried], t])
        W = np.concatenate([pool.row[carried], row])
        c = len(R) - len(run)
        P = np.concatenate([np.arange(c, dtype=np.int64), pos + c])  # carried starts first
        pool = Pool(pool.run[keep], pool.t[keep], pool.row[keep])
    else:
        R, S, T, W, P = run, is_start, t, row, pos
    m = len(R)
    if m == 0:
        return Matched(R, T, R, R, pool)
    # Group by run in file order (carried starts first): one sort of unique int64 keys
    # run << bits | position, then the index of each key in the input.
    bits = int(P.max()).bit_length()
    key = (R << bits) | P
    perm = np.argsort(key) if m < 4096 else _sorted_index(key, P, bits, m)
    R, S = R[perm], S[perm]
    first = np.empty(m, bool)
    first[0] = True
    np.not_equal(R[1:], R[:-1], out=first[1:])
    if _alternating(S, first):
        # Every run goes start, end, start, end[, start]: each end closes the event before it.
        closing = np.flatnonzero(~S)
        opener = closing - 1
        orphan_runs = R[:0]
        last = np.empty(m, bool)
        last[-1] = True
        last[:-1] = first[1:]
        still_open = S & last
    else:
        closing, opener, orphan, still_open = _general(S, first)
        orphan_runs = R[orphan]
    ends, starts = perm[closing], perm[opener]
    open_at = perm[still_open]
    new_pool = Pool(np.concatenate([pool.run, R[still_open]]),
                    np.concatenate([pool.t, T[open_at]]),
                    np.concatenate([pool.row, W[open_at]]))
    return Matched(R[closing], T[ends] - T[starts], orphan_runs, P[ends] - (m - len(run)),
                   new_pool)


def match_simple(starts: tuple, ends: tuple, pool: Pool) -> Matched | None:
    """The common case in O(batch) without sorting, or None when it does not apply.

    ``starts`` / ``ends`` are ``(run, t, row, pos)`` of the batch's starts and ends (ends in any
    order; the pairs come out in that order).  Applies when every run of these events has at
    most one start (an open start carried in ``pool`` included) and at most one end, and each
    end comes after its run's start: then each end closes that start, with the very durations
    the general path computes.  Needs the runs to be dense (span at most a few times the count):
    it works on arrays over the span of runs, and looks at the pool only there.
    """
    rs, ts, ws, ps = starts
    re, te, pe = ends[0], ends[1], ends[3]
    if len(re) == 0 or len(rs) + len(pool) == 0:
        return None
    lo = min(int(rs.min()), int(re.min())) if len(rs) else int(re.min())
    hi = max(int(rs.max()), int(re.max())) + 1 if len(rs) else int(re.max()) + 1
    if hi - lo > 4 * (len(rs) + len(re)) + 1024:
        return None
    span = hi - lo
    rel_e, rel_s = re - lo, rs - lo
    n_end = np.bincount(rel_e, minlength=span)
    if int(n_end.max()) > 1:
        return _alternating_pairs(starts, ends, pool, lo, span)
    n_start = np.bincount(rel_s, minlength=span)
    start_t = np.empty(span)
    start_pos = np.full(span, np.iinfo(np.int64).max, np.int64)  # after every end: no start
    start_t[rel_s] = ts
    start_pos[rel_s] = ps
    kept = pool
    if len(pool):
        # Open starts carried from earlier batches, of runs with an event here: they come
        # before every event of the batch (position -1).
        inside = np.flatnonzero((pool.run >= lo) & (pool.run < hi))
        carried = inside[(n_start + n_end)[pool.run[inside] - lo] > 0]
        if len(carried):
            rel_c = pool.run[carried] - lo
            n_start += np.bincount(rel_c, minlength=span)
            start_t[rel_c] = pool.t[carried]
            start_pos[rel_c] = -1
            keep = np.ones(len(pool), bool)
            keep[carried] = False
            kept = Pool(pool.run[keep], pool.t[keep], pool.row[keep])
    if int(n_start.max()) > 1:
        return _alternating_pairs(starts, ends, pool, lo, span)
    if bool((start_pos[rel_e] > pe).any()):
        return None  # an end without start, or before it: the general path counts orphans
    open_ = n_end[rel_s] == 0
    new_pool = Pool(np.concatenate([kept.run, rs[open_]]), np.concatenate([kept.t, ts[open_]]),
                    np.concatenate([kept.row, ws[open_]]))
    return Matched(re, te - start_t[rel_e], re[:0], pe, new_pool)


MAX_PAIRS = 8  # match_simple's alternating case: at most this many starts per run and batch


def _alternating_pairs(starts: tuple, ends: tuple, pool: Pool, lo: int,
                       span: int) -> Matched | None:
    """match_simple when runs retry (several starts and ends each, at most MAX_PAIRS), or
    None: applies when every run's events go start, end, start, end[, start] (an open start
    carried in ``pool`` first).  Then the k-th end of a run closes its k-th start, exactly as
    the general path's LIFO stack does, without its sort of every event.  Ends come out in
    the order given, with their rank among their run's ends (``Matched.end_rank``)."""
    rs, ts, ws, ps = starts
    re, te, pe = ends[0], ends[1], ends[3]
    rel_s, rel_e = rs - lo, re - lo
    carried_runs = np.zeros(span, np.int64)
    kept, rel_c = pool, np.zeros(0, np.int64)
    if len(pool):
        inside = np.flatnonzero((pool.run >= lo) & (pool.run < lo + span))
        here = np.zeros(span, bool)
        here[rel_s] = True
        here[rel_e] = True
        carried = inside[here[pool.run[inside] - lo]]
        if len(carried):
            rel_c = pool.run[carried] - lo
            np.add.at(carried_runs, rel_c, 1)
            if int(carried_runs.max()) > 1:
                return None  # two open starts of one run: not alternating
            keep = np.ones(len(pool), bool)
            keep[carried] = False
            kept = Pool(pool.run[keep], pool.t[keep], pool.row[keep])
    n_start = np.bincount(rel_s, minlength=span) + carried_runs
    n_end = np.bincount(rel_e, minlength=span)
    if int(n_start.max()) > MAX_PAIRS or bool(((n_end > n_start) |
                                               (n_start > n_end + 1)).any()):
        return None
    width = int(n_start.max())
    rank_s = _ranks(rel_s, width) + carried_runs[rel_s]
    rank_e = _ranks(rel_e, width)
    # (run, rank) tables as flat arrays of ``stride`` entries per run: a 1-D gather by
    # ``rel * stride + rank`` is several times faster than indexing by two arrays.  A run's
    # slot after its last start holds "no start" (after every end), so the next start of an
    # end's run is one gather too, with no mask of the ends that have one.
    stride = width + 1
    at_s, at_e = rel_s * stride + rank_s, rel_e * stride + rank_e
    start_pos = np.full(span * stride, np.iinfo(np.int64).max, np.int64)
    start_t = np.empty(span * stride, np.float64)
    start_pos[at_s] = ps
    start_t[at_s] = ts
    if len(rel_c):
        start_pos[rel_c * stride] = -1  # carried: before every event of the batch
        start_t[rel_c * stride] = pool.t[carried]
    # Each end after its own start and before its run's next start (if any): alternating.
    if bool((start_pos[at_e] > pe).any()) or bool((start_pos[at_e + 1] < pe).any()):
        return None
    open_ = (n_start == n_end + 1)[rel_s] & (rank_s == n_start[rel_s] - 1)
    new_pool = Pool(np.concatenate([kept.run, rs[open_]]), np.concatenate([kept.t, ts[open_]]),
                    np.concatenate([kept.row, ws[open_]]))
    return Matched(re, te - start_t[at_e], re[:0], pe, new_pool, end_rank=rank_e)


def _ranks(rel: np.ndarray, width: int) -> np.ndarray:
    """Each element's occurrence number among the equal values before it (0 for the first):
    one pass per occurrence level, no sort (``width``: the most occurrences of a value).
    Level 0 (every element, most of them firsts) works on ``rel`` itself: no gathers."""
    rank = np.zeros(len(rel), np.int64)
    if len(rel) == 0:
        return rank
    scratch = np.empty(int(rel.max()) + 1, np.int64)
    pos = np.arange(len(rel))
    scratch[rel[::-1]] = pos[::-1]  # repeated indices: the last write (the first) wins
    left = np.flatnonzero(scratch[rel] != pos)  # the elements that are not firsts
    for k in range(1, width):
        if len(left) == 0:
            break
        values = rel[left]
        scratch[values[::-1]] = left[::-1]
        first = scratch[values] == left
        rank[left[first]] = k
        left = left[~first]
    return rank


def _sorted_index(key: np.ndarray, P: np.ndarray, bits: int, m: int) -> np.ndarray:
    """argsort(key) for unique keys, via a plain sort (several times faster than argsort):
    the low bits of a sorted key are a position, mapped back to the input index."""
    where = np.empty(int(P.max()) + 1, np.int64)
    where[P] = np.arange(m)
    return where[np.sort(key) & ((1 << bits) - 1)]


def _alternating(S: np.ndarray, first: np.ndarray) -> bool:
    """True when every run's events alternate start, end, ... beginning with a start."""
    bad = first & ~S
    bad[1:] |= ~first[1:] & (S[1:] == S[:-1])
    return not bad.any()


def _general(S: np.ndarray, first: np.ndarray):
    """(closing ends, their openers, orphan ends, still-open starts) of any sequence."""
    m = len(S)
    step = np.where(S, 1, -1).astype(np.int64)
    group = np.cumsum(first) - 1
    total = np.cumsum(step)
    local = total - (total - step)[first][group]
    big = 2 * (m + 1)
    prefix_min = np.minimum.accumulate(local - group * big) + group * big
    floor = np.minimum(prefix_min, 0)
    depth = local - floor  # stack depth after each event
    floor_before = np.empty(m, np.int64)
    floor_before[0] = 0
    floor_before[1:] = floor[:-1]
    floor_before[first] = 0
    is_end = ~S
    orphan = is_end & (floor < floor_before)
    closing = np.flatnonzero(is_end & ~orphan)
    opener = _openers(closing, S, first, group, depth, m)
    matched_start = np.zeros(m, bool)
    matched_start[opener] = True
    return closing, opener, orphan, S & ~matched_start


def _openers(closing: np.ndarray, S: np.ndarray, first: np.ndarray, group: np.ndarray,
             depth: np.ndarray, m: int) -> np.ndarray:
    """Position of the start each matched end (at sorted positions ``closing``) closes."""
    opener = closing - 1
    if len(closing) == 0:
        return opener
    # Fast path: the event just before, in the same run, is a start.
    hard = first[closing] | ~S[np.maximum(closing - 1, 0)]
    if not hard.any():
        return opener
    ends = closing[hard]
    starts = np.flatnonzero(S)
    levels = int(depth.max()) + 2
    # (group, depth) pairs made dense so that pair * m + position always fits in an int64.
    pairs, dense = np.unique(group[starts] * levels + depth[starts], return_inverse=True)
    key = np.sort(dense.astype(np.int64) * m + starts)
    want_pair = np.searchsorted(pairs, group[ends] * levels + depth[ends] + 1)
    opener[hard] = key[np.searchsorted(key, want_pair * m + ends) - 1] % m
    return opener
