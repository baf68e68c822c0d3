"""Occupied hosts and starved groups (DESIGN.md "Why it waits, and why it fails").

A testrun occupies its hosts (host_index.py's pairs) from its first queue_end until it ends
(first error, else first publish) or, while ongoing, until now (clock; no queue_end: nothing).
Everything comes from per-run state the engine already keeps (first queue_end, error and
publish times, status), so a query is a few vectorised passes over the runs and the (run, host)
pairs, and only the pairs of runs that overlap the last 24 h are sorted.

The busy fraction of a window is the length of the union of a host's intervals clipped to
[now - W, now), over W: one sort of the interval ends by (key, time) and a running count of
the open intervals (+1 at a start, -1 at an end): the time between two consecutive points of a
key counts while the count is above zero.  Each key's +1s and -1s cancel out, so the count is 0
between keys and no sort needs resetting.
"""

from __future__ import annotations

import numpy as np

from store.stats.frame import distinct

WINDOWS = {"busy_1h": 3600.0, "busy_24h": 86400.0}
STARVED_WAIT = 600.0  # DESIGN: starved when work waits longer than this and nothing runs


def intervals(f) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of the interval each of the frame's n runs occupies its hosts (NaN start:
    none; runs outside the window get none either)."""
    r, n = f.st.runs, f.n
    status = f.status
    start = np.where(f.mask & (status >= 1), r.queue_end[:n], np.nan)
    end = np.where(status == 3, r.error[:n], np.where(status == 2, r.publish[:n], f.now))
    return start, end


class Occupancy:
    """Per (device group, host) and per host over all groups: busy now and the busy fractions.

    ``busy_keys`` / ``busy_hosts``: sets of (group index, host id) / host ids with an ongoing
    testrun of the window; ``fractions[name]`` / ``all_fractions[name]`` (name in WINDOWS):
    {(group index, host id): fraction} / {host id: fraction}, only where above zero.
    """

    def __init__(self, f) -> None:
        st = f.st
        log = st.hosts.pairs
        run, host = log["run"], log["host"]
        gidx = f.gidx
        ongoing_run = f.mask & (f.status == 1)
        at = np.flatnonzero(ongoing_run[run])
        self.busy_keys = set(zip(gidx[run[at]].tolist(), host[at].tolist(), strict=True))
        self.busy_hosts = set(host[at].tolist())
        start, end = intervals(f)
        widest = max(WINDOWS.values())
        overlaps = (start < f.now) & (end > f.now - widest) & (end > start)  # NaN: False
        at = np.flatnonzero(overlaps[run])
        p_run, p_host = run[at], host[at].astype(np.int64)
        p_group = gidx[p_run].astype(np.int64)
        s, e = start[p_run], end[p_run]
        nh = max(len(st.hosts.names), 1)
        self.fractions, self.all_fractions = {}, {}
        for name, width in WINDOWS.items():
            lo = f.now - width
            cs, ce = np.maximum(s, lo), np.minimum(e, f.now)
            keep = ce > cs
            g, h = p_group[keep], p_host[keep]
            per_key = union_lengths(g * nh + h, cs[keep], ce[keep])
            self.fractions[name] = {(k // nh, k % nh): v / width for k, v in per_key.items()}
            per_host = union_lengths(h, cs[keep], ce[keep])
            self.all_fractions[name] = {k: v / width for k, v in per_host.items()}

    def figures(self, g: int | None, host: int) -> dict:
        """The "busy", "busy_1h", "busy_24h" of a host in group ``g`` (None: all groups)."""
        if g is None:
            out = {"busy": host in self.busy_hosts}
            out.update({name: self.all_fractions[name].get(host, 0.0) for name in WINDOWS})
        else:
            out = {"busy": (g, host) in self.busy_keys}
            out.update({name: self.fractions[name].get((g, host), 0.0) for name in WINDOWS})
        return out


def union_lengths(key: np.ndarray, start: np.ndarray, end: np.ndarray) -> dict[int, float]:
    """{key: length of the union of its intervals [start, end)} (every end > its start)."""
    if len(key) == 0:
        return {}
    keys = np.concatenate([key, key])
    times = np.concatenate([start, end])
    step = np.concatenate([np.ones(len(key), np.int64), np.full(len(key), -1, np.int64)])
    order = np.lexsort((-step, times, keys))  # at equal times, starts before ends
    keys, times, open_count = keys[order], times[order], np.cumsum(step[order])
    gap = np.diff(times)
    counted = (open_count[:-1] > 0) & (keys[1:] == keys[:-1])
    lengths = np.zeros(len(keys))
    lengths[1:][counted] = gap[counted]
    present, inverse = np.unique(keys, return_inverse=True)
    total = np.bincount(inverse, weights=lengths, minlength=len(present))
    return dict(zip(present.tolist(), total.tolist(), strict=True))


def hosts_counts(f) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Per group of the frame (hosts_total, hosts_busy), and the same over all groups:
    distinct hosts of the window's testruns, and of those the ones an ongoing testrun
    occupies now."""
    st = f.st
    log = st.hosts.pairs
    run, host = log["run"], log["host"]
    ng = len(f.group_names)
    nh = max(len(st.hosts.names), 1)
    inside = f.mask[run]
    if not inside.all():  # (else the log's columns as they are: no copies)
        at = np.flatnonzero(inside)
        run, host = run[at], host[at]
    del inside
    key = f.gidx[run]  # a new int64 array, made the key in place (a million pairs: 8 MB each)
    key *= nh
    key += host
    busy = f.status[run] == 1
    per_group = []
    tables = []
    for keys in (key, key[busy]):
        k = distinct(keys, ng * nh)
        tables.append((np.bincount(k // nh, minlength=ng), len(distinct(k % nh, nh))))
    (total_g, total_all), (busy_g, busy_all) = tables
    per_group = list(zip(total_g.tolist(), busy_g.tolist(), strict=True))
    return per_group, (total_all, busy_all)


def starved(part: dict) -> bool:
    """DESIGN's starved group: work waits (queued > 0, the oldest for more than 600 s) and
    none of it runs (ongoing = 0)."""
    wait = part.get("oldest_queued_wait")
    return part["queued"] > 0 and part["ongoing"] == 0 and wait is not None and \
        wait > STARVED_WAIT
