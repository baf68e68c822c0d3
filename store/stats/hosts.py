"""Worker hosts (DESIGN.md "Operator insight"): per host its testruns, errors, infrastructure
errors, error streak, last good end and health, from the (run, host) pairs of host_index.py.

Cost: a few vectorised passes over the runs and the pairs per query (O(runs + pairs), never
over events), the same for one group or all: each run's device group (or "outside the window")
and class (status, infrastructure error) make one key per pair with its host, and one bincount
of those keys gives every count of every (group, host); "all" adds the groups up.  The streak
needs no sort: it is the number of error testruns that ended after the host's latest finished
one in the order of (end time, file row of the ending event), and that latest finished one is
a maximum per key (ufunc.at), ties between end times settled by file row on the few tied pairs.
"""

from __future__ import annotations

import numpy as np

from store.stats import phases
from store.stats.capacity import Occupancy
from store.stats.engine import C
from store.stats.frame import STATUSES
from store.stats.listing import _num, _string, newest_first

HEALTH_ORDER = ("bad", "suspect", "good")
BAD_STREAK = 3  # DESIGN: bad if streak >= 3
SUSPECT_ERRORS = 3  # DESIGN: suspect if errors >= 3 and error_pct >= 2 x the SUMMARY's
RUNNING_SHOWN = 3  # ongoing testruns named per host by StatsEngine.hosts
_INFRA = 4  # class = status (0 queued, 1 ongoing, 2 finished, 3 error) + 4 if infra error


class HostTable:
    """The host figures of one query's window, per (device group, host) key and per host.

    ``counts[k, c]``: pairs of key k and class c; ``last_t`` / ``last_row``: end time and
    ending event's file row of the key's latest finished testrun (-inf / -1 without one);
    ``streak``: error testruns ended after it.  The same per host over all groups:
    ``all_counts``, ``all_last_t``, ``all_streak``.
    """

    def __init__(self, f) -> None:
        st, n = f.st, f.n
        r = st.runs
        self.nhosts = nh = len(st.hosts.names)
        self.ngroups = ng = len(f.group_names)
        log = st.hosts.pairs
        run, host = log["run"], log["host"]
        # Per run (contiguous passes): its group (ng: outside the window) and class.
        status = f.status
        error = status == 3
        infra = infra_errors(r, slice(0, n), error)
        base = np.where(f.gidx >= 0, f.gidx, ng) * (8 * nh) + status + _INFRA * infra
        # Per pair: key * 8 + class, key = group * nhosts + host.
        key8 = base[run] + host * 8
        key = key8 >> 3
        if (ng + 1) * nh > 4 * len(key) + 65536:  # a sparse key space: keys made dense
            present, key = np.unique(key, return_inverse=True)
            key8 = key * 8 + (key8 & 7)
        else:
            present = np.arange((ng + 1) * nh)
        k = len(present)
        self.group_of, self.host_of = present // max(nh, 1), present % max(nh, 1)
        self.counts = np.bincount(key8, minlength=8 * k).reshape(k, 8)
        end_ok = np.where(status == 2, r.publish[:n], -np.inf)[run]
        self.last_t, self.last_row = _lexmax(key, end_ok, r.publish_row[:n], run, k)
        ended_error = np.flatnonzero(error[run])
        e_key, e_run = key[ended_error], run[ended_error]
        e_t, e_row = r.error[e_run], r.error_row[e_run]
        self.streak = _later(e_key, e_t, e_row, self.last_t, self.last_row, k)
        # All groups: the window's keys added up per host.
        inside = self.group_of < ng
        hosts_in = self.host_of[inside]
        self.all_counts = np.stack([np.bincount(hosts_in, weights=self.counts[inside, c],
                                                minlength=nh) for c in range(8)], axis=1)
        self.all_counts = self.all_counts.astype(np.int64)
        self.all_last_t, self.all_last_row = _lexmax(
            hosts_in, self.last_t[inside], self.last_row[inside], None, nh)
        e_in = inside[e_key]
        self.all_streak = _later(self.host_of[e_key[e_in]], e_t[e_in], e_row[e_in],
                                 self.all_last_t, self.all_last_row, nh)

    def per_group(self):
        """(group index, host id, key index) of every key of the window with testruns."""
        used = np.flatnonzero((self.group_of < self.ngroups) & (self.counts.sum(axis=1) > 0))
        return zip(self.group_of[used].tolist(), self.host_of[used].tolist(), used.tolist(),
                   strict=True)

    def figures(self, i: int, ended: tuple[int, int], whole: bool = False) -> dict:
        """DESIGN's entry of key ``i`` (``whole``: of host ``i`` over all groups) in a
        SUMMARY of ``ended`` = (finished, errors)."""
        counts = (self.all_counts if whole else self.counts)[i].tolist()
        last_t = float((self.all_last_t if whole else self.last_t)[i])
        streak = int((self.all_streak if whole else self.streak)[i])
        finished, errors = counts[2], counts[3] + counts[3 + _INFRA]  # only errors are infra
        return {
            "testruns": sum(counts),
            "ongoing": counts[1],
            "finished": finished,
            "errors": errors,
            "error_pct": 100.0 * errors / (finished + errors) if finished + errors else None,
            "infra_errors": counts[3 + _INFRA],
            "streak": streak,
            "last_ok": None if last_t == -np.inf else last_t,
            "health": health(streak, finished, errors, *ended),
        }


