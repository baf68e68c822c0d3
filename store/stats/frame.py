"""One query's view of the engine state: the time window, device groups, per-run derived values.

Built once per query (O(runs), vectorised) and shared by the summary of every group.
"""

from __future__ import annotations

import numpy as np

from store.columns import SampleLog
from store.stats.describe import unique_sorted
from store.stats.engine import C, EngineState, stable_order
from store.stats.names import DURATIONS, ITERATED, PER_RUN

STATUSES = ("queued", "ongoing", "finished", "error")


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
        self._grouped: tuple[np.ndarray, np.ndarray] | None = None
        self._per_run: dict[str, tuple[np.ndarray, list[int]]] = {}

    def grouped(self) -> tuple[np.ndarray, np.ndarray]:
        """(the window's runs grouped by group index, bounds): group g's runs are
        ``order[bounds[g]:bounds[g + 1]]``, ascending (computed once per frame)."""
        if self._grouped is None:
            self._grouped = grouped_order(self.gidx, len(self.group_names))
        return self._grouped

    def samples(self, name: str, g: int | None = None) -> np.ndarray:
        """The samples of one of DURATIONS in group index ``g`` (None: the whole window), in
        no particular order: undefined durations left out, negative ones (clock skew) kept,
        for the caller to count or drop.  The one way to a duration's samples: the summary,
        the histogram buckets, overdue's p95 and the listing all take theirs here."""
        if name in ITERATED:
            slots = (self.slots(g) if g is not None
                     else np.flatnonzero(self.slot_group >= 0).tolist())
            return self.logged(self.st.samples, slots, name, "duration")
        if name not in PER_RUN:
            raise ValueError(f"phase must be one of {', '.join(DURATIONS)}, not {name!r}")
        if g is None:
            values = self.per_run_duration(name)[self.mask]
            return values[~np.isnan(values)]
        values, bounds = self._per_run_grouped(name)
        return values[bounds[g]:bounds[g + 1]]  # a view of the frame's copy: read only

    def release_samples(self) -> None:
        """Drop the per-run durations ``samples`` keeps (made again if asked for): a caller
        done with them frees their memory before its next step."""
        self._per_run.clear()

    def _per_run_grouped(self, name: str) -> tuple[np.ndarray, list[int]]:
        """grouped_samples, made once per frame (each group's is then a slice, not a copy: a
        million runs' four durations are 32 MB)."""
        got = self._per_run.get(name)
        if got is None:
            got = self._per_run[name] = self.grouped_samples(name)
        return got

    def grouped_samples(self, name: str) -> tuple[np.ndarray, list[int]]:
        """A per-run duration of every window run in grouped() order with the undefined
        (NaN) ones left out, and where each group's start: a new array, the caller's to keep
        or to sort in place (not cached: see samples for that)."""
        order, bounds = self.grouped()
        values = self.per_run_duration(name)[order]
        defined = ~np.isnan(values)
        kept = [0]
        for g in range(len(bounds) - 1):
            kept.append(kept[-1] + int(np.count_nonzero(defined[bounds[g]:bounds[g + 1]])))
        return values[defined], kept

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
            if self.filtered and "run" not in log:
                raise ValueError(f"the {column} samples were kept without their testruns "
                                 "(StatsEngine(delay_runs=False)): no time window possible")
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


def distinct(keys: np.ndarray, width: int) -> np.ndarray:
    """The distinct values of integer ``keys`` (all in [0, width)), ascending: a bincount
    when the range is dense, else a sort (see unique_sorted)."""
    if width <= 4 * len(keys) + 65536:
        return np.flatnonzero(np.bincount(keys, minlength=width))
    return unique_sorted(keys)


__all__ = ["Frame", "grouped_order", "group_index", "has_events", "STATUSES", "DURATIONS",
           "distinct"]
