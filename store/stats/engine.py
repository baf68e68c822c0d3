"""StatsEngine state and its incremental update (``apply``); the queries live in queries.py.

State kept per run (dense run index of the file, numpy arrays with doubling capacity): device
group, requestor and hosts (string ids of the first request row), first error message, the
times (in the engine's clock) of the first ``request`` / ``queue_start`` / ``queue_end`` /
``publish`` and the last ``test_end``, the first event and the last known-name event, a count of
events per code, and per phase (flash, boot, test) the number of closed pairs, the sum of their
non-negative durations, and the ends without start.  Closed pairs and every event's delivery
delay are also logged as samples (with their run, so windows and groups can filter them).

Everything a batch does costs O(batch) (plus O(open starts) for the pool of matching.py), and the
result is the same after any split of the same rows into batches: "first" values are only set
while unset, "last" values always overwritten, counts are integers, per-run sums are added in
file order one addend at a time, and every statistic is computed from a sorted sample.
"""

from __future__ import annotations

import numpy as np

from store import schema
from store.batch import Batch, Reset
from store.stats import matching
from store.stats.columns import BytesColumn, RunColumns, SampleLog

C = schema.CODE
N_KNOWN = schema.N_KNOWN
OTHER = N_KNOWN  # counts column of every unknown event name
PHASES = ("flash", "boot", "test")
NAN = float("nan")

RUN_SPEC = {
    "group": (np.int32, -1, ()),
    "requestor": (np.int32, -1, ()),
    "hosts": (np.int32, -1, ()),
    "error_msg": (np.int32, -1, ()),
    "request": (np.float64, NAN, ()),
    "queue_start": (np.float64, NAN, ()),
    "queue_end": (np.float64, NAN, ()),
    "test_end": (np.float64, NAN, ()),
    "publish": (np.float64, NAN, ()),
    "first_t": (np.float64, NAN, ()),
    "last_t": (np.float64, NAN, ()),
    "last_code": (np.int16, -1, ()),
    "counts": (np.int32, 0, (N_KNOWN + 1,)),
    "closed": (np.int32, 0, (3,)),
    "sums": (np.float64, 0.0, (3,)),
    "orphans": (np.int32, 0, (3,)),
}
FIRST_TIMES = ("request", "queue_start", "queue_end", "publish")


