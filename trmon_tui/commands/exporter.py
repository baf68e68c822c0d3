"""`trmon-tui exporter [LABEL=]FILE ... [--port 9108] [--bind 127.0.0.1]`: Prometheus metrics.

Follows the files live (store.follow: woken by file-change notifications on their directories
and a timer poll; the history caught up on two cores, as `report` reads it) into one
StatsEngine, and serves DESIGN.md's metrics at /metrics
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
import time
from collections.abc import Callable

from store.batch import Status
from store.follow import Consumer, FollowLoop
from store.multi import MultiTail
from store.sources import Source, file_summaries, parse_sources
from store.stats import StatsEngine
from trmon_tui.commands import metrics
from trmon_tui.plain import clean

PREFIX = "trmon-tui exporter: "
MIN_INTERVAL = 1.0  # seconds between two reads of the files at least
COST_RATIO = 10  # recomputes of the metrics at least this many times what the last one cost
REFRESH = 60.0  # seconds between recomputes when only the clock moves ...
AGE_RATIO = 30  # ... and at least this many recompute intervals (a third of a percent of a core)


def run(args: argparse.Namespace) -> int:
    """Serve the metrics until SIGINT or SIGTERM; returns the exit status."""
    from prometheus_client import start_http_server

    try:
        sources = parse_sources(args.files)
    except ValueError as exc:
        print(PREFIX + clean(exc), file=sys.stderr)
        return 2
    now = (lambda: args.now) if args.now is not None else time.time
    follower = Follower(sources, clock=args.clock, now=now, poll=max(0.05, args.poll),
                        rules=getattr(args, "rules", ()))
    try:
        server, _thread = start_http_server(args.port, addr=args.bind,
                                            registry=metrics.registry_of(follower.collector))
    except OSError as exc:  # port in use, address not of this host, no permission
        reason = exc.strerror or str(exc)
        print(PREFIX + f"cannot listen on {clean(args.bind)} port {args.port}: {reason}",
              file=sys.stderr)
        return 2
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: follower.stop())
    print(PREFIX + f"serving http://{_host(args.bind)}:{args.port}/metrics for "
          f"{', '.join(clean(s.path) for s in sources)}", file=sys.stderr, flush=True)
    try:
        follower.run()
    finally:
        server.shutdown()
        server.server_close()
    return 0


def _host(bind: str) -> str:
    return f"[{bind}]" if ":" in bind else bind


class Follower(Consumer):
    """Keeps the engine live on the files (store.follow) and the collector's families up to
    date."""

    prepare = staticmethod(StatsEngine.prepare)
    cost_ratio = COST_RATIO

    def __init__(self, sources: list[Source], *, clock: str, now: Callable[[], float],
                 poll: float, rules=()) -> None:
        self.sources = sources
        self.clock = clock
        self.rules = rules  # the config file's failure rules
        self.collector = metrics.CachedCollector()
        self.now = now
        self.loop = FollowLoop(sources, self, poll=poll, min_interval=MIN_INTERVAL)
        self._computed: tuple | None = None  # what the families were computed from
        self._messages = [""] * len(sources)

    def start(self, tail: MultiTail) -> None:
        self.tail = tail
        self.engine = StatsEngine(clock=self.clock, rules=self.rules, delays=False)  # no metric
        self._computed = None

    def stop(self) -> None:
        """End run() (safe from a signal handler or another thread)."""
        self.loop.stop()

    def run(self) -> None:
        self.loop.run()

    def take(self, item) -> None:
        self.engine.apply(item)

    def failed(self, error: BaseException, retry_in: float) -> None:
        print(PREFIX + f"{type(error).__name__}: {clean(error)}; reading the files again in "
              f"{retry_in:.0f} s", file=sys.stderr, flush=True)

    def _state(self) -> tuple:
        return (self.engine.version, tuple((s.state, s.rows_read) for s in self.tail.statuses))

    def due(self) -> bool:
        if self._state() != self._computed:
            return True
        # Ages grow with the clock: refresh them now and then (never with --now).
        return self.now is time.time and self.loop.since_recompute() >= \
            max(REFRESH, AGE_RATIO * self.loop.interval())

    def recompute(self) -> None:
        """Compute the metric families now (the scrapes serve them from then on)."""
        self._computed = self._state()
        now = self.now()
        summary = self.engine.summary(now=now, delivery_delay=False, buckets=metrics.BUCKETS)
        files = file_summaries(self.tail, self.engine)
        self.collector.families = metrics.compute(self.engine, summary, files, now=now)

    def status_changed(self, index: int, status: Status) -> None:
        """One line on stderr when a file's state changes (and when it is read again)."""
        source = self.sources[index]
        message = status.message if status.state != "live" else ""
        if message != self._messages[index]:
            text = message or f"{source.path} is readable now"
            print(PREFIX + f"{clean(source.label)}: {clean(text)}", file=sys.stderr,
                  flush=True)
        self._messages[index] = message
