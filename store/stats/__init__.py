"""Incremental, vectorised statistics of a trmon-tui event file (DESIGN.md "Definitions").

``StatsEngine(clock="received"|"emit")`` takes the tail reader's batches (``apply``) and answers
the monitor's and ``report``'s queries.  ``apply`` costs O(batch); any split of the same rows into
batches gives bit-identical answers to one cold batch.

Queries (all read-only; ``since`` = only testruns requested at or after that time, seconds since
the epoch, in the engine's clock; ``group`` = one device group; ``now`` = the time running phases
grow to, default ``time.time()``):

- ``summary(since, group, now, *, delivery_delay=True, trend=None, hosts=True)``:
  ``{"groups": {GROUP: SUMMARY}, "all": SUMMARY}`` (DESIGN.md's report JSON, with its
  "Operator insight" keys ``hosts`` (unless ``hosts=False``) and ``overdue``, and ``trend``
  when ``trend`` is "hour" or "day").  Extensions to SUMMARY beyond DESIGN.md:

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

  Choices for the operator insight (DESIGN.md is silent on these):

  - hosts: a SUMMARY lists the hosts with at least one of its testruns, by name; a testrun's
    hosts are those of its first request row (file order), parsed from the JSON text
    [[host, instance], ...] (instances ignored, each host once; text that is not such a list,
    e.g. in a foreign file, gives no host; "" is a host name like any other).
    ``infra_errors`` compares the file rows of the first test_start and the first error.
    ``streak`` orders the host's ended testruns by (end time in the engine's clock, file row
    of the ending event); queued and ongoing ones neither count nor break it.  ``last_ok`` is
    the latest end (first publish) of a finished testrun: one with an error is never "ok",
    even if it published before failing.  ``health`` compares error_pct with twice the
    SUMMARY's exactly, in integers (no rounding at the boundary: exactly twice is suspect);
    the null cases cannot occur (errors >= 3 implies ended testruns in host and SUMMARY).
  - overdue: a queued testrun's "since" is its first queue_start (file order), an ongoing
    one's the time of its last known-name event (file order); elapsed = now − since may be
    negative (clock skew, or ``now`` in the past): never overdue.  The p95 is that of the
    SUMMARY's ``durations`` of the group (non-negative samples, same window) with n >= 20;
    overdue means elapsed > p95 (strictly).  Order: elapsed / p95 descending (p95 = 0: an
    infinite ratio, first), ties by the file order of the testruns' first events; "all" is
    the union of the groups' lists in that order.
  - trend: a bucket is floor(first request time / 3600 or 86400) in the engine's clock, so
    UTC hours and days; ``start`` is its first second (a float); ``requests`` counts the
    bucket's testruns (not repeated request events); a testrun never requested is in no
    bucket; each SUMMARY spans its own first to last bucket (a group's rows may start later
    than those of "all"; [] when none of its testruns was requested); ``testrun`` and
    ``queue`` percentiles are numpy's default over the bucket's non-negative samples of those
    durations.  More than trend.MAX_BUCKETS (10,000) rows raises TrendTooLong (a ValueError)
    before any other work: an hourly trend over more than about 14 months, or one stray
    request decades away, asks for a coarser bucket or a window instead.

  Keys of "Why it waits, and why it fails" (capacity.py, failures.py, fisher.py, why.py):
  every SUMMARY has ``hosts_total``, ``hosts_busy``, ``starved`` and, unless
  ``failures=False``, ``failures``; "all" also ``starved_groups`` (not with ``group=``, where
  "all" is that group's SUMMARY); each "hosts" entry gains ``busy``, ``busy_1h``,
  ``busy_24h``.  Choices where DESIGN.md is silent: ``busy`` means an ongoing testrun of the
  SUMMARY (status as of the file) has the host, also when ``now`` is before its queue_end; an
  interval whose end comes before its start (clock skew) occupies nothing; ``starved`` uses
  the ``oldest_queued_wait`` extension (first queue_start, else request) and is false when it
  is null; categories are listed in rule order (a repeated category once), then "infra" and
  "test" (a rule may reuse those names); the error text is that of the first error event
  (file order; none: ""); a configuration is that of the first request, "" or none shown as
  "(none)"; ``types[].last`` is the latest first-error time in the engine's clock; the Fisher
  p is exact (fisher.py), screened by a floating-point estimate that only skips pairs whose p
  is clearly above 0.01.  Rules come from ``StatsEngine(rules=...)`` / ``set_rules``.

- ``compare(period, group, now)``: DESIGN's "Looking back" comparison of the last two periods
  (store/stats/compare.py).

- ``groups()``, ``testruns(status, ..., order)``, ``segments(..., offset, limit)``,
  ``samples(phase, ...)``, ``counts()``, and for the monitor's insight panes ``hosts(...)``,
  ``host_testruns(host, ..., limit)``, ``overdue(...)``, ``trend(bucket, ...)``, and for the
  Failures pane ``failures(...)``, ``error_testruns(..., type=, category=, configuration=,
  host=)``, ``configuration_hosts(configuration, ...)``: see the methods.

Costs: ``apply`` is O(batch + open starts) (the still-open flash/boot/test starts of all runs,
normally a handful per running testrun); a batch of 100,000 events or more has part of its work
done by a helper thread while ``apply`` returns (queries wait for it). ``prepare(batch)`` does
the part that needs no state, in any thread, ahead of ``apply``. The queries are O(state),
vectorised: ``summary`` of a million testruns takes about 0.25 s on two cores (its sample
statistics and the failure and capacity figures run as jobs in two threads), a third of it for
delivery_delay (one sample per event; ``summary(delivery_delay=False)`` skips it, and an engine
made with ``delays=False`` does not even keep them). The hosts and overdue parts are a few
passes over the runs and the (run, host) pairs, the trend a few more (see hosts.py, overdue.py,
trend.py; tests/benchmarks/bench_stats.py prints their cost). ``testruns`` and ``overdue`` need
the p95 of the judged phases per group: ``summary`` leaves them for the same state version and
window, else they are computed from the samples once per version and window. Not thread-safe:
call ``apply`` and the queries from one thread, or hold a lock around them.
"""

