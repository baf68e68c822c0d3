"""One query's view of the engine state: the time window, device groups, per-run derived values.

Built once per query (O(runs), vectorised) and shared by the summary of every group.
"""

from __future__ import annotations

import numpy as np

from store.columns import SampleLog
from store.stats.engine import PHASES, C, EngineState, stable_order

STATUSES = ("queued", "ongoing", "finished", "error")
DURATIONS = ("testrun", "init", "queue", "flash", "boot", "test", "publish")


class Frame:
    """Window mask, status and group index of every run, for one (since, group, now)."""

    def __init__(self, st: EngineState, since: float | None, group: str | None,
                 now: float) -> None:
        self.st = st
        self.now = now
        self.since = since
        r = st.runs
        n = self.n = r.n
        has = has_events(st)
        self.group_names, slot_group = group_index(st, has)
        mask = has
        if since is not None:
            mask &= r.request[:n] >= since  # NaN (never requested) compares False
        if group is not None:
            wanted = self.group_names.index(group) if group in self.group_names else -2
            slot_group = np.where(slot_group == wanted, 0, -1)
            self.group_names = [group]
        self.slot_group = slot_group
        """Group index (in group_names) of every device group slot, -1 when not wanted."""
        gidx = slot_group[r.slot[:n]]
        mask &= gidx >= 0
        self.mask = mask
        self.gidx = np.where(mask, gidx, -1)
        self.filtered = since is not None
        """True when logged samples must be checked against the window run by run."""
        counts = r.counts
        status = np.zeros(n, np.int8)
        status[counts[C["queue_end"], :n] > 0] = 1
        status[counts[C["publish"], :n] > 0] = 2
        status[counts[C["error"], :n] > 0] = 3
        self.status = status

    def slots(self, g: int) -> list[int]:
        """Device group slots making up group index ``g``."""
        return np.flatnonzero(self.slot_group == g).tolist()

    def logged(self, logs: dict, slots: list[int], key, column: str) -> np.ndarray:
        """The values of the (slot, key) logs of these slots, restricted to the window."""
        parts = []
        for slot in slots:
            log: SampleLog | None = logs.get((slot, key))
            if log is None or len(log) == 0:
                continue
            values = log[column]
            parts.append(values[self.mask[log["run"]]] if self.filtered else values)
        if not parts:
            return np.empty(0)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def per_run_duration(self, name: str, out: np.ndarray | None = None) -> np.ndarray:
        """Duration of a per-run phase (NaN where undefined), for all n runs (into ``out``
        when given: a scratch array of n floats)."""
        r, n = self.st.runs, self.n
        end, start = _PER_RUN[name]
        return np.subtract(getattr(r, end)[:n], getattr(r, start)[:n], out=out)


_PER_RUN = {"testrun": ("publish", "request"), "init": ("queue_start", "request"),
            "queue": ("queue_end", "queue_start"), "publish": ("publish", "test_end")}
"""Per-run durations: (end column, start column) of the run columns."""


def has_events(st: EngineState) -> np.ndarray:
    """Whether each run has at least one event: a known-name one (its last is recorded) or,
    for runs without a request, any (its first is recorded)."""
    r, n = st.runs, st.runs.n
    return ~(np.isnan(r.last_t[:n]) & np.isnan(r.first_t[:n]))


def group_index(st: EngineState, has: np.ndarray | None = None) -> tuple[list[str], np.ndarray]:
    """Sorted device group names of runs with events, and each slot's index in that list.
    ``has``: has_events(st), when the caller has it already."""
    r = st.runs
    n = r.n
    has = has_events(st) if has is None else has
    used = np.bincount(r.slot[:n][has], minlength=len(st.slot_sids)) > 0
    names_of_slot = [_string(st.strings, sid) for sid in st.slot_sids]
    names = sorted({names_of_slot[s] for s in np.flatnonzero(used).tolist()})
    lookup = {name: k for k, name in enumerate(names)}
    slot_group = np.array([lookup[names_of_slot[s]] if used[s] else -1
                           for s in range(len(st.slot_sids))], np.int64)
    return names, slot_group


def _string(strings: list[str], i: int) -> str:
    return strings[i] if 0 <= i < len(strings) else ""


def grouped_order(keys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices of ``keys`` equal to 0..k-1 grouped by key, each group ascending; bounds):
    group g is ``order[bounds[g]:bounds[g + 1]]`` (keys < 0 dropped)."""
    if len(keys) == 0:
        return np.empty(0, np.intp), np.zeros(k + 1, np.int64)
    shifted = keys + 1  # -1 (dropped) sorts first
    order, bounds = stable_order(shifted, k + 1)
    return order[bounds[1]:], bounds[1:] - bounds[1]


__all__ = ["Frame", "grouped_order", "group_index", "has_events", "STATUSES",
           "DURATIONS", "PHASES"]
