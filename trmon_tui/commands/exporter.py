"""`trmon-tui exporter [LABEL=]FILE ... [--port 9108] [--bind 127.0.0.1]`: Prometheus metrics.

Follows the files live (store.multi.MultiTail, woken by file-change notifications on their
directories and a timer poll) into one StatsEngine, and serves DESIGN.md's metrics at /metrics
with prometheus_client's HTTP server.  A scrape never reads a file: the metric families are
recomputed from the engine after changes (at most once a second, and at most a tenth of the
time on a huge file, whose summary costs tenths of a second) and the server formats the last
ones.  Ages (the oldest queued wait, overdue testruns) grow with the clock even when nothing is
written: on a quiet file they are recomputed every REFRESH seconds or more, so that the idle
exporter of a huge file stays well under 1 % of a core (never with --now, which fixes the
clock).  Until the files have been read once, /metrics is empty.

Binds to 127.0.0.1 unless told otherwise: the farm's numbers are nobody else's business by
default.  A port in use is one line on stderr and status 2; SIGINT and SIGTERM stop it cleanly
with status 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable

from store.h5io import quiet_hdf5
from store.multi import MultiTail, Source, file_summaries, parse_sources
from store.stats import StatsEngine
from store.wake import watch_files
from trmon_tui.commands import metrics
from trmon_tui.commands.report_table import safe

PREFIX = "trmon-tui exporter: "
MIN_INTERVAL = 1.0  # seconds between two recomputes of the metrics at least
COST_RATIO = 10  # ... and at least this many times what the last one cost
REFRESH = 60.0  # seconds between recomputes when only the clock moves ...
AGE_RATIO = 30  # ... and at least this many recompute intervals (a third of a percent of a core)


def run(args: argparse.Namespace) -> int:
    """Serve the metrics until SIGINT or SIGTERM; returns the exit status."""
    from prometheus_client import start_http_server

    try:
        sources = parse_sources(args.files)
    except ValueError as exc:
        print(PREFIX + safe(exc), file=sys.stderr)
        return 2
    now = (lambda: args.now) if args.now is not None else time.time
    follower = Follower(sources, clock=args.clock, now=now, poll=max(0.05, args.poll),
                        rules=getattr(args, "rules", ()))
    try:
        server, _thread = start_http_server(args.port, addr=args.bind,
                                            registry=metrics.registry_of(follower.collector))
    except OSError as exc:  # port in use, address not of this host, no permission
        reason = exc.strerror or str(exc)
        print(PREFIX + f"cannot listen on {safe(args.bind)} port {args.port}: {reason}",
              file=sys.stderr)
        return 2
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: follower.stop())
    print(PREFIX + f"serving http://{_host(args.bind)}:{args.port}/metrics for "
          f"{', '.join(safe(s.path) for s in sources)}", file=sys.stderr, flush=True)
    try:
        follower.run()
    finally:
        server.shutdown()
        server.server_close()
    return 0


def _host(bind: str) -> str:
    return f"[{bind}]" if ":" in bind else bind


class Follower:
    """Keeps the engine live on the files and the collector's families up to date."""

    def __init__(self, sources: list[Source], *, clock: str, now: Callable[[], float],
                 poll: float, rules=()) -> None:
        self.sources = sources
        self.clock = clock
        self.rules = rules  # the config file's failure rules
        self._start_over()
        self.collector = metrics.CachedCollector()
        self.now = now
        self.poll = poll
        self.cost = 0.0  # seconds the last recompute took
        self._computed: tuple | None = None  # what the families were computed from
        self._computed_at = -float("inf")
        self._messages = [""] * len(sources)
        self._stop = threading.Event()
        self._wake = threading.Event()

    def _start_over(self) -> None:
        self.tail = MultiTail(self.sources)
        self.engine = StatsEngine(clock=self.clock, rules=self.rules)
        self._computed = None

    def stop(self) -> None:
        """End run() (safe from a signal handler or another thread)."""
        self._stop.set()
        self._wake.set()

    def run(self) -> None:
        quiet_hdf5()
        watch_files([s.path for s in self.tail.sources], self._wake.set, self._stop)
        while not self._stop.is_set():
            read_at = time.monotonic()
            try:
                self.read()
                self._recompute_if_due()
            except Exception as exc:  # noqa: BLE001 - a bug must not end the farm's metrics
                print(PREFIX + f"{type(exc).__name__}: {safe(exc)}; reading the files again",
                      file=sys.stderr, flush=True)
                self._start_over()
            self._wake.wait(self.poll)
            self._wake.clear()
            # A change notice wakes at once, but the files are read at most once a poll or a
            # second (a poll opens every changed file; a busy writer changes it all the time).
            self._stop.wait(min(self.poll, MIN_INTERVAL) - (time.monotonic() - read_at))

    def read(self) -> None:
        """Poll every file until none has rows left (or a stop)."""
        while not self._stop.is_set():
            result = self.tail.poll_all(skip_quiet=True)
            for item in result.items:
                self.engine.apply(item)
            self._say_states()
            if not result.more:
                return

    def _recompute_if_due(self) -> None:
        state = (self.engine.version, tuple((s.state, s.rows_read) for s in self.tail.statuses))
        since = time.monotonic() - self._computed_at
        interval = max(MIN_INTERVAL, COST_RATIO * self.cost)
        changed = state != self._computed
        clock_moved = self.now is time.time and since >= max(REFRESH, AGE_RATIO * interval)
        if (changed and since >= interval) or clock_moved:
            self.recompute()
            self._computed = state

    def recompute(self) -> None:
        """Compute the metric families now (the scrapes serve them from then on)."""
        started = time.monotonic()
        now = self.now()
        summary = self.engine.summary(now=now, delivery_delay=False)
        files = file_summaries(self.tail, self.engine)
        self.collector.families = metrics.compute(self.engine, summary, files, now=now)
        self._computed_at = time.monotonic()
        self.cost = self._computed_at - started

    def _say_states(self) -> None:
        """One line on stderr when a file's state changes (and when it is read again)."""
        for k, (source, status) in enumerate(zip(self.tail.sources, self.tail.statuses,
                                                 strict=True)):
            message = status.message if status.state != "live" else ""
            if message != self._messages[k]:
                text = message or f"{source.path} is readable now"
                print(PREFIX + f"{safe(source.label)}: {safe(text)}", file=sys.stderr,
                      flush=True)
            self._messages[k] = message
