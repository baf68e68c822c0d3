"""Worker hosts (DESIGN.md "Operator insight"): per host its testruns, errors, infrastructure
errors, error streak, last good end and health, from the (run, host) pairs of host_index.py.

Queries are one vectorised pass over the pairs of the window (O(pairs), never over events): the
counts are bincounts per (device group, host) key, and the streak needs no sort: it is the
number of error testruns that ended after the host's latest finished one, in the order of
(end time, file row of the ending event), and that latest finished one is a maximum per key.
"""

from __future__ import annotations

import numpy as np

from store.stats import phases
from store.stats.engine import C
from store.stats.frame import STATUSES
from store.stats.listing import newest_first

HEALTH_ORDER = ("bad", "suspect", "good")
BAD_STREAK = 3  # DESIGN: bad if streak >= 3
SUSPECT_ERRORS = 3  # DESIGN: suspect if errors >= 3 and error_pct >= 2 x the SUMMARY's
RUNNING_SHOWN = 3  # ongoing testruns named per host by StatsEngine.hosts


class Pairs:
    """The (run, host) pairs of a query's window with what the host figures need per pair."""

    def __init__(self, f) -> None:
        st = f.st
        log = st.hosts.pairs
        run = log["run"]
        keep = f.mask[run]
        self.run = run = run[keep].astype(np.intp)
        self.host = log["host"][keep].astype(np.int64)
        self.group = f.gidx[run]
        self.status = status = f.status[run]
        r = st.runs
        is_error = status == 3
        self.end_t = np.where(is_error, r.error[run], r.publish[run])
        self.end_row = np.where(is_error, r.error_row[run], r.publish_row[run])
        tested = r.test_start_row[run]
        self.infra = is_error & ~((tested >= 0) & (tested < r.error_row[run]))


def totals(key: np.ndarray, k: int, p: Pairs) -> dict[str, np.ndarray]:
    """Per key in [0, k) (each pair's key in ``key``): testruns, ongoing, finished, errors,
    infra_errors, streak and last_ok (NaN without a finished testrun)."""
    by_status = np.bincount(key * 4 + p.status, minlength=4 * k).reshape(k, 4)
    finished = p.status == 2
    kf, tf, rf = key[finished], p.end_t[finished], p.end_row[finished]
    last_t = np.full(k, -np.inf)
    np.maximum.at(last_t, kf, tf)
    tie = tf == last_t[kf]
    last_row = np.full(k, -1, np.int64)
    np.maximum.at(last_row, kf[tie], rf[tie])
    error = p.status == 3
    ke, te = key[error], p.end_t[error]
    lt = last_t[ke]
    later = (te > lt) | ((te == lt) & (p.end_row[error] > last_row[ke]))
    return {
        "testruns": by_status.sum(axis=1),
        "ongoing": by_status[:, 1],
        "finished": by_status[:, 2],
        "errors": by_status[:, 3],
        "infra_errors": np.bincount(key[p.infra], minlength=k),
        "streak": np.bincount(ke[later], minlength=k),
        "last_ok": np.where(by_status[:, 2] > 0, last_t, np.nan),
    }


def health(streak: int, finished: int, errors: int, all_finished: int, all_errors: int) -> str:
    """DESIGN's health of a host in a SUMMARY of ``all_finished`` / ``all_errors`` ended
    testruns.  error_pct >= 2 x the SUMMARY's is compared exactly, in integers:
    errors / (finished + errors) >= 2 x all_errors / (all_finished + all_errors).  Its null
    cases cannot arise: errors >= 3 means the host, and so its SUMMARY, has ended testruns."""
    if streak >= BAD_STREAK:
        return "bad"
    if errors >= SUSPECT_ERRORS and \
            errors * (all_finished + all_errors) >= 2 * all_errors * (finished + errors):
        return "suspect"
    return "good"


def _row(t: dict, i: int, ended: tuple[int, int]) -> dict:
    """One host's JSON entry from its totals at index ``i``."""
    finished, errors, streak = int(t["finished"][i]), int(t["errors"][i]), int(t["streak"][i])
    last_ok = float(t["last_ok"][i])
    return {
        "testruns": int(t["testruns"][i]),
        "ongoing": int(t["ongoing"][i]),
        "finished": finished,
        "errors": errors,
        "error_pct": 100.0 * errors / (finished + errors) if finished + errors else None,
        "infra_errors": int(t["infra_errors"][i]),
        "streak": streak,
        "last_ok": None if np.isnan(last_ok) else last_ok,
        "health": health(streak, finished, errors, *ended),
    }


