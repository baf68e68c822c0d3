"""DESIGN.md's SUMMARY of a set of runs, for every device group and for all of them.

Extensions beyond DESIGN.md's keys (documented in store/stats/__init__.py):
``oldest_queued_wait``, ``phases``, ``anomalies``, ``delivery_delay``.  The operator-insight
keys ("hosts", "overdue", "trend") come from hosts.py, overdue.py and trend.py.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from store.stats import phases as phase_mod
from store.stats.buckets import cumulative_counts
from store.stats.describe import describe, describe_histogram, empty, order_statistics
from store.stats.engine import N_KNOWN, C, EngineState
from store.stats.failures import Labels
from store.stats.frame import Frame
from store.stats.hosts import group_hosts
from store.stats.names import DURATIONS, ITERATED, PER_RUN
from store.stats.overdue import JUDGED, overdue_list, p95_row
from store.stats.trend import trends
from store.stats.why import add_why, why_figures

_START = {p: C[f"{p}_start"] for p in ITERATED}
THREAD_RUNS = 300_000  # from this many runs the sample statistics are computed in two threads


def summary(st: EngineState, since: float | None, group: str | None, now: float,
            delivery_delay: bool = True, trend: str | None = None, hosts: bool = True,
            labels: Labels | None = None, buckets: np.ndarray | None = None) -> dict:
    """{"groups": {GROUP: SUMMARY}, "all": SUMMARY} for runs requested since ``since``.

    ``delivery_delay=False`` leaves that key out and skips its cost (one sample per event,
    most of the work on a large file); ``hosts=False`` the same for "hosts" (a pass over the
    runs and the (run, host) pairs).  ``trend`` ("hour" or "day") adds "trend" rows (first:
    a span too long for them raises trend.TrendTooLong before any other work).  Always:
    "hosts_total", "hosts_busy", "starved" (and "starved_groups" in "all"); with ``labels``
    (failures.Labels: the config's rules) "failures" too (why.py).  With ``buckets``
    (ascending bounds, seconds) also "duration_buckets": {GROUP: {DURATION: [samples <= each
    bound]}}, buckets.duration_buckets' figures counted by the jobs that have the samples
    at hand (the metrics: no second pass over them).
    """
    f = Frame(st, since, group, now)
    with_all = group is None
    trend_rows = trends(f, trend, True, with_all) if trend is not None else None
    order, bounds = f.grouped()
    ng = len(f.group_names)
    runs_of = [order[bounds[g] : bounds[g + 1]] for g in range(ng)]
    logged = [_logged_samples(f, g, delivery_delay) for g in range(ng)]
    # The statistics of the samples (durations, delivery delays) and the "why" figures are
    # most of the work, and each needs only the frame: on a large state two threads do them
    # as jobs (each sample kind one job for every group and "all": the union
    # of the groups, the window's runs being exactly the grouped ones) while this thread
    # builds the rest (numpy's sorts, gathers and reductions release the GIL; the results do
    # not depend on the threads).
    keys = [("d", name) for name in DURATIONS] + sorted(
        {key for part in logged for key in part if key[0] == "delay" and delivery_delay},
        key=str)
    pool = ThreadPoolExecutor(max_workers=2) if f.n >= THREAD_RUNS else None

    def submit(job, *args):
        return _Done(job(*args)) if pool is None else pool.submit(job, *args)

    try:
        # Largest first, so that the two threads finish together: the failures and hosts
        # (several passes over the runs and their hosts), then the samples by size.
        why = submit(why_figures, f, labels, hosts, with_all)
        by_size = sorted(keys, key=lambda k: -_sample_count(f, logged, k))
        jobs = {key: submit(_describe_key, key, _samples_of(f, logged, key), with_all,
                            buckets if key[0] == "d" else None)
                for key in by_size}
        counted = _count_columns(f, runs_of)
        parts = [_summarize(f, runs_of[g], logged[g], delivery_delay, counted[g])
                 for g in range(ng)]
        if with_all:
            merged = _merge_counts(counted, st.runs.counts.shape[0])
            whole = _summarize(f, np.flatnonzero(f.mask), Merged(logged), delivery_delay, merged)
        described = {key: job.result() for key, job in jobs.items()}
        why_done = why.result()
    finally:
        if pool is not None:
            pool.shutdown()
    logged.clear()  # views of the frame's samples: let them go with its copies
    f.release_samples()  # before the hosts' arrays (what remains needs no sample)
    # The hosts' table last, alone: its arrays (~40 MB at a million testruns) beside the
    # jobs' would raise the command's peak memory.
    hosts_done = group_hosts(f, [_ended(part) for part in parts],
                             _ended(whole) if with_all else None) if hosts else None
    for g, part in enumerate(parts):
        _fill_statistics(part, {key: d[0][g] for key, d in described.items()}, delivery_delay)
    if with_all:
        _fill_statistics(whole, {key: d[1] for key, d in described.items()}, delivery_delay)
    _insight(f, parts, whole if with_all else None, trend_rows, hosts_done)
    add_why(f, parts, whole if with_all else None, why_done)
    groups = dict(zip(f.group_names, parts, strict=True))
    out = {"groups": groups, "all": whole if with_all else groups[group]}
    if buckets is not None:
        out["duration_buckets"] = {name: {d: described[("d", d)][2][g] for d in DURATIONS}
                                   for g, name in enumerate(f.group_names)}
    return out


def _ended(s: dict) -> tuple[int, int]:
    """A SUMMARY's finished and error testruns (what its hosts' health is judged against)."""
    return s["finished"], s["errors"]


def _insight(f: Frame, parts: list[dict], whole: dict | None, trend_rows,
             host_figures: tuple[list[dict], dict | None] | None) -> None:
    """Add "overdue" and (with ``host_figures``, from hosts.group_hosts) "hosts" and (with
    ``trend_rows``) "trend" to every SUMMARY."""
    table = np.full((len(parts), len(JUDGED)), np.nan)
    for g, part in enumerate(parts):
        table[g] = p95_row(part["durations"])

    def p95_of(groups: np.ndarray, phases: np.ndarray) -> np.ndarray:
        return table[groups, phases]

    live = np.flatnonzero(f.mask & (f.status <= 1))
    live_group = f.gidx[live]
    for g, part in enumerate(parts):
        if host_figures is not None:
            part["hosts"] = host_figures[0][g]
        part["overdue"] = overdue_list(f, live[live_group == g], p95_of)
        if trend_rows is not None:
            part["trend"] = trend_rows[0][g]
    if whole is not None:
        if host_figures is not None:
            whole["hosts"] = host_figures[1]
        whole["overdue"] = overdue_list(f, live, p95_of)
        if trend_rows is not None:
            whole["trend"] = trend_rows[1]


class _Done:
    """A finished job (what Future.result() gives, without a thread)."""

    def __init__(self, value) -> None:
        self._value = value

    def result(self):
        return self._value


def _describe_key(key: tuple, samples, with_all: bool,
                  bounds: np.ndarray | None = None) -> tuple[list, tuple | None, list | None]:
    """Statistics of one kind of sample in every group and, with ``with_all``, in their
    union: ``([(stats, negatives) per group], (stats, negatives) of all, [bucket counts per
    group] with ``bounds`` else None)``.  ``samples()``
    gives every group's samples, one group after the other in one new array, and the groups'
    lengths (see _samples_of).

    Durations below zero (clock skew) are left out and counted.  That array (the union, each
    group's a slice of it) is all the memory this takes: each group's slice is
    partitioned in place after its mean and std, then the union's min, max and percentiles
    come from partitioning it whole; its mean and std are merged from the groups' (as
    accurate, and no third pass).
    """
    union, lengths = samples()
    negatives = [0] * len(lengths)
    if key[0] == "d":
        below = union < 0
        if below.any():  # clock skew: counted per group, and left out
            ends = np.cumsum(lengths)
            before = np.concatenate([[0], np.cumsum(below)])
            negatives = np.diff(before[np.concatenate([[0], ends])]).tolist()
            union = union[~below]
            lengths = [n - k for n, k in zip(lengths, negatives, strict=True)]
    ends = np.cumsum(lengths).tolist()
    stats = [describe(union[end - n : end], owned=True)
             for n, end in zip(lengths, ends, strict=True)]
    per_group = list(zip(stats, negatives, strict=True))
    # Before the union is partitioned: each group's values are still in its own slice.
    counted = None if bounds is None else \
        [cumulative_counts(union[end - n : end], bounds) for n, end in zip(lengths, ends,
                                                                          strict=True)]
    if not with_all:
        return per_group, None, counted
    if len(union) == 0:
        return per_group, (empty(), sum(negatives)), counted
    low, p50, p95, high = order_statistics(union, in_place=True)
    mean, std = _merged_moments([d for d in stats if d["n"]])
    return per_group, ({"n": len(union), "min": low, "max": high, "mean": mean, "std": std,
                        "p50": p50, "p95": p95}, sum(negatives)), counted


def _merged_moments(stats: list[dict]) -> tuple[float, float]:
    """Mean and std of the union of samples from their own n, mean and std (Chan, Golub and
    LeVeque's pairwise update, around the first mean so large values lose nothing)."""
    if len(stats) == 1:
        return stats[0]["mean"], stats[0]["std"]
    shift = stats[0]["mean"]
    count, mean, m2 = 0, 0.0, 0.0
    for d in stats:
        n, mu = d["n"], d["mean"] - shift
        total = count + n
        delta = mu - mean
        mean += delta * n / total
        m2 += d["std"] ** 2 * n + delta * delta * count * n / total
        count = total
    return shift + mean, math.sqrt(m2 / count)


def _fill_statistics(out: dict, stats: dict, delivery_delay: bool) -> None:
    """Put one summary's sample statistics (from _describe_key) in place."""
    out["durations"] = {name: stats[("d", name)][0] if ("d", name) in stats else empty()
                        for name in DURATIONS}
    out["anomalies"]["negative_durations"] = sum(stats[key][1] for key in stats
                                                 if key[0] == "d")
    if delivery_delay:
        out["delivery_delay"] = {name: stats[("delay", code)][0]
                                 for name, code in out.pop("_delay_names")}
    else:
        out.pop("_delay_names")


class Merged:
    """The samples of all groups, key by key (only their lengths are asked for)."""

    def __init__(self, parts: list[dict]) -> None:
        self._parts = parts

    def keys(self) -> list:
        return sorted({key for part in self._parts for key in part}, key=str)

    def length(self, key) -> int:
        return sum(len(part[key]) for part in self._parts if key in part)


def _logged_samples(f: Frame, g: int, delivery_delay: bool) -> dict:
    """The logged samples of group index ``g`` (views of the engine's logs, or one
    concatenation of its slots'): ("d", PHASE) of the iterated phases, ("delay", CODE) of the
    delivery delays.  Unknown names always: their delay logs are also where their events are
    counted.  (The per-run durations are made by their job: _samples_of.)"""
    out = {("d", name): f.samples(name, g) for name in ITERATED}
    slots = f.slots(g)
    codes = sorted({code for slot, code in f.st.delays
                    if slot in slots and (delivery_delay or code >= N_KNOWN)})
    for code in codes:
        values = f.logged(f.st.delays, slots, code, "delay")
        if len(values):
            out[("delay", code)] = values
    return out


def _samples_of(f: Frame, logged: list[dict], key: tuple):
    """A job's samples of ``key``, made when it asks (in its thread): (every group's one
    after the other in a new array, the groups' lengths).  A per-run duration's come grouped
    as they are made (Frame.grouped_samples: no second copy); logged ones are copied out of
    the logs (which must keep their order)."""
    if key[0] == "d" and key[1] in PER_RUN:
        def made() -> tuple[np.ndarray, list[int]]:
            values, starts = f.grouped_samples(key[1])
            return values, np.diff(starts).tolist()
        return made
    parts = [part.get(key, _EMPTY) for part in logged]
    return lambda: (np.concatenate(parts) if parts else _EMPTY.copy(),
                    [len(p) for p in parts])


def _sample_count(f: Frame, logged: list[dict], key: tuple) -> int:
    """How many samples ``key`` has (a per-run duration: at most one per window run)."""
    if key[0] == "d" and key[1] in PER_RUN:
        return int(np.count_nonzero(f.mask))
    return sum(len(part.get(key, _EMPTY)) for part in logged)


_EMPTY = np.empty(0)


def _summarize(f: Frame, runs: np.ndarray, values, delivery_delay: bool,
               counted: tuple[np.ndarray, dict, int]) -> dict:
    """One SUMMARY without its sample statistics (``durations``, ``delivery_delay`` and the
    negative durations: _fill_statistics puts them in)."""
    st = f.st
    status = f.status[runs]
    per_status = np.bincount(status, minlength=4)
    queued, ongoing = runs[status == 0], runs[status == 1]
    finished, errors = int(per_status[2]), int(per_status[3])
    counts, starts, unrequested = counted
    delay_codes = sorted(code for kind, code in values.keys() if kind == "delay")
    return {
        "testruns": len(runs),
        "queued": len(queued),
        "ongoing": len(ongoing),
        "finished": finished,
        "errors": errors,
        "error_pct": 100.0 * errors / (finished + errors) if finished + errors else None,
        "queued_ids": st.ids.get(queued),
        "ongoing_ids": st.ids.get(ongoing),
        "requestors": _requestors(st, runs, status == 3),
        "event_counts": _event_counts(st, counts, {
            code: _length(values, ("delay", code)) for code in delay_codes if code >= N_KNOWN}),
        "durations": None,
        "iterations": {p: describe_histogram(starts[p]) for p in ITERATED},
        "oldest_queued_wait": _oldest_wait(f, queued),
        "phases": phase_mod.phase_counts(st, np.concatenate([queued, ongoing])),
        "anomalies": {
            "unknown_events": int(counts[N_KNOWN]),
            "ends_without_start": int(st.runs.orphans[runs].sum()),
            "negative_durations": 0,
            "unrequested_events": unrequested,
        },
        "_delay_names": [(_name(st, c), c) for c in delay_codes],
    }


def _count_columns(f: Frame, runs_of: list[np.ndarray]) -> list[tuple[np.ndarray, dict, int]]:
    """Per group: event counts per code column, histograms of start counts per phase (runs
    with none left out), and the events of testruns never requested."""
    st, n, ngroups = f.st, f.n, len(f.group_names)
    counts = st.runs.counts
    width = counts.shape[0]
    if f.filtered:  # a time window: only the window's runs count
        g1 = f.gidx + 1
        totals = np.stack([np.bincount(g1, weights=counts[c, :n], minlength=ngroups + 1)
                           for c in range(width)], axis=1)[1:].astype(np.int64)
    else:  # every run of a group counts: the engine's totals per device group slot
        totals = _slot_totals(st, f.slot_group, ngroups, width)
    hists = []
    for p in ITERATED:
        starts = counts[_START[p], :n]
        hists.append([np.bincount(starts[runs]) for runs in runs_of])
    for per_group in hists:
        for h in per_group:
            h[:1] = 0  # runs without a start have no iterations
    lone = np.flatnonzero(np.isnan(st.runs.request[:n]) & f.mask)
    unrequested = np.bincount(f.gidx[lone], weights=counts[:, lone].sum(axis=0),
                              minlength=ngroups).astype(np.int64)
    return [(totals[g], {p: hists[k][g] for k, p in enumerate(ITERATED)}, int(unrequested[g]))
            for g in range(ngroups)]


def _slot_totals(st: EngineState, slot_group: np.ndarray, ngroups: int,
                 width: int) -> np.ndarray:
    """Events per (group, code column) from the engine's per-(code, slot) counts."""
    per_code = st.slot_counts
    per_slot = np.zeros((per_code.shape[1], width), np.int64)
    for code in range(per_code.shape[0]):
        per_slot[:, min(code, width - 1)] += per_code[code]  # unknown names share a column
    totals = np.zeros((ngroups, width), np.int64)
    for slot, g in enumerate(slot_group[: per_code.shape[1]].tolist()):
        if g >= 0:
            totals[g] += per_slot[slot]
    return totals


def _merge_counts(parts: list, width: int) -> tuple[np.ndarray, dict, int]:
    """The sum of several _count_columns results (disjoint sets of runs)."""
    counts = np.zeros(width, np.int64)
    hists = {p: np.zeros(1, np.int64) for p in ITERATED}
    for part_counts, part_hists, _ in parts:
        counts += part_counts
        for p in ITERATED:
            h = part_hists[p]
            if len(h) > len(hists[p]):
                h, hists[p] = hists[p], h.copy()
            hists[p][: len(h)] += h
    return counts, hists, sum(part[2] for part in parts)


def _length(values, key) -> int:
    return values.length(key) if isinstance(values, Merged) else len(values.get(key, ()))


def _name(st: EngineState, code: int) -> str:
    return st.names[code] if code < len(st.names) else f"#{code}"


def _event_counts(st: EngineState, counts: np.ndarray, unknown: dict[int, int]) -> dict:
    """Known names always (0 included), then each unknown name seen in the window."""
    out = {_name(st, c): int(counts[c]) for c in range(N_KNOWN)}
    for c, n in sorted(unknown.items()):
        if n:
            name = _name(st, c)
            out[name] = out.get(name, 0) + n
    return out


def _requestors(st: EngineState, runs: np.ndarray, is_error: np.ndarray) -> list[dict]:
    """Requestors ranked by testruns requested (descending, then name), with their errors."""
    rid = st.runs.requestor[runs]
    has = rid >= 0
    if not has.any():
        return []
    # Integer counts straight from two bincounts (no int64 copy, no float weights).
    requests = np.bincount(rid[has])
    errs = np.bincount(rid[has & is_error], minlength=len(requests))
    merged: dict[str, list[int]] = {}
    for i in np.flatnonzero(requests).tolist():
        name = st.strings[i] if i < len(st.strings) else ""
        slot = merged.setdefault(name, [0, 0])
        slot[0] += int(requests[i])
        slot[1] += int(errs[i])
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return [{"requestor": name, "requests": n, "errors": e} for name, (n, e) in ranked]


def _oldest_wait(f: Frame, queued: np.ndarray) -> float | None:
    """Longest time a queued testrun has been waiting (since its queue_start, else request)."""
    if len(queued) == 0:
        return None
    since = phase_mod.waiting_since(f.st, queued)
    return float(np.max(f.now - since))