class EngineState:
    """The data StatsEngine accumulates; ``apply`` updates it from one Batch."""

    def __init__(self, clock: str = "received") -> None:
        if clock not in ("received", "emit"):
            raise ValueError(f"clock must be 'received' or 'emit', not {clock!r}")
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget everything (the file was replaced)."""
        self.strings: list[str] = []
        self.names: list[str] = []
        self.runs = RunColumns(RUN_SPEC)
        self.ids = BytesColumn()
        self.samples = {p: SampleLog({"run": np.int32, "duration": np.float64}) for p in PHASES}
        self.delays: dict[int, SampleLog] = {}
        self.pools = {p: matching.Pool.empty() for p in PHASES}
        self.n_events = 0
        self.version = 0
        self._marks = np.zeros(0, bool)

    def apply(self, batch: Batch | Reset) -> None:
        """Fold one batch of new rows (or a Reset) into the state, in O(len(batch))."""
        if isinstance(batch, Reset):
            self.reset()
            return
        self.strings.extend(batch.new_strings)
        self.names.extend(batch.new_names)
        self._apply_runs(batch)
        ev = batch.events
        if len(ev):
            run = np.ascontiguousarray(ev["run"], dtype=np.int64)
            self._ensure_runs(int(run.max()) + 1)
            self._apply_events(batch.first_event_row, run, ev)
        self._apply_requests(batch.requests)
        self._apply_errors(batch.errors)
        self.n_events += len(ev)
        self.version += 1

    def _ensure_runs(self, n: int) -> None:
        self.runs.ensure(n)
        if len(self._marks) < self.runs.n:
            self._marks = np.zeros(max(self.runs.n, 2 * len(self._marks)), bool)

    def _apply_runs(self, batch: Batch) -> None:
        runs = batch.runs
        if len(runs) == 0:
            return
        end = batch.first_run + len(runs)
        self._ensure_runs(end)
        self.runs.group[batch.first_run : end] = runs["group"]
        self.ids.put(batch.first_run, runs["testrun_id"])

    def _apply_requests(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        run = rows["run"].astype(np.int64)
        self._ensure_runs(int(run.max()) + 1)
        _set_first(self.runs.requestor, run, rows["requestor"], unset=lambda a: a < 0)
        _set_first(self.runs.hosts, run, rows["hosts"], unset=lambda a: a < 0)

    def _apply_errors(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        run = rows["run"].astype(np.int64)
        self._ensure_runs(int(run.max()) + 1)
        _set_first(self.runs.error_msg, run, rows["message"], unset=lambda a: a < 0)

    def _apply_events(self, first_row: int, run: np.ndarray, ev: np.ndarray) -> None:
        code = np.ascontiguousarray(ev["code"])
        t = np.ascontiguousarray(ev[self.clock], dtype=np.float64)
        delay = ev["received"] - ev["emit"]
        r = self.runs
        # Events per code in file order: a stable sort of int16 codes is a radix sort.
        order = np.argsort(code, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(code))])
        by_code = {c: order[bounds[c] : bounds[c + 1]]
                   for c in range(len(bounds) - 1) if bounds[c + 1] > bounds[c]}
        _add_counts(r.counts, run, np.minimum(code, OTHER).astype(np.int64))
        _set_first(r.first_t, run, t)
        known = np.flatnonzero(code < N_KNOWN)
        r.last_code[run[known]] = code[known]
        r.last_t[run[known]] = t[known]
        for name in FIRST_TIMES:
            idx = by_code.get(C[name])
            if idx is not None:
                _set_first(getattr(r, name), run[idx], t[idx])
        idx = by_code.get(C["test_end"])
        if idx is not None:
            r.test_end[run[idx]] = t[idx]
        for c, idx in by_code.items():
            log = self.delays.get(c)
            if log is None:
                log = self.delays[c] = SampleLog({"run": np.int32, "delay": np.float64})
            log.append(run=run[idx], delay=delay[idx])
        empty = np.empty(0, np.int64)
        for p, phase in enumerate(PHASES):
            starts = by_code.get(C[f"{phase}_start"], empty)
            ends = by_code.get(C[f"{phase}_end"], empty)
            if len(starts) or len(ends):
                idx = np.sort(np.concatenate([starts, ends]))
                self._match(p, phase, run[idx], code[idx] == C[f"{phase}_start"], t[idx],
                            idx + first_row)

    def _match(self, p: int, phase: str, run, is_start, t, row) -> None:
        res = matching.match(run, is_start, t, row, self.pools[phase], self._marks)
        self.pools[phase] = res.pool
        r = self.runs
        if len(res.orphan_runs):
            np.add.at(r.orphans, (res.orphan_runs, p), 1)
        if len(res.run) == 0:
            return
        self.samples[phase].append(run=res.run, duration=res.duration)
        _add_counts(r.closed, res.run, np.full(len(res.run), p, np.int64))
        # Per-run sums in file order, one addend per run at a time: the same float additions
        # whatever the batch split.  res.run is grouped by run; rank = position within its run.
        add = np.where(res.duration >= 0, res.duration, 0.0)
        n = len(res.run)
        new = np.empty(n, bool)
        new[0] = True
        np.not_equal(res.run[1:], res.run[:-1], out=new[1:])
        pos = np.arange(n)
        rank = pos - np.maximum.accumulate(np.where(new, pos, 0))
        sums = r.sums[:, p]
        for k in range(int(rank.max()) + 1):
            sel = rank == k
            sums[res.run[sel]] += add[sel]


def _add_counts(counts: np.ndarray, run: np.ndarray, col: np.ndarray) -> None:
    """counts[run[i], col[i]] += 1 for every i (repeats included)."""
    lo, hi = int(run.min()), int(run.max()) + 1
    width = counts.shape[1]
    if (hi - lo) <= 4 * len(run) + 1024:  # dense enough: one bincount over the span of runs
        flat = (run - lo) * width + col
        add = np.bincount(flat, minlength=(hi - lo) * width).reshape(hi - lo, width)
        counts[lo:hi] += add.astype(counts.dtype)
    else:  # a few runs spread over a long history
        np.add.at(counts, (run, col), 1)


def _set_first(target: np.ndarray, run: np.ndarray, values: np.ndarray, unset=None) -> None:
    """target[run] = the first value (file order) of each run, only where target is unset.

    Fancy assignment with repeated indices keeps the last write, so writing in reverse order
    leaves each run's first value.
    """
    free = np.isnan(target[run]) if unset is None else unset(target[run])
    if not free.any():
        return
    run, values = run[free], np.asarray(values)[free]
    target[run[::-1]] = values[::-1]