def name_ranks(names: list[str]) -> np.ndarray:
    """Each host id's position in the hosts sorted by name."""
    rank = np.empty(len(names), np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    return rank


def group_hosts(f, ended: list[tuple[int, int]],
                whole: tuple[int, int] | None) -> tuple[list[dict], dict | None]:
    """SUMMARY "hosts" of every group of the frame (``ended[g]`` = its finished and errors)
    and, with ``whole`` (the same of all groups), of all of them: ``{HOST: {...}}`` sorted
    by host name."""
    p = Pairs(f)
    names = f.st.hosts.names
    rank = name_ranks(names)
    host_at = np.argsort(rank)  # the host id of each rank
    nh = len(names)
    per_group: list[dict] = [{} for _ in f.group_names]
    # Keys ordered by (group, host name): each group's hosts come out in name order.
    present, inverse = _compact(p.group * nh + rank[p.host], len(per_group) * nh)
    t = totals(inverse, len(present), p)
    for i, k in enumerate(present.tolist()):
        g, r = divmod(k, nh)
        per_group[g][names[host_at[r]]] = _row(t, i, ended[g])
    if whole is None:
        return per_group, None
    present, inverse = _compact(rank[p.host], nh)
    t = totals(inverse, len(present), p)
    return per_group, {names[host_at[r]]: _row(t, i, whole)
                       for i, r in enumerate(present.tolist())}


def _compact(key: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct keys present, sorted; each pair's index among them)."""
    if width <= 4 * len(key) + 65536:  # small key space: a table, no sort
        used = np.bincount(key, minlength=width) > 0
        present = np.flatnonzero(used)
        index = np.cumsum(used) - 1
        return present, index[key]
    return np.unique(key, return_inverse=True)


def host_rows(f) -> list[dict]:
    """StatsEngine.hosts: one row per host of the frame's testruns, worst first."""
    p = Pairs(f)
    st = f.st
    names = st.hosts.names
    ended_runs = f.status[f.mask]
    ended = (int(np.count_nonzero(ended_runs == 2)), int(np.count_nonzero(ended_runs == 3)))
    present, inverse = _compact(p.host, len(names))
    t = totals(inverse, len(present), p)
    running = _running(f, p)
    rows = []
    for i, host in enumerate(present.tolist()):
        row = {"host": names[host], **_row(t, i, ended)}
        row["running"] = running.get(host, [])
        rows.append(row)
    rows.sort(key=lambda row: (HEALTH_ORDER.index(row["health"]), row["error_pct"] is None,
                               -(row["error_pct"] or 0.0), row["host"]))
    return rows


def _running(f, p: Pairs) -> dict[int, list[dict]]:
    """Up to RUNNING_SHOWN ongoing testruns per host id, newest first (request time, then
    run index)."""
    at = np.flatnonzero(p.status == 1)
    if len(at) == 0:
        return {}
    run, host = p.run[at], p.host[at]
    order = np.lexsort((-run, -f.st.runs.request[run], host))  # NaN request: last
    run, host = run[order], host[order]
    names, since = phases.current(f.st, run)
    ids = f.st.ids.get(run)
    out: dict[int, list[dict]] = {}
    for i, h in enumerate(host.tolist()):
        shown = out.setdefault(h, [])
        if len(shown) < RUNNING_SHOWN:
            shown.append({"run": int(run[i]), "testrun_id": ids[i], "phase": names[i],
                          "phase_since": None if np.isnan(since[i]) else float(since[i])})
    return out


def host_testruns(f, host: str, limit: int | None) -> list[dict]:
    """StatsEngine.host_testruns: the latest testruns of one host in the frame."""
    st = f.st
    host_id = st.hosts.id_of(host)
    if host_id is None:
        return []
    log = st.hosts.pairs
    runs = log["run"][log["host"] == host_id].astype(np.intp)
    runs = newest_first(f, runs[f.mask[runs]], limit)
    r = st.runs
    is_error = f.status[runs] == 3
    end = np.where(is_error, r.error[runs], r.publish[runs])
    tested = r.test_start_row[runs]
    infra = is_error & ~((tested >= 0) & (tested < r.error_row[runs]))
    ids = st.ids.get(runs)
    out = []
    for i, run in enumerate(runs.tolist()):
        message = r.error_msg[run]
        out.append({
            "run": run,
            "testrun_id": ids[i],
            "device_group": f.group_names[f.gidx[run]],
            "status": STATUSES[f.status[run]],
            "phase": reached(st, run),
            "error": st.strings[message] if 0 <= message < len(st.strings) else None,
            "request": _num(r.request[run]),
            "end": _num(end[i]),
            "infra": bool(infra[i]),
        })
    return out


_REACHED = (("publish", ("test_end", "publish")), ("test", ("test_start",)),
            ("boot", ("boot_start", "boot_end")), ("flash", ("flash_start", "flash_end")),
            ("queue", ("queue_start", "queue_end")), ("init", ("request",)))
"""The furthest phase a testrun reached: the latest of these with an event of it (a test_end
opens the publish phase, as in DESIGN's overdue rule)."""


def reached(st, run: int) -> str | None:
    counts = st.runs.counts
    for phase, names in _REACHED:
        if any(counts[C[name], run] for name in names):
            return phase
    return None


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