from __future__ import annotations

import time

import numpy as np

from store.batch import Batch, Reset
from store.stats import failures as failure_mod
from store.stats import hosts as host_mod
from store.stats import listing
from store.stats import overdue as overdue_mod
from store.stats.buckets import duration_buckets
from store.stats.compare import PHASE_PARTS
from store.stats.compare import compare as _compare
from store.stats.describe import describe
from store.stats.engine import EngineState
from store.stats.engine import prepare as engine_prepare
from store.stats.failures import Labels, Rule
from store.stats.frame import STATUSES, Frame, group_index, has_events
from store.stats.names import DURATIONS, ITERATED, PER_RUN
from store.stats.phases import SEGMENTS
from store.stats.summary import summary as _summary
from store.stats.trend import BUCKETS, TrendTooLong, trends

__all__ = ["StatsEngine", "describe", "DURATIONS", "ITERATED", "PER_RUN", "STATUSES",
           "SEGMENTS", "BUCKETS", "TrendTooLong", "PHASE_PARTS", "Rule"]


class StatsEngine:
    """Statistics of the testruns of one file, updated batch by batch."""

    def __init__(self, clock: str = "received", rules=(), *, delays: bool = True,
                 delay_runs: bool = True) -> None:
        """``rules``: the config file's failure rules (store.config.Config.rules, a sequence of
        failures.Rule), tried in order before infra / test.  ``delays=False``: keep no
        delivery delays (a sample per event, the largest state and a fifth of ``apply``'s
        work): for a consumer that never asks ``summary(delivery_delay=True)`` (the monitor,
        the exporter, the metrics).  ``delay_runs=False``: keep them without their testruns
        (half their memory), for a consumer that asks for them only without a time window
        (``since``): `report` knows its window before it reads."""
        self.state = EngineState(clock, delays=delays, delay_runs=delay_runs)
        self._p95 = overdue_mod.P95Table()
        self.labels = Labels(rules)
        """Error categories, types and configurations by string id (failures.Labels)."""

    def set_rules(self, rules) -> None:
        """Use these failure rules from now on (every category is computed again)."""
        self.labels = Labels(rules)

    @property
    def clock(self) -> str:
        return self.state.clock

    @property
    def version(self) -> int:
        """Incremented by every apply and reset, never repeated: a cheap "has anything changed"
        check for caches."""
        return self.state.version

    def reset(self) -> None:
        """Forget everything (after a Reset from the tail reader).  The kept p95s go with the
        version they were kept for: a reset's version is new."""
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
                now: float | None = None, *, delivery_delay: bool = True,
                trend: str | None = None, hosts: bool = True, failures: bool = True,
                buckets=None) -> dict:
        """DESIGN.md's report JSON plus the documented extensions (see the module docstring).

        ``delivery_delay=False`` omits that extension and most of the cost on a large file
        (it is one sample per event): a live view refreshing often may want that.
        ``hosts=False`` omits "hosts" (about a fifth of ``delivery_delay=False``'s cost at a
        million testruns): a view that does not show them (the Hosts pane asks ``hosts()``).
        ``trend`` ("hour" or "day") adds DESIGN's "trend" rows to every SUMMARY (raises
        TrendTooLong, a ValueError, when they would be more than trend.MAX_BUCKETS).
        Always "hosts_total", "hosts_busy", "starved" (and "starved_groups" in "all", when
        ``group`` is None); ``failures=False`` omits "failures" (see ``failures``).
        ``buckets`` (bounds in seconds, ascending) adds "duration_buckets" beside "groups" and
        "all": ``duration_buckets(buckets, ...)``'s answer, counted while the samples are at
        hand (the metrics want both).
        """
        if delivery_delay and not self.state.keep_delays:
            raise ValueError("this StatsEngine keeps no delivery delays (delays=False)")
        self.state.drain()
        out = _summary(self.state, since, group, time.time() if now is None else now,
                       delivery_delay, trend, hosts, self.labels if failures else None,
                       None if buckets is None else np.asarray(buckets, float))
        key = (self.state.version, since)
        for name, part in out["groups"].items():  # the testruns listings' overdue need them
            self._p95.put(key, name, overdue_mod.p95_row(part["durations"]))
        return out

    def groups(self) -> list[str]:
        """Device groups of the testruns seen, sorted."""
        self.state.drain()
        return group_index(self.state)[0]

    def testruns(self, status: str, since: float | None = None, group: str | None = None,
                 now: float | None = None, offset: int = 0, limit: int | None = None,
                 order: str = "newest") -> list[dict]:
        """Testruns of a status ("queued", "ongoing", "finished", "error"), newest first, or
        with ``order="overdue"`` the overdue ones first (largest elapsed / p95 first, ties by
        file order), then the others newest first.

        Each is ``{"run", "testrun_id", "device_group", "requestor", "hosts", "phase",
        "phase_since", "age", "waited", "status", "error", "judged_phase", "judged_since",
        "p95", "overdue"}``: ``age`` = now − request, ``waited`` = time in the queue so far
        (queued) or the queue wait (others); ``judged_phase`` / ``judged_since`` = DESIGN's
        phase and start the overdue rule judges (None: not judged), ``p95`` = that phase's p95
        in the testrun's group and window (None: not judged, or fewer than 20 samples),
        ``overdue`` = elapsed / p95 when overdue (inf when p95 is 0), else None.
        """
        return listing.testruns(self._frame(since, group, now), status, offset, limit,
                                self._p95, order)

    def overdue(self, since: float | None = None, group: str | None = None,
                now: float | None = None) -> list[dict]:
        """The overdue testruns of the window (of ``group``, else of every group), most overdue
        first: DESIGN's SUMMARY "overdue" entries plus ``device_group`` (a status bar's count
        without a whole summary)."""
        f = self._frame(since, group, now)
        return listing.overdue(f, self._p95)

    def hosts(self, since: float | None = None, group: str | None = None,
              now: float | None = None) -> list[dict]:
        """One row per worker host with testruns in the window (of ``group``, else of every
        group): bad first, then suspect, then good, each by error % descending (None last),
        then name.  Each is ``{"host", "health", "streak", "errors", "testruns",
        "error_pct", "infra_errors", "ongoing", "finished", "last_ok", "busy", "busy_1h",
        "busy_24h", "running"}``, the DESIGN figures of the SUMMARY's "hosts" over the same
        testruns (busy: an ongoing testrun occupies it; busy_1h / busy_24h: the fraction of
        the last hour / day in which a testrun occupied it), and ``running``: up
        to 3 of its ongoing testruns, newest first, as ``{"run", "testrun_id", "phase",
        "phase_since"}`` (phase as in ``testruns``)."""
        return host_mod.host_rows(self._frame(since, group, now))

    def failures(self, since: float | None = None, group: str | None = None,
                 now: float | None = None) -> dict:
        """DESIGN's SUMMARY "failures" of the window (of ``group``, else of all groups), without
        the rest of the summary: ``{"categories": {CAT: n}, "types": [{"type", "testruns",
        "hosts", "last"}], "configurations": [{"configuration", "ended", "errors",
        "error_pct", "suspect_hosts": [{"host", "ended", "errors", "p"}]}]}``: categories in
        rule order then "infra", "test" (zeros included); types most testruns first (then
        type); configurations highest error_pct first (then name), suspects smallest p first
        (then host)."""
        f = self._frame(since, group, now)
        return failure_mod.failures(f, self.labels, False)[0][0] if group is not None else \
            failure_mod.failures(f, self.labels, True)[1]

    def error_testruns(self, since: float | None = None, group: str | None = None,
                       now: float | None = None, limit: int | None = 50, *,
                       type: str | None = None, category: str | None = None,
                       configuration: str | None = None, host: str | None = None) -> list[dict]:
        """The window's error testruns, latest (first error time) first, at most ``limit``,
        only those of the given error ``type`` / ``category`` / ``configuration`` / ``host``
        when given: ``{"run", "testrun_id", "device_group", "hosts" (list of names),
        "configuration", "time" (first error, clock), "category", "type", "error" (the
        first error's text)}``."""
        return failure_mod.error_testruns(self._frame(since, group, now), self.labels, limit,
                                          type=type, category=category,
                                          configuration=configuration, host=host)

    def configuration_hosts(self, configuration: str, since: float | None = None,
                            group: str | None = None, now: float | None = None) -> list[dict]:
        """Every host with an ended testrun of ``configuration`` (a name as in "failures";
        "(none)" for testruns without one) in the window: ``{"host", "ended", "errors",
        "error_pct", "p", "suspect"}``, smallest p first (then host): ``p`` is DESIGN's
        one-sided Fisher p of the host against the others on that configuration, ``suspect``
        DESIGN's rule (p < 0.01 and errors >= 3).  [] for a configuration never seen."""
        return failure_mod.configuration_hosts(self._frame(since, group, now), self.labels,
                                               configuration)

    def host_testruns(self, host: str, since: float | None = None, group: str | None = None,
                      now: float | None = None, limit: int | None = 50) -> list[dict]:
        """The latest testruns of one worker host in the window, newest first (by request
        time), at most ``limit``: ``{"run", "testrun_id", "device_group", "status", "phase",
        "error", "request", "end", "infra"}``: ``phase`` = the furthest phase it reached
        (init, queue, flash, boot, test, publish; None without any event of one), ``error``
        = its first error message, ``end`` = when it ended (first error, else first publish;
        None while running), ``infra`` = an error with no test_start before it.  [] for a host
        never seen."""
        return host_mod.host_testruns(self._frame(since, group, now), host, limit)

    def trend(self, bucket: str, since: float | None = None, group: str | None = None,
              now: float | None = None) -> list[dict]:
        """DESIGN's "trend" rows (``bucket`` "hour" or "day") of the window's testruns (of
        ``group``, else of all): the SUMMARY's "trend" without the rest of the summary.
        Raises TrendTooLong (a ValueError, with a sentence to show) beyond trend.MAX_BUCKETS
        rows."""
        return trends(self._frame(since, group, now), bucket, False, True)[1]

    def compare(self, period: float, group: str | None = None,
                now: float | None = None) -> dict:
        """DESIGN's "Looking back" comparison: the last ``period`` seconds before ``now``
        against the ``period`` before them, per device group (of ``group`` only, when given:
        then "all" is that group) and for all (see store.stats.compare)."""
        return _compare(self._frame(None, group, now), period)

    def segments(self, since: float | None = None, group: str | None = None,
                 now: float | None = None, offset: int = 0, limit: int = 20) -> dict:
        """Time-and-motion rows: ``{"total", "runs", "testrun_ids", "matrix" (k, 6) seconds of
        init/queue/flash/boot/test/publish, "running", "status"}``, newest testruns first."""
        return listing.segments(self._frame(since, group, now), offset, limit)

    def samples(self, phase: str, since: float | None = None, group: str | None = None,
                now: float | None = None, *, ordered: bool = True) -> np.ndarray:
        """Sorted durations (s) of one of DURATIONS over the window (negatives excluded);
        ``ordered=False``: not sorted (a histogram's; a sort of a million is 50 ms)."""
        return listing.samples(self._frame(since, group, now), phase, ordered)

    def duration_buckets(self, bounds, since: float | None = None, group: str | None = None,
                         now: float | None = None) -> dict[str, dict[str, list[int]]]:
        """Per device group and duration (DURATIONS): how many samples of SUMMARY's
        ``durations`` are <= each of ``bounds`` (seconds, ascending): cumulative histogram
        buckets, as Prometheus wants them."""
        return duration_buckets(self._frame(since, group, now), np.asarray(bounds, float))

    def testruns_per_file(self, file_of, n_files: int) -> list[int]:
        """Testruns (with at least one event) of each of ``n_files`` files; ``file_of(runs)``
        gives the file index of each run (store.multi.MultiTail.file_of)."""
        st = self.state
        st.drain()
        files = np.asarray(file_of(np.flatnonzero(has_events(st))), np.intp)
        return np.bincount(files, minlength=n_files).tolist()

    def counts(self) -> dict:
        """Cheap totals for a status bar: events and testruns (with at least one event)."""
        st = self.state
        st.drain()
        testruns = int(np.count_nonzero(has_events(st)))
        return {"events": st.n_events, "testruns": testruns}
