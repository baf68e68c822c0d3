"""StatsEngine state and its incremental update (``apply``); the queries live in the modules
beside it (frame, summary, listing, phases, hosts, overdue, trend, buckets).

State kept per run (dense run index of the file, column-major numpy arrays with doubling capacity,
sized at once from ``Batch.runs_total`` while catching up): device group slot, requestor and hosts
(string ids of the first request row), first error message, the times (in the engine's clock) of
the first ``request`` / ``queue_start`` / ``queue_end`` / ``publish`` / ``error`` and the last
``test_end``, the file rows of the first ``test_start`` / ``publish`` / ``error`` (the hosts'
streaks and infrastructure errors order by them), the last known-name event, the first event of
runs without a request (the only ones that read it), a count of events per code, per phase
(flash, boot, test) the sum of the non-negative durations of its closed pairs, and the number of
ends without start.  The worker hosts of each run's first request are a list of (run, host)
pairs (host_index.HostIndex), appended as first requests arrive.  Closed pairs and every
event's delivery delay are also logged as samples, one log per (device group slot, phase or
event code), with their run so a time window can filter them: a group's statistics never scan
other groups.  Events per (code, slot) are also totalled, for group totals without a window.
The configuration string id of the first request row is kept like the requestor.

Everything a batch does costs O(batch) (plus O(open starts) for the pool of matching.py), and the
result is the same after any split of the same rows into batches: "first" values are only set
while unset, "last" values always overwritten, counts are integers, per-run sums are added in
file order one addend at a time, and every sample log holds its values in file order, so the
statistics see the very same arrays (floating-point sums in the same order).

A batch is grouped once by (event code, device group slot) with one sort, and every step works on
contiguous slices of it.  For a large batch, the counts, first/last values and the matching run in
a helper thread (helper.py) while this thread logs the delays and takes the next batch; the state
each side writes is disjoint, and every query first waits for the helper (``drain``).
"""

from __future__ import annotations

import numpy as np

from store import schema
from store.batch import Batch, Reset
from store.columns import BytesColumn, RunColumns, SampleLog
from store.stats import matching
from store.stats.helper import Helper
from store.stats.host_index import HostIndex
from store.stats.names import ITERATED

C = schema.CODE
N_KNOWN = schema.N_KNOWN
OTHER = N_KNOWN  # counts column of every unknown event name
NAN = float("nan")

RUN_SPEC = {
    "slot": (np.int32, 0, ()),
    "requestor": (np.int32, -1, ()),
    "hosts": (np.int32, -1, ()),
    "configuration": (np.int32, -1, ()),
    "error_msg": (np.int32, -1, ()),
    "request": (np.float64, NAN, ()),
    "queue_start": (np.float64, NAN, ()),
    "queue_end": (np.float64, NAN, ()),
    "test_end": (np.float64, NAN, ()),
    "publish": (np.float64, NAN, ()),
    "error": (np.float64, NAN, ()),
    "test_start_row": (np.int32, -1, ()),  # int64 from the 2**31st event row: _rows_fit
    "publish_row": (np.int32, -1, ()),
    "error_row": (np.int32, -1, ()),
    "first_t": (np.float64, NAN, ()),  # only for runs without a request: see _first_last_dense
    "last_t": (np.float64, NAN, ()),
    "last_code": (np.int16, -1, ()),
    "counts": (np.int16, 0, (N_KNOWN + 1,)),  # widened when it could overflow: _room_for
    "sums": (np.float64, 0.0, (3,)),
    "orphans": (np.int32, 0, ()),
}
FIRST_TIMES = ("request", "queue_start", "queue_end", "publish", "error")
FIRST_ROWS = ("test_start", "publish", "error")  # kept as the column NAME_row


