"""Incremental, vectorised statistics of a trmon-tui event file (DESIGN.md "Definitions").

``StatsEngine(clock="received"|"emit")`` takes the tail reader's batches (``apply``) and answers
the monitor's and ``report``'s queries.  ``apply`` costs O(batch); any split of the same rows into
batches gives bit-identical answers to one cold batch.

Queries (all read-only; ``since`` = only testruns requested at or after that time, seconds since
the epoch, in the engine's clock; ``group`` = one device group; ``now`` = the time running phases
grow to, default ``time.time()``):

- ``summary(since, group, now)``: ``{"groups": {GROUP: SUMMARY}, "all": SUMMARY}`` (DESIGN.md's
  report JSON).  Extensions to SUMMARY beyond DESIGN.md:

  - ``oldest_queued_wait``: seconds the longest-waiting queued testrun has waited (since its first
    queue_start, else its request), null when none is queued.
  - ``phases``: ``{PHASE: n}`` current phase of the queued and ongoing testruns (see
    store.stats.phases: init, queue, pulled, flash, flashed, boot, booted, test, publish, unknown).
  - ``anomalies``: ``{"unknown_events", "ends_without_start", "negative_durations",
    "unrequested_events"}`` counts (negative durations are left out of every statistic).
  - ``delivery_delay``: ``{EVENT_NAME: STATS}`` of received − emit, per event name seen
    (stored as float32: sub-millisecond precision).

  Choices where DESIGN.md is silent: "groups" lists every device group of the file, also
  those a window leaves empty; ``testruns`` counts testruns with at least one event; with
  ``since`` a testrun never requested is outside every window; "first" request / queue_start /
  queue_end / publish and "last" test_end are in file order; ``requestors`` counts testruns
  (the first request row of each) and lists every requestor; ``queued_ids`` / ``ongoing_ids``
  are in file order; ``event_counts`` lists the 11 known names always, unknown names when seen;
  ``group=`` naming a group the file does not have gives that group with zero testruns; the
  mean and std of "all" may differ from those of one merged sample in the last bits (the
  groups' samples are summed one group after the other), never between cold and incremental.
- ``groups()``, ``testruns(status, ...)``, ``segments(..., offset, limit)``,
  ``samples(phase, ...)``, ``counts()``: see the methods.

Costs: ``apply`` is O(batch + open starts) (the still-open flash/boot/test starts of all runs,
normally a handful per running testrun); a batch of 100,000 events or more has part of its work
done by a helper thread while ``apply`` returns (queries wait for it).  ``prepare(batch)`` does
the part that needs no state, in any thread, ahead of ``apply``.  The queries are O(state),
vectorised: ``summary`` of a million testruns takes about 0.2 s on two cores (its sample
statistics run in two threads), a third of it for delivery_delay (one sample per event;
``summary(delivery_delay=False)`` skips it).  Not thread-safe: call ``apply`` and the queries from
one thread, or hold a lock around them.
"""

from __future__ import annotations

import time

import numpy as np

from store.batch import Batch, Reset
from store.stats import listing
from store.stats.buckets import duration_buckets
from store.stats.describe import describe
from store.stats.engine import EngineState
from store.stats.engine import prepare as engine_prepare
from store.stats.frame import DURATIONS, STATUSES, Frame, group_index, has_events
from store.stats.phases import SEGMENTS
from store.stats.summary import summary as _summary

__all__ = ["StatsEngine", "describe", "DURATIONS", "STATUSES", "SEGMENTS"]


class StatsEngine:
    """Statistics of the testruns of one file, updated batch by batch."""

    def __init__(self, clock: str = "received") -> None:
        self.state = EngineState(clock)

    @property
    def clock(self) -> str:
        return self.state.clock

    @property
    def version(self) -> int:
        """Incremented by every apply: a cheap "has anything changed" check for caches."""
        return self.state.version

    def reset(self) -> None:
        """Forget everything (after a Reset from the tail reader)."""
        self.state.reset()

    def apply(self, batch: Batch | Reset) -> None:
        """Fold one Batch of new rows into the statistics (a Reset resets)."""
        self.state.apply(batch)

    @staticmethod
    def prepare(batch: Batch | Reset) -> None:
        """Do the part of ``apply`` that depends on the batch alone, in any thread, ahead of
        ``apply`` (which then finds it done): a reader thread can call it meanwhile."""
        if isinstance(batch, Batch):
            engine_prepare(batch)

    def _frame(self, since, group, now) -> Frame:
        self.state.drain()
        return Frame(self.state, since, group, time.time() if now is None else now)

    def summary(self, since: float | None = None, group: str | None = None,
                now: float | None = None, *, delivery_delay: bool = True) -> dict:
        """DESIGN.md's report JSON plus the documented extensions (see the module docstring).

        ``delivery_delay=False`` omits that extension and most of the cost on a large file
        (it is one sample per event): a live view refreshing often may want that.
        """
        self.state.drain()
        return _summary(self.state, since, group, time.time() if now is None else now,
                        delivery_delay)

    def groups(self) -> list[str]:
        """Device groups of the testruns seen, sorted."""
        self.state.drain()
        return group_index(self.state)[0]

    def testruns(self, status: str, since: float | None = None, group: str | None = None,
                 now: float | None = None, offset: int = 0,
                 limit: int | None = None) -> list[dict]:
        """Testruns of a status ("queued", "ongoing", "finished", "error"), newest first.

        Each is ``{"run", "testrun_id", "device_group", "requestor", "hosts", "phase",
        "phase_since", "age", "waited", "status", "error"}``: ``age`` = now − request,
        ``waited`` = time in the queue so far (queued) or the queue wait (others).
        """
        return listing.testruns(self._frame(since, group, now), status, offset, limit)

    def segments(self, since: float | None = None, group: str | None = None,
                 now: float | None = None, offset: int = 0, limit: int = 20) -> dict:
        """Time-and-motion rows: ``{"total", "runs", "testrun_ids", "matrix" (k, 6) seconds of
        init/queue/flash/boot/test/publish, "running", "status"}``, newest testruns first."""
        return listing.segments(self._frame(since, group, now), offset, limit)

    def samples(self, phase: str, since: float | None = None, group: str | None = None,
                now: float | None = None) -> np.ndarray:
        """Sorted durations (s) of one of DURATIONS over the window (negatives excluded)."""
        return listing.samples(self._frame(since, group, now), phase)

    def duration_buckets(self, bounds, since: float | None = None, group: str | None = None,
                         now: float | None = None) -> dict[str, dict[str, list[int]]]:
        """Per device group and duration (DURATIONS): how many samples of SUMMARY's
        ``durations`` are <= each of ``bounds`` (seconds, ascending): cumulative histogram
        buckets, as Prometheus wants them."""
        return duration_buckets(self._frame(since, group, now), np.asarray(bounds, float))

    def counts(self) -> dict:
        """Cheap totals for a status bar: events and testruns (with at least one event)."""
        st = self.state
        st.drain()
        testruns = int(np.count_nonzero(has_events(st)))
        return {"events": st.n_events, "testruns": testruns}
