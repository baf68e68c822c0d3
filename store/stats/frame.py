"""One query's view of the engine state: the time window, device groups, per-run derived values.

Built once per query (O(runs), vectorised) and shared by the summary of every group.
"""

from __future__ import annotations

import numpy as np

from store.stats.engine import C, PHASES, EngineState

STATUSES = ("queued", "ongoing", "finished", "error")
DURATIONS = ("testrun", "init", "queue", "flash", "boot", "test", "publish")


class Frame:
    """Window mask, status and group index of every run, for one (since, group, now)."""

    def __init__(self, st: EngineState, since: float | None, group: str | None,
                 now: float) -> None:
        self.st = st
        self.now = now
        r = st.runs
        n = self.n = r.n
        self.group_names, gidx = group_index(st)
        mask = ~np.isnan(r.first_t[:n])  # runs with at least one event
        if since is not None:
            mask &= r.request[:n] >= since  # NaN (never requested) compares False
        if group is not None:
            if group in self.group_names:
                mask &= gidx == self.group_names.index(group)
            else:
                mask[:] = False
            self.group_names = [group]
            gidx = np.where(mask, 0, -1)
        self.mask = mask
        self.gidx = np.where(mask, gidx, -1)
        counts = r.counts[:n]
        status = np.zeros(n, np.int8)
        status[counts[:, C["queue_end"]] > 0] = 1
        status[counts[:, C["publish"]] > 0] = 2
        status[counts[:, C["error"]] > 0] = 3
        self.status = status

    def per_run_duration(self, name: str) -> np.ndarray:
        """Duration of a per-run phase (NaN where undefined), for all n runs."""
        r, n = self.st.runs, self.n
        if name == "testrun":
            return r.publish[:n] - r.request[:n]
        if name == "init":
            return r.queue_start[:n] - r.request[:n]
        if name == "queue":
            return r.queue_end[:n] - r.queue_start[:n]
        if name == "publish":
            return r.publish[:n] - r.test_end[:n]
        raise KeyError(name)

    def sample_keys(self, runs: np.ndarray) -> np.ndarray:
        """Group index (-1 outside the window) of samples belonging to ``runs``."""
        return self.gidx[runs] if len(runs) else np.empty(0, np.int64)


def group_index(st: EngineState) -> tuple[list[str], np.ndarray]:
    """Sorted device group names of runs with events, and each run's index in that list."""
    r = st.runs
    n = r.n
    gid = r.group[:n].astype(np.int64)
    strings = st.strings
    has = ~np.isnan(r.first_t[:n])
    ids = np.unique(gid[has])
    names = sorted({_string(strings, i) for i in ids.tolist()})
    lookup = {name: k for k, name in enumerate(names)}
    # Map string id -> group index (several ids could hold the same text).
    table = np.full(int(ids.max()) + 2 if len(ids) else 1, -1, np.int64)
    for i in ids.tolist():
        table[i + 1] = lookup[_string(strings, i)]
    gidx = np.where(has, table[np.clip(gid + 1, 0, len(table) - 1)], -1)
    return names, gidx


def _string(strings: list[str], i: int) -> str:
    return strings[i] if 0 <= i < len(strings) else ""


def split(keys: np.ndarray, k: int) -> list[np.ndarray]:
    """Indices of ``keys`` equal to 0..k-1, each ascending (keys < 0 dropped); O(len(keys))."""
    if len(keys) == 0:
        return [np.empty(0, np.int64) for _ in range(k)]
    small = keys.astype(np.int16 if k < 32000 else np.int32)
    order = np.argsort(small, kind="stable")  # radix sort for int16
    bounds = np.cumsum(np.bincount(small + 1, minlength=k + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(k)]


__all__ = ["Frame", "split", "group_index", "STATUSES", "DURATIONS", "PHASES"]