class EngineState:
    """The data StatsEngine accumulates; ``apply`` updates it from one Batch."""

    def __init__(self, clock: str = "received", delays: bool = True,
                 delay_runs: bool = True) -> None:
        if clock not in ("received", "emit"):
            raise ValueError(f"clock must be 'received' or 'emit', not {clock!r}")
        self.clock = clock
        self.keep_delays = delays
        """False: only the delays of unknown event names are logged (their logs are where
        their events are counted): see _log_delays."""
        self.delay_runs = delay_runs
        """False: the delays of known names are logged without their runs (half the
        memory; no time window can filter them then: Frame.logged)."""
        self._helper = Helper()
        self.version = -1  # reset() makes it 0
        self.reset()

    def drain(self) -> None:
        """Wait for the work of the last batch a helper thread may still be doing: call it
        before reading the state (every StatsEngine query does)."""
        self._helper.drain()

    def reset(self) -> None:
        """Forget everything (the file was replaced)."""
        self._helper.drain()
        self.strings: list[str] = []
        self.names: list[str] = []
        self.runs = RunColumns(RUN_SPEC)
        self.ids = BytesColumn()
        self.hosts = HostIndex()
        # A slot per device group string id (slot 0: runs without a group row).
        self.slot_sids: list[int] = [-1]
        self._slot_of: dict[int, int] = {-1: 0}
        self.samples: dict[tuple[int, str], SampleLog] = {}
        self.delays: dict[tuple[int, int], SampleLog] = {}
        self.pools = {p: matching.Pool.empty() for p in ITERATED}
        self.slot_counts = np.zeros((0, 0), np.int64)
        """Events per (event code, device group slot): group totals without a pass over runs."""
        self.n_events = 0
        self._count_bound = 0
        """No run's count of any code is above this (see _room_for)."""
        # Counts on across a reset: what is keyed by the version (the monitor's and exporter's
        # "has anything changed", the p95 table) never takes a re-read file for the old one.
        self.version += 1
        self._marks = np.zeros(0, bool)
        self._arange = np.arange(0)

    def apply(self, batch: Batch | Reset) -> None:
        """Fold one batch of new rows (or a Reset) into the state, in O(len(batch))."""
        if isinstance(batch, Reset):
            self.reset()
            return
        self.strings.extend(batch.new_strings)
        self.names.extend(batch.new_names)
        self._ensure_runs(0, batch.runs_total)
        self._rows_fit(batch.first_event_row + len(batch))
        self._apply_runs(batch)
        if len(batch):
            run = _run_index(batch)
            self._ensure_runs(int(run.max()) + 1)
            self._apply_events(batch, run)
        self._apply_requests(batch.requests, _batches_to_come(batch))
        self._apply_errors(batch.errors)
        self.n_events += len(batch)
        self.version += 1

    def _rows_fit(self, end: int) -> None:
        """Widen the file-row columns (int32: half the memory, and the rows of any file below
        two billion events) to int64 before a row past int32 is written to them."""
        if end > np.iinfo(self.runs.test_start_row.dtype).max:
            self._helper.drain()  # a helper lane may be writing them
            for name in FIRST_ROWS:
                self.runs.widen(f"{name}_row", np.int64)

    def _ensure_runs(self, n: int, reserve: int = 0) -> None:
        """Rows [0, n) in use, and room for ``reserve`` rows (the file's runs: one allocation
        while catching up rather than a copy at every doubling)."""
        if max(n, reserve) > self.runs.capacity:
            self._helper.drain()  # the helper's task may be writing the arrays about to move
            self.runs.reserve(reserve)
            self.runs.ensure(n)
            self._marks = np.zeros(self.runs.capacity, bool)
        else:
            self.runs.ensure(n)

    def _apply_runs(self, batch: Batch) -> None:
        runs = batch.runs
        if len(runs) == 0:
            return
        end = batch.first_run + len(runs)
        self._ensure_runs(end)
        group = batch.derived("runs.group", lambda: np.ascontiguousarray(runs["group"]))
        lo, hi = int(group.min()), int(group.max()) + 1
        if hi - lo <= 4 * len(group) + 1024:  # dense string ids: a lookup table, no sort
            present = np.flatnonzero(np.bincount(group - lo, minlength=hi - lo))
            lut = np.zeros(hi - lo, np.int32)
            lut[present] = [self._slot(sid) for sid in (present + lo).tolist()]
            self.runs.slot[batch.first_run : end] = lut[group - lo]
        else:
            sids, inverse = np.unique(group, return_inverse=True)
            slots = np.array([self._slot(int(sid)) for sid in sids], np.int32)
            self.runs.slot[batch.first_run : end] = slots[inverse]
        self.ids.put(batch.first_run, batch.testrun_ids())

    def _slot(self, sid: int) -> int:
        slot = self._slot_of.get(sid)
        if slot is None:
            slot = self._slot_of[sid] = len(self.slot_sids)
            self.slot_sids.append(sid)
        return slot

    def _log(self, logs: dict, key: tuple, column: str, dtype=np.float64,
             runs: bool = True) -> SampleLog:
        log = logs.get(key)
        if log is None:
            log = logs[key] = SampleLog({"run": np.int32, column: dtype} if runs
                                        else {column: dtype})
        return log

    def _apply_requests(self, rows: np.ndarray, expect: float) -> None:
        if len(rows) == 0:
            return
        run = rows["run"].astype(np.int64)
        self._ensure_runs(int(run.max()) + 1)
        _set_first(self.runs.requestor, run, rows["requestor"], unset=lambda a: a < 0)
        _set_first(self.runs.configuration, run, rows["configuration"], unset=lambda a: a < 0)
        first = self.runs.hosts[run] < 0
        _set_first(self.runs.hosts, run, rows["hosts"], unset=lambda a: a < 0)
        if first.any():  # the runs' first requests: their hosts, in file order
            new, hosts = run[first], rows["hosts"][first]
            # Each run once, at its first request (file order).  Runs first requested in
            # ascending order (a writer's file: runs are numbered as they appear) need no sort.
            if len(new) < 2 or bool((new[1:] > new[:-1]).all()):
                at = slice(None)
            else:
                at = np.sort(np.unique(new, return_index=True)[1])
            self.hosts.add(new[at], hosts[at], self.strings, expect)

    def _apply_errors(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        run = rows["run"].astype(np.int64)
        self._ensure_runs(int(run.max()) + 1)
        _set_first(self.runs.error_msg, run, rows["message"], unset=lambda a: a < 0)

    def _apply_events(self, batch: Batch, run: np.ndarray) -> None:
        code = batch.column("code")
        t = batch.column(self.clock).astype(np.float64, copy=False)
        r = self.runs
        top = int(code.max())
        # Grouped by (code, device group slot): every code's events form one block, every
        # (code, slot) a delay log, and within a block each slot's events keep file order.
        # One gather of run (and of time) by that order makes every block a contiguous slice.
        nslots = len(self.slot_sids)
        width = (top + 1) * nslots
        key = code.astype(np.int32 if width < 2**31 else np.int64)
        key *= nslots
        key += r.slot[run]
        order, bounds = stable_order(key, width)
        self._count_slots(np.diff(bounds).reshape(top + 1, nslots))
        run_s = run[order]
        # Counts with first and last events and times (lane 0), and the start/end matching with
        # the delay logs (lane 1), touch state that nothing else here reads: for a large batch
        # two helper threads do them while this one goes on with the next batch.
        t_s = t[order]  # made once: both helper lanes read it
        self._helper.run(self._counts_and_times, len(run), run, code, t, top, run_s, t_s,
                         order, batch.first_event_row, bounds, nslots, lane=0)
        self._helper.run(self._matching_and_delays, len(run), batch, run_s, t_s, order, bounds,
                         nslots, top, lane=1)

    def _matching_and_delays(self, batch, run_s, t_s, order, bounds, nslots, top) -> None:
        """Lane 1's part of a batch: start/end matching, then the delay logs."""
        self._match_phases(batch, run_s, t_s, order, bounds, nslots, top)
        self._log_delays(run_s, batch, order, bounds, nslots)

    def _counts_and_times(self, run, code, t, top, run_s, t_s, order, first_row, bounds,
                          nslots) -> None:
        """Event counts, first/last events and first/last times and rows of one batch (see
        _apply_events; ``order[i] + first_row`` is the file row of grouped event i)."""
        r = self.runs
        for name in FIRST_TIMES:
            b = _block(bounds, nslots, top, C[name], C[name])
            if b.stop > b.start:
                _set_first(getattr(r, name), run_s[b], t_s[b])
        for name in FIRST_ROWS:  # a block holds each run's events in file order
            b = _block(bounds, nslots, top, C[name], C[name])
            if b.stop > b.start:
                _set_first(getattr(r, f"{name}_row"), run_s[b], order[b] + first_row,
                           unset=lambda a: a < 0)
        b = _block(bounds, nslots, top, C["test_end"], C["test_end"])
        r.test_end[run_s[b]] = t_s[b]  # ascending file order per run: the last write wins
        known = np.flatnonzero(code < N_KNOWN) if top >= N_KNOWN else None
        lo, hi = int(run.min()), int(run.max()) + 1
        if hi - lo <= 4 * len(run) + 1024:  # dense runs: per-run arrays over their span
            self._first_last_dense(run, lo, hi, known, code, t, run_s, bounds, nslots, top)
        else:  # a few runs spread over a long history
            self._room_for(len(run))
            np.add.at(r.counts, (np.minimum(code, OTHER), run), 1)
            mine = np.flatnonzero(np.isnan(r.request[run]) & np.isnan(r.first_t[run]))
            _set_first(r.first_t, run[mine], t[mine])  # see _first_last_dense
            known = slice(None) if known is None else known
            r.last_code[run[known]] = code[known]
            r.last_t[run[known]] = t[known]

    def _count_slots(self, per_code_slot: np.ndarray) -> None:
        """Add a batch's events per (code, device group slot) to ``slot_counts``."""
        codes, slots = per_code_slot.shape
        have = self.slot_counts
        if codes > have.shape[0] or slots > have.shape[1]:
            grown = np.zeros((max(codes, have.shape[0]), max(slots, have.shape[1])), np.int64)
            grown[: have.shape[0], : have.shape[1]] = have
            self.slot_counts = have = grown
        have[:codes, :slots] += per_code_slot

    def _match_phases(self, batch, run_s, t_s, order, bounds, nslots, top) -> None:
        """Start/end matching of one batch grouped by (code, slot) (see _apply_events)."""
        first_row = batch.first_event_row

        def block(first_code: int, last_code: int) -> slice:
            return _block(bounds, nslots, top, first_code, last_code)

        for p, phase in enumerate(ITERATED):
            start = C[f"{phase}_start"]
            sb, eb = block(start, start), block(start + 1, start + 1)
            starts = (run_s[sb], t_s[sb], order[sb] + first_row, order[sb])
            if eb.stop > eb.start and self._match_simple(p, phase, starts, run_s[eb], t_s[eb],
                                                         order[eb], bounds, (start + 1) * nslots,
                                                         nslots, _batches_to_come(batch)):
                continue
            b = block(start, start + 1)  # <phase>_start and <phase>_end, matched by position
            if b.stop > b.start:
                is_start = np.arange(b.stop - b.start) < sb.stop - sb.start
                self._match(p, phase, run_s[b], is_start, t_s[b], order[b] + first_row,
                            order[b])

    def _match_simple(self, p, phase, starts, re, te, pe, bounds, base, nslots,
                      expect) -> bool:
        """matching.match_simple's common case; False (nothing done) when it does not apply.

        The ends come in (device group slot, file order): the sample logs take them as they are.
        """
        res = matching.match_simple(starts, (re, te, None, pe), self.pools[phase])
        if res is None:
            return False
        self.pools[phase] = res.pool
        lo = bounds[base]
        for slot in range(nslots):
            a, b = bounds[base + slot] - lo, bounds[base + slot + 1] - lo
            if b > a:
                self._log(self.samples, (slot, phase), "duration").append(
                    expect, run=res.run[a:b], duration=res.duration[a:b])
        if res.end_rank is None:
            self._add_sums(p, res.run, res.duration)
        else:  # several pairs of a run, not grouped by run but each run's in file order:
            # add.at adds one element after the other, so each run's sum takes its addends in
            # file order, the very float additions of _add_sums.
            np.add.at(self.runs.sums[p], res.run, np.where(res.duration >= 0, res.duration, 0.0))
        return True

    def _first_last_dense(self, run, lo, hi, known, code, t, run_s, bounds, nslots,
                          top) -> None:
        """Counts per (code column, run), the last known-name event's code and time, and the
        first event's time of runs without a request, for runs ``lo <= run < hi``.

        Counts: one bincount per code over its block of the grouped batch (``run_s``).  Last
        event: a scatter of positions (repeated indices: the last write wins).  The first
        event's time is only ever read for runs that have no request (as their start), so it
        is looked for only while a run has neither: usually no run of the batch.
        """
        r, span = self.runs, hi - lo
        added = []
        for c in range(top + 1):
            b = _block(bounds, nslots, top, c, c)
            if b.stop > b.start:
                added.append((min(c, OTHER), np.bincount(run_s[b] - lo, minlength=span)))
        # The most any count grows: a known code's column by its largest, the column that
        # unknown codes share by the sum of theirs.
        most = [int(per_run.max()) for _, per_run in added]
        self._room_for(max([m for (c, _), m in zip(added, most, strict=True) if c < OTHER]
                           + [sum(m for (c, _), m in zip(added, most, strict=True)
                                  if c == OTHER)]))
        for c, per_run in added:
            column = r.counts[c, lo:hi]
            np.add(column, per_run, out=column, casting="unsafe")  # _room_for: no overflow
        rel = run - lo
        last = np.full(span, -1, np.int64)
        if known is None:
            last[rel] = self._positions(len(run))
        else:
            last[rel[known]] = known
        seen = np.flatnonzero(last >= 0)
        at = last[seen]
        seen += lo
        r.last_code[seen] = code[at]
        r.last_t[seen] = t[at]
        need = np.isnan(r.request[lo:hi]) & np.isnan(r.first_t[lo:hi])
        if need.any():
            mine = np.flatnonzero(need[rel])
            if len(mine):
                _set_first(r.first_t, run[mine], t[mine])

    def _room_for(self, gain: int) -> None:
        """Make sure that adding at most ``gain`` to any run's count of any code cannot
        overflow the counts' dtype (int16: half the memory of int32, and a run rarely has
        even a hundred events of one code).  The bound only grows by each batch's gain; when
        it would pass the dtype's maximum, the true maximum is taken (one pass over the
        counts, once in thousands of batches), and only if that is too high too is the
        column widened (int32, then int64)."""
        counts = self.runs.counts
        limit = int(np.iinfo(counts.dtype).max)
        self._count_bound += gain
        if self._count_bound <= limit:
            return
        n = self.runs.n
        self._count_bound = (int(counts[:, :n].max()) if n else 0) + gain
        while self._count_bound > int(np.iinfo(self.runs.counts.dtype).max):
            wider = np.int32 if self.runs.counts.dtype == np.int16 else np.int64
            self.runs.widen("counts", wider)

    def _positions(self, n: int) -> np.ndarray:
        """np.arange(n), from a cached array (one batch after the other asks for the same)."""
        if len(self._arange) < n:
            self._arange = np.arange(max(n, 2 * len(self._arange)))
        return self._arange[:n]

    def _log_delays(self, run_s, batch, order, bounds, nslots) -> None:
        """Append received - emit of every event (without keep_delays: of every event of an
        unknown name) to the log of its (code, group slot).

        Kept as float32 (sub-millisecond for any plausible delay) to halve the largest log:
        computed in float64 and rounded once.  The events come grouped by ``order``, so every
        (code, slot) log takes a contiguous slice.
        """
        # Without keep_delays only the unknown names' blocks, the last ones of the grouping.
        first = 0 if self.keep_delays else min(N_KNOWN * nslots, len(bounds) - 1)
        start = int(bounds[first])
        if start == len(order):
            return
        delay = _delays(batch)[order[start:]]
        expect = _batches_to_come(batch)
        # Runs only where kept (unknown names' always: their counts are windowed with them).
        known_end = int(bounds[min(N_KNOWN * nslots, len(bounds) - 1)])
        runs_from = start if self.delay_runs else max(start, known_end)
        runs = run_s[runs_from:].astype(np.int32)
        for k in (first + np.flatnonzero(bounds[first + 1:] > bounds[first:-1])).tolist():
            lo, hi = bounds[k] - start, bounds[k + 1] - start
            key = (k % nslots, k // nslots)
            if bounds[k] >= runs_from:
                self._log(self.delays, key, "delay", np.float32).append(
                    expect, run=runs[bounds[k] - runs_from:bounds[k + 1] - runs_from],
                    delay=delay[lo:hi])
            else:
                self._log(self.delays, key, "delay", np.float32, runs=False).append(
                    expect, delay=delay[lo:hi])

    def _match(self, p: int, phase: str, run, is_start, t, row, pos) -> None:
        res = matching.match(run, is_start, t, row, pos, self.pools[phase], self._marks)
        self.pools[phase] = res.pool
        r = self.runs
        if len(res.orphan_runs):
            np.add.at(r.orphans, res.orphan_runs, 1)
        if len(res.run) == 0:
            return
        # Logged per device group slot in file order of the ends (the same sequence whatever
        # the batch split): one sort of slot << bits | end position, unique keys.
        ends = res.end_pos
        bits = int(ends.max()).bit_length()
        key = (r.slot[res.run].astype(np.int64) << bits) | ends
        # Unique keys: a plain sort, the low bits mapped back to indices (faster than argsort).
        order = matching._sorted_index(key, ends, bits, len(key))
        slot_of = key[order] >> bits
        run, duration = res.run[order], res.duration[order]
        lo = 0
        for hi in [*(np.flatnonzero(np.diff(slot_of)) + 1).tolist(), len(order)]:
            self._log(self.samples, (int(slot_of[lo]), phase), "duration").append(
                run=run[lo:hi], duration=duration[lo:hi])
            lo = hi
        self._add_sums(p, res.run, res.duration)

    def _add_sums(self, p: int, run: np.ndarray, duration: np.ndarray) -> None:
        """Per-run sums in file order, one addend per run at a time: the same float additions
        whatever the batch split.  ``run`` is grouped by run, each run's pairs in file order."""
        add = np.where(duration >= 0, duration, 0.0)
        sums = self.runs.sums[p]
        n = len(run)
        new = np.empty(n, bool)
        new[0] = True
        np.not_equal(run[1:], run[:-1], out=new[1:])
        if new.all():  # one pair per run: a plain scatter-add
            sums[run] += add
            return
        pos = np.arange(n)
        rank = pos - np.maximum.accumulate(np.where(new, pos, 0))
        for k in range(int(rank.max()) + 1):
            sel = rank == k
            sums[run[sel]] += add[sel]


def _block(bounds: np.ndarray, nslots: int, top: int, first_code: int, last_code: int) -> slice:
    """Positions, in a batch grouped by (code, slot), of the events of these codes."""
    return slice(bounds[min(first_code, top + 1) * nslots],
                 bounds[min(last_code + 1, top + 1) * nslots])


def prepare(batch: Batch) -> None:
    """Compute what apply will need from ``batch`` alone (no engine state), kept in the batch:
    a reader thread can do it while the engine applies the batch before."""
    if len(batch):
        _run_index(batch)
    if len(batch.runs):
        batch.testrun_ids()


def _batches_to_come(batch: Batch) -> float:
    """How many batches like this one the reader has yet to deliver, this one included (1
    when unknown): sample logs catching up with a file grow to that size at once."""
    if not batch.events_total or not len(batch):
        return 1.0
    return max(1.0, (batch.events_total - batch.first_event_row) / len(batch))


def _run_index(batch: Batch) -> np.ndarray:
    """The events' runs as indices (intp: numpy converts any other index type per use)."""
    return batch.derived("run:intp", lambda: batch.column("run").astype(np.intp))


def _delays(batch: Batch) -> np.ndarray:
    """received - emit of each event, computed in float64 and rounded once to float32."""
    def make() -> np.ndarray:
        received, emit = batch.column("received"), batch.column("emit")
        delay = np.empty(len(received), np.float32)
        np.subtract(received, emit, out=delay, casting="same_kind")
        return delay
    return batch.derived("delay:float32", make)


def stable_order(key: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(np.argsort(key, kind="stable") as intp, bounds) for keys in [0, width): the positions
    with key k are ``order[bounds[k]:bounds[k + 1]]``.

    For batches that fit, one plain sort of int32 ``key << bits | position`` (vectorised sorts
    make it several times faster than an indirect sort): its low bits are the positions, and
    the bounds are a binary search in it for each key (no pass over the keys to count them).
    """
    n = len(key)
    bits = max(n - 1, 1).bit_length()
    if n and width << bits < 2**31:
        packed = key.astype(np.int32)
        packed <<= bits
        packed |= _positions32(n)
        packed.sort()
        bounds = np.searchsorted(packed, np.arange(width + 1, dtype=np.int32) << bits)
        packed &= (1 << bits) - 1
        return packed.astype(np.intp), bounds
    order = np.argsort(key.astype(np.int16) if width < 32000 else key, kind="stable")
    bounds = np.zeros(width + 1, np.int64)
    np.cumsum(np.bincount(key, minlength=width), out=bounds[1:])
    return order, bounds


_arange32 = np.arange(0, dtype=np.int32)


def _positions32(n: int) -> np.ndarray:
    """np.arange(n, dtype=np.int32), from a cached array (every batch asks for one)."""
    global _arange32
    if len(_arange32) < n:
        _arange32 = np.arange(max(n, 2 * len(_arange32)), dtype=np.int32)
    return _arange32[:n]


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
