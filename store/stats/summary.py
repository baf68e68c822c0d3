"""DESIGN.md's SUMMARY of a set of runs, for every device group and for all of them.

Extensions beyond DESIGN.md's keys (documented in store/stats/__init__.py):
``oldest_queued_wait``, ``phases``, ``anomalies``, ``delivery_delay``.
"""

from __future__ import annotations

import numpy as np

from store.stats import phases as phase_mod
from store.stats.describe import describe, describe_histogram
from store.stats.engine import C, N_KNOWN, PHASES, EngineState
from store.stats.frame import DURATIONS, Frame, split

_START = {p: C[f"{p}_start"] for p in PHASES}


def summary(st: EngineState, since: float | None, group: str | None, now: float,
            delivery_delay: bool = True) -> dict:
    """{"groups": {GROUP: SUMMARY}, "all": SUMMARY} for runs requested since ``since``.

    ``delivery_delay=False`` leaves that key out and skips its cost (one sample per event,
    most of the work on a large file).
    """
    f = Frame(st, since, group, now)
    per_run = {name: f.per_run_duration(name) for name in DURATIONS if name not in PHASES}
    runs_of = split(f.gidx, len(f.group_names))
    values = [_sorted_values(f, f.slots(g), runs_of[g], per_run, delivery_delay)
              for g in range(len(f.group_names))]
    groups = {name: _summarize(f, runs_of[g], values[g], delivery_delay)
              for g, name in enumerate(f.group_names)}
    if group is not None:
        return {"groups": groups, "all": groups[group]}
    merged = {}
    for v in values:
        for key, arr in v.items():
            merged.setdefault(key, []).append(arr)
    # "all" = the groups' samples one after the other, in group order: a canonical order.
    merged = {key: np.concatenate(parts) for key, parts in merged.items()}
    return {"groups": groups,
            "all": _summarize(f, np.flatnonzero(f.mask), merged, delivery_delay)}


def _sorted_values(f: Frame, slots: list[int], runs: np.ndarray, per_run: dict,
                   delivery_delay: bool) -> dict:
    """Samples of one group: ("d", DURATION) incl. negatives, ("delay", CODE)."""
    out = {}
    for name in DURATIONS:
        if name in PHASES:
            values = f.logged(f.st.samples, slots, name, "duration")
        else:
            values = per_run[name][runs]
            values = values[~np.isnan(values)]
        out[("d", name)] = values
    # Unknown names always: their delay logs are also where their events are counted.
    codes = sorted({code for slot, code in f.st.delays
                    if slot in slots and (delivery_delay or code >= N_KNOWN)})
    for code in codes:
        values = f.logged(f.st.delays, slots, code, "delay")
        if len(values):
            out[("delay", code)] = values
    return out


def _summarize(f: Frame, runs: np.ndarray, values: dict, delivery_delay: bool) -> dict:
    st = f.st
    status = f.status[runs]
    per_status = np.bincount(status, minlength=4)
    queued, ongoing = runs[status == 0], runs[status == 1]
    finished, errors = int(per_status[2]), int(per_status[3])
    negative = 0
    durations = {}
    for name in DURATIONS:
        v = values.get(("d", name), np.empty(0))
        skewed = v < 0  # negative durations: clock skew, left out of the statistics
        n_skewed = int(np.count_nonzero(skewed))
        negative += n_skewed
        durations[name] = describe(v[~skewed] if n_skewed else v)
    per_run = st.runs.counts[runs]  # one gather of the (runs, codes) counts
    counts = per_run.sum(axis=0, dtype=np.int64)
    delays = {code: v for (kind, code), v in values.items() if kind == "delay"}
    unrequested = np.isnan(st.runs.request[runs])
    out = {
        "testruns": len(runs),
        "queued": len(queued),
        "ongoing": len(ongoing),
        "finished": finished,
        "errors": errors,
        "error_pct": 100.0 * errors / (finished + errors) if finished + errors else None,
        "queued_ids": st.ids.get(queued),
        "ongoing_ids": st.ids.get(ongoing),
        "requestors": _requestors(st, runs, status == 3),
        "event_counts": _event_counts(st, counts, delays),
        "durations": durations,
        "iterations": {p: _iterations(per_run[:, _START[p]]) for p in PHASES},
        "oldest_queued_wait": _oldest_wait(f, queued),
        "phases": phase_mod.phase_counts(st, np.concatenate([queued, ongoing])),
        "anomalies": {
            "unknown_events": int(counts[N_KNOWN]),
            "ends_without_start": int(st.runs.orphans[runs].sum()),
            "negative_durations": negative,
            "unrequested_events": int(per_run[unrequested].sum()),
        },
    }
    if delivery_delay:
        out["delivery_delay"] = {_name(st, c): describe(v) for c, v in sorted(delays.items())}
    return out


def _iterations(starts: np.ndarray) -> dict:
    """Statistics of the start counts of the runs with at least one."""
    hist = np.bincount(starts)
    hist[:1] = 0
    return describe_histogram(hist)


def _name(st: EngineState, code: int) -> str:
    return st.names[code] if code < len(st.names) else f"#{code}"


def _event_counts(st: EngineState, counts: np.ndarray, delays: dict) -> dict:
    out = {_name(st, c): int(counts[c]) for c in range(N_KNOWN)}
    for c in sorted(delays):
        if c >= N_KNOWN and len(delays[c]):
            name = _name(st, c)
            out[name] = out.get(name, 0) + len(delays[c])
    return out


def _requestors(st: EngineState, runs: np.ndarray, is_error: np.ndarray) -> list[dict]:
    """Requestors ranked by testruns requested (descending, then name), with their errors."""
    rid = st.runs.requestor[runs].astype(np.int64)
    has = rid >= 0
    if not has.any():
        return []
    rid, err = rid[has], is_error[has]
    requests = np.bincount(rid)
    errs = np.bincount(rid, weights=err.astype(np.float64), minlength=len(requests))
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
