"""The one follow loop: keeps a consumer up to date with files that are still being written.

The monitor (trmon_tui/feed.py), the exporter and `tail --follow` are followers: each is a
Consumer of a FollowLoop, which owns the reading (every PyTables call, in the thread that runs
it) and decides when:

- it reads: on a change notice (store.wake, on the files' directories), on the timer poll
  (``poll`` seconds; a notice can be missed) and on request (``wake``), at most once per
  ``min_interval`` however often a writer changes the files (a poll opens each file); a file
  whose stat has not changed since a poll that found nothing is not even opened
  (MultiTail.poll(skip_quiet=True));
- it catches up: the history at the start, and whenever a poll leaves rows waiting (a file
  grew a lot, or a Reset makes every file be read again), is read as `report` reads it
  (store.reading.catch_up: a reader thread reads ahead, ``Consumer.prepare`` runs there, so
  reading and applying overlap on two cores), keeping the memory its batches free for the
  next ones (store.memory) until the first read after it;
- it recomputes (``Consumer.recompute``: metrics, a snapshot) when the consumer says something
  changed (``Consumer.due``), right after a catch-up, else at most once per ``interval()``:
  ONE throttle rule, ``max(floor, cost_ratio * cost)`` where cost is what the last recompute
  took, so that a huge state costs a bounded share of a core;
- it restarts after a failure of its own (a bug, not a bad file: those are statuses): the
  consumer is told (``failed``), the loop waits 1 s, doubling to 60 s while it keeps failing
  (back to 1 s once a catch-up succeeds), then starts over on a fresh tail (``start``).

A Consumer sees, in the loop's thread and in order: ``start(tail)`` (forget everything: a new
MultiTail), ``take(item)`` for each Batch and Reset, ``status_changed(index, status)`` when a
file's state or message changes, ``progress()`` after each part of a catch-up, ``read_done()``
after every read that reached the files' current end, ``woken()`` each time the loop wakes
(requests from other threads), ``recompute()``.  A mirror (a follower that appends what it
takes to a local file) overrides take and start.

Looking back (``at``, DESIGN "Looking back"): the files are read as they stood at ``at`` (only
the events received by then: MultiTail's ``at``) and, once caught up, not read again (no timer
poll, change notices ignored): recomputes come on request only.  ``look_at`` moves to another
time, or back to live (None), by reading the files again from the start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from store import catchup, memory
from store.batch import Batch, Reset, Status
from store.h5io import quiet_hdf5
from store.multi import MultiTail
from store.reading import catch_up
from store.sources import Source

RETRY_FIRST = 1.0   # seconds before the first restart after a failure ...
RETRY_MAX = 60.0    # ... doubling while it keeps failing, up to this
LOADING_FLOOR = 3.0  # seconds between two recomputes at least while catching up ...
LOADING_RATIO = 10   # ... and this many times their cost (the reading is not starved)


class Consumer:
    """What a follower does with what the loop reads: override what you need (all run in the
    loop's thread).  See the module."""

    prepare: Callable[[Batch], None] | None = None
    """Run on each Batch in the catch-up's reader thread (e.g. StatsEngine.prepare)."""
    cost_ratio: float = 3.0
    """Live, a recompute comes at most every ``cost_ratio`` times what the last one cost."""
    fatal: tuple[type[BaseException], ...] = ()
    """Errors that end the loop (raised out of run()) instead of restarting it."""

    def start(self, tail: MultiTail) -> None:
        """A fresh tail of the files (first start, start_over, restart): forget everything."""

    def take(self, item: Batch | Reset) -> None:
        """The next item of the files (a Reset: forget everything, every file is read
        again)."""

    def status_changed(self, index: int, status: Status) -> None:
        """File ``index``'s state or message changed (store.trouble.decide for a follower:
        keep polling, and say so)."""

    def progress(self) -> None:
        """A part of a catch-up was taken (for a progress bar)."""

    def read_done(self) -> None:
        """A read reached the files' current end."""

    def woken(self) -> None:
        """The loop woke up (a notice, the timer, ``FollowLoop.wake``), before it reads."""

    def due(self) -> bool:
        """Whether recompute() would show something new."""
        return False

    def recompute(self) -> None:
        """The consumer's costly work (its cost sets the throttle)."""

    def failed(self, error: BaseException, retry_in: float) -> None:
        """The loop failed; it starts over in ``retry_in`` seconds: say so."""


class FollowLoop:
    """Follows ``sources`` for ``consumer``; run() blocks until stop()."""

    def __init__(self, sources: Sequence[Source], consumer: Consumer, *,
                 poll: float | None = 1.0, min_interval: float = 1.0, watch: bool = True,
                 hold: float = catchup.HOLD, max_rows: int = 200_000,
                 start_row: int = 0, at: float | None = None,
                 watch_step: int | None = None) -> None:
        self.sources = tuple(sources)
        self.consumer = consumer
        self.poll = poll
        """Seconds between timer polls; None: no timer (read once, then on wake(read=True))."""
        self.min_interval = min_interval
        self.watch = watch
        self.hold = hold
        self.max_rows = max_rows
        self.start_row = start_row
        self.watch_step = watch_step
        """Milliseconds between the watch's looks for changes (None: store.wake.STEP); a
        follower that wants a low latency (`tail --follow`, a mirror's source) looks more often."""
        """Each file is read from this event row on (TailReader.start_row: `tail --skip`)."""
        self.at = at
        """Looking back: the files as they stood at this time, read once (None: live)."""
        self.tail: MultiTail | None = None
        self.cost = 0.0
        """Seconds the last recompute took."""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._start_over = threading.Event()
        self._urgent = False
        self._changed = False  # a change notice came since the last read
        self._read_at = 0.0
        self._recomputed_at = -float("inf")
        self._shown: list[tuple[str, str]] = []
        self._keeping = False  # freed memory kept since a catch-up (store.memory): see read

    # ---- from any thread ------------------------------------------------------------------
    def wake(self, *, urgent: bool = False, read: bool = False) -> None:
        """Wake the loop: ``woken()`` runs; ``urgent``: the next recompute is not throttled
        (an operator waits for it); ``read``: the files are read too."""
        if urgent:
            self._urgent = True
        if read:
            self._changed = True
        self._wake.set()

    def hurry(self) -> None:
        """The next recompute is not throttled (an operator waits for it); from the loop's
        thread (``woken``), or with wake(urgent=True) from another."""
        self._urgent = True

    def start_over(self) -> None:
        """Read everything again on a fresh tail (ends a catch-up early)."""
        self._start_over.set()
        self._wake.set()

    def look_at(self, at: float | None) -> None:
        """Show the files as they stood at ``at`` (None: live again): read them again from the
        start (a catch-up under way ends early)."""
        self.at = at
        self.start_over()

    def stop(self) -> None:
        """End run() (safe from a signal handler or another thread)."""
        self._stop.set()
        self._wake.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def interval(self, loading: bool = False) -> float:
        """Least seconds between two recomputes: the one throttle rule."""
        if loading:
            return max(LOADING_FLOOR, LOADING_RATIO * self.cost)
        return max(self.min_interval / 2, self.consumer.cost_ratio * self.cost)

    def since_recompute(self) -> float:
        return time.monotonic() - self._recomputed_at

    # ---- the loop's thread ----------------------------------------------------------------
    def run(self) -> None:
        """Follow until stop(); restarts after a failure (see the module)."""
        quiet_hdf5()
        if self.watch:
            from store.wake import watch_files

            watch_files([s.path for s in self.sources], self._notice, self._stop,
                        **({"step": self.watch_step} if self.watch_step else {}))
        delay = RETRY_FIRST
        while not self._stop.is_set():
            try:
                self.open()
                self.catch_up()
                delay = RETRY_FIRST  # a failure from here on is not the same one again
                self._follow()
            except self.consumer.fatal:
                raise
            except Exception as exc:  # noqa: BLE001 - a bug must not end a follower
                self.consumer.failed(exc, delay)
                self._stop.wait(delay)
                delay = min(2 * delay, RETRY_MAX)
            finally:
                if self.tail is not None:
                    self.tail.close()  # no file left open, also after a failure

    def _notice(self) -> None:
        """Called by the watch thread."""
        self._changed = True
        self._wake.set()

    def open(self) -> None:
        """Start on a fresh tail of the files (run() does; a benchmark may, then catch_up)."""
        self._start_over.clear()
        if self.tail is not None:
            self.tail.close()
        self.tail = MultiTail(self.sources, hold=self.hold, max_rows=self.max_rows, at=self.at,
                              **({"start_row": self.start_row} if self.start_row else {}))
        self._shown = [(s.state, s.message) for s in self.tail.statuses]
        self.consumer.start(self.tail)

    def _follow(self) -> None:
        while not self._stop.is_set() and not self._start_over.is_set():
            self.recompute_if_due()
            self._wake.wait(self._timeout())
            self._wake.clear()
            if self._stop.is_set():
                return
            self.consumer.woken()
            if self._start_over.is_set():
                return
            if self._read_due():
                self.read()

    def _read_due(self) -> bool:
        if self.tail.at is not None:
            return False  # looking back: the files were read up to then, nothing comes later
        since = time.monotonic() - self._read_at
        return (self.poll is not None and since >= self.poll) or \
            (self._changed and since >= min(self.min_interval, self.poll or self.min_interval))

    def _timeout(self) -> float | None:
        """Seconds until the next thing to do: a recompute, the timer poll, a pending read."""
        now = time.monotonic()
        waits = []
        if self.consumer.due():
            waits.append(0.0 if self._urgent else
                         self.interval() - (now - self._recomputed_at))
        if self.tail.at is not None:
            pass  # looking back: no read to wait for
        elif self.poll is not None:
            waits.append(self.poll - (now - self._read_at))
        if self._changed and self.tail.at is None:
            waits.append(min(self.min_interval, self.poll or self.min_interval)
                         - (now - self._read_at))
        return max(0.0, min(waits)) if waits else None

    def read(self) -> None:
        """Poll each file once; with rows left (a big write, a Reset), catch up."""
        if self._keeping:  # the first read after a catch-up: the recompute after it is out
            self._keeping = False
            memory.release_freed(trim_again=True)
        self._changed, self._read_at = False, time.monotonic()
        for index in range(len(self.sources)):
            for item in self.tail.poll(index, skip_quiet=True).items:
                self.consumer.take(item)
        self._statuses()
        if self.tail.more:
            self.catch_up()
        else:
            self.consumer.read_done()

    def catch_up(self) -> None:
        """Read until nothing more is waiting, a reader thread reading ahead; then recompute
        at once."""
        memory.keep_freed()  # its batches (and the recompute after it) reuse what the last freed
        self._keeping = True
        with catch_up(self.tail, self.consumer.prepare) as results:
            for items in results:
                for item in items:
                    self.consumer.take(item)
                self._statuses()  # the reader thread's (it may be a poll or two ahead)
                if self._stop.is_set() or self._start_over.is_set():
                    return  # what was read ahead is not needed
                self.consumer.progress()
        self._statuses()
        self._read_at = time.monotonic()
        self._urgent = True  # caught up: show everything at once
        self.consumer.read_done()

    def _statuses(self) -> None:
        for index, status in enumerate(self.tail.statuses):
            shown = (status.state, status.message)
            if shown != self._shown[index]:
                self._shown[index] = shown
                self.consumer.status_changed(index, status)

    def recompute_if_due(self, loading: bool = False) -> bool:
        """Recompute when the consumer has something new and the throttle allows (while
        ``loading``, the catch-up's slower rule); whether it did."""
        if not self.consumer.due():
            return False
        urgent = self._urgent and not loading
        if not urgent and self.since_recompute() < self.interval(loading):
            return False
        self._urgent = False
        started = time.monotonic()
        self.consumer.recompute()
        self._recomputed_at = time.monotonic()
        self.cost = self._recomputed_at - started
        return True

    def hold_recompute(self) -> None:
        """Count from now for the throttle (e.g. no recompute of a half-read history yet)."""
        self._recomputed_at = time.monotonic()
