"""Per-testrun listings: testruns of a status, time-and-motion rows, raw duration samples."""

from __future__ import annotations

import json

import numpy as np

from store.stats import overdue as od
from store.stats import phases
from store.stats.engine import EngineState
from store.stats.frame import STATUSES, Frame

ORDERS = ("newest", "overdue")


def newest_first(f: Frame, runs: np.ndarray, k: int | None) -> np.ndarray:
    """The ``k`` newest of ``runs`` by request time (first event if never requested), newest
    first, ties by run index descending; O(len(runs)) when k is small."""
    r = f.st.runs
    key = r.request[runs].copy()
    missing = np.isnan(key)
    key[missing] = r.first_t[runs[missing]]
    if k is not None and k < len(runs):
        threshold = -np.partition(-key, k - 1)[k - 1]
        take = key >= threshold  # every tie at the threshold, then the exact order below
        runs, key = runs[take], key[take]
    order = np.lexsort((-runs, -key))
    return runs[order] if k is None else runs[order[:k]]


def testruns(f: Frame, status: str, offset: int, limit: int | None, p95: od.P95Table,
             order: str = "newest") -> list[dict]:
    """Testruns of one status in the window, as dicts (see StatsEngine.testruns)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    code = STATUSES.index(status)
    runs = np.flatnonzero(f.mask & (f.status == code))
    k = None if limit is None else offset + limit
    if order == "overdue" and code <= 1:  # only queued and ongoing testruns are judged
        a = od.assess(f, runs, lambda g, phase: p95.lookup(f, g, phase))
        late = od.most_overdue_first(runs, a["ratio"])
        rest = runs[np.isnan(a["ratio"])]
        more = None if k is None else max(0, k - len(late))
        chosen = np.concatenate([runs[late], newest_first(f, rest, more)])[offset:k]
    else:
        chosen = newest_first(f, runs, k)[offset:]
    return describe_runs(f, chosen, p95)


def overdue(f: Frame, p95: od.P95Table) -> list[dict]:
    """The window's overdue testruns, most overdue first, with their device group."""
    live = np.flatnonzero(f.mask & (f.status <= 1))
    return od.overdue_list(f, live, lambda g, phase: p95.lookup(f, g, phase),
                           with_group=True)


def describe_runs(f: Frame, runs: np.ndarray, p95: od.P95Table) -> list[dict]:
    """One dict per run: ids, attributes, status, current phase and times, overdue."""
    st, r, now = f.st, f.st.runs, f.now
    names, since = phases.current(st, runs)
    ids = st.ids.get(runs)
    waited_from = phases.waiting_since(st, runs)
    judged = od.assess(f, runs, lambda g, phase: p95.lookup(f, g, phase))
    out = []
    for i, run in enumerate(runs.tolist()):
        status = STATUSES[f.status[run]]
        start = r.request[run] if not np.isnan(r.request[run]) else r.first_t[run]
        queue = r.queue_end[run] - r.queue_start[run]
        out.append({
            "run": run,
            "testrun_id": ids[i],
            "device_group": _string(st, st.slot_sids[r.slot[run]]),
            "requestor": _string(st, r.requestor[run], None),
            "hosts": _hosts(_string(st, r.hosts[run], None)),
            "phase": names[i],
            "phase_since": _num(since[i]),
            "age": _num(now - start),
            "waited": _num(now - waited_from[i] if status == "queued" else queue),
            "status": status,
            "error": _string(st, r.error_msg[run], None),
            **od.fields(judged, i),
        })
    return out


def segments(f: Frame, offset: int = 0, limit: int = 20) -> dict:
    """Rows of the time-and-motion chart for the window, newest testruns first."""
    runs = np.flatnonzero(f.mask)
    chosen = newest_first(f, runs, offset + limit)[offset:]
    matrix, running = phases.segments(f.st, chosen, f.status[chosen], f.now)
    return {
        "total": len(runs),
        "runs": chosen.tolist(),
        "testrun_ids": f.st.ids.get(chosen),
        "matrix": matrix,
        "running": running,
        "status": [STATUSES[s] for s in f.status[chosen].tolist()],
    }


def samples(f: Frame, phase: str, ordered: bool = True) -> np.ndarray:
    """The non-negative durations (s) of one phase over the window, sorted (``ordered``), else
    in the frame's order (the same for the same state: a histogram needs no sort)."""
    values = f.samples(phase)
    kept = values[values >= 0]
    if ordered:
        kept.sort()
    return kept


def _string(st: EngineState, sid: int, default: str | None = "") -> str | None:
    return st.strings[sid] if 0 <= sid < len(st.strings) else default


def _hosts(text: str | None):
    """The hosts attribute as a list when it is JSON text, else the text as it is."""
    if not text:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