def _lexmax(key, t, row, run, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per key in [0, k): the largest (t, row) pair, t first (-inf, -1 where none);
    ``row`` is indexed by ``run`` when given (else aligned with ``key``)."""
    last_t = np.full(k, -np.inf)
    np.maximum.at(last_t, key, t)
    tied = np.flatnonzero((t == last_t[key]) & (t > -np.inf))  # the maxima, and their ties
    last_row = np.full(k, -1, np.int64)
    np.maximum.at(last_row, key[tied], row[tied] if run is None else row[run[tied]])
    return last_t, last_row


def _later(key, t, row, last_t, last_row, k: int) -> np.ndarray:
    """Per key: how many of these (t, row) come after the key's (last_t, last_row)."""
    lt = last_t[key]
    later = (t > lt) | ((t == lt) & (row > last_row[key]))
    return np.bincount(key[later], minlength=k)


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


def group_hosts(f, ended: list[tuple[int, int]],
                whole: tuple[int, int] | None) -> tuple[list[dict], dict | None]:
    """SUMMARY "hosts" of every group of the frame (``ended[g]`` = its finished and errors)
    and, with ``whole`` (the same of all groups), of all of them: ``{HOST: {...}}`` sorted
    by host name."""
    table = HostTable(f)
    names = f.st.hosts.names
    by_name = sorted(table.per_group(), key=lambda gh: (gh[0], names[gh[1]]))
    per_group: list[dict] = [{} for _ in f.group_names]
    for g, host, i in by_name:
        per_group[g][names[host]] = table.figures(i, ended[g])
    if whole is None:
        return per_group, None
    hosts = sorted(np.flatnonzero(table.all_counts.sum(axis=1)).tolist(), key=names.__getitem__)
    return per_group, {names[h]: table.figures(h, whole, whole=True) for h in hosts}


def host_rows(f) -> list[dict]:
    """StatsEngine.hosts: one row per host of the frame's testruns, worst first."""
    table = HostTable(f)
    names = f.st.hosts.names
    status = f.status[f.mask]
    ended = (int(np.count_nonzero(status == 2)), int(np.count_nonzero(status == 3)))
    running = _running(f)
    occupancy = Occupancy(f)
    rows = []
    for host in np.flatnonzero(table.all_counts.sum(axis=1)).tolist():
        row = {"host": names[host], **table.figures(host, ended, whole=True),
               **occupancy.figures(None, host)}
        row["running"] = running.get(host, [])
        rows.append(row)
    rows.sort(key=lambda row: (HEALTH_ORDER.index(row["health"]), row["error_pct"] is None,
                               -(row["error_pct"] or 0.0), row["host"]))
    return rows


def _running(f) -> dict[int, list[dict]]:
    """Up to RUNNING_SHOWN ongoing testruns of the window per host id, newest first (request
    time, then run index)."""
    log = f.st.hosts.pairs
    at = np.flatnonzero((f.mask & (f.status == 1))[log["run"]])
    if len(at) == 0:
        return {}
    run, host = log["run"][at], log["host"][at]
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
    infra = infra_errors(r, runs, is_error)
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
            "error": _string(st, message, None),
            "request": _num(r.request[run]),
            "end": _num(end[i]),
            "infra": bool(infra[i]),
        })
    return out


def infra_errors(r, runs, is_error: np.ndarray) -> np.ndarray:
    """DESIGN's infrastructure errors among ``runs`` (an index or slice of the run columns
    ``r``; ``is_error``: which of them ended in error): no test_start before the first error
    (file order), so flashing or booting failed."""
    tested = r.test_start_row[runs]
    return is_error & ~((tested >= 0) & (tested < r.error_row[runs]))


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
