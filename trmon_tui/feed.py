"""The tail loop: the one thread that owns every PyTables call of the monitor.

PyTables is not thread-safe, so a single long-lived thread reads the files (store.multi: each
file on its own reader, with its own state; several files in one id space), keeps the
statistics (store.stats) and the string tables (store.catalog), answers detail look-ups
(store.lookup, in the chosen testrun's own file), and posts immutable snapshots to the UI.  It
wakes on a file-change notification (store.wake, on the files' directories: a watch on a file
itself dies when the file is replaced), on the timer poll (network file systems, missed
notifications), or when the UI asks for something.  Each round polls every file once: a file
missing, damaged, locked or replaced changes only its own state (a replaced one makes every file
be read again: the combined statistics cannot forget one file's rows).

What it costs, since operators leave it open for hours over SSH (see bench_monitor.py):
- a snapshot is computed only when something it shows changed: the statistics (engine.version),
  the file's state, the view, or the minute (ages); and only the data of the visible pane;
- the files are read at most once per ``min_interval`` (1 s) however often they change (a
  poll opens a file and loads its tables), the snapshot right after the read that brought new
  data: panes repaint once a second whatever the event rate, a commit shows within about a
  second;
- a timer poll of a file whose stat has not changed since a poll that found nothing (long
  enough after its last write) does not open it (MultiTail.poll(skip_quiet=True));
- the history (the first read, and after a reset when much is waiting) is caught up with
  store.multi.catch_up, as `report` reads it: a reader thread reads ahead while this one
  applies; meanwhile ReadProgress messages (the status bar's progress) go out, a snapshot only
  every LOADING_INTERVAL of a long history, and one at the end;
- the monitor's command starts the loop before the app is imported (commands/monitor.py): the
  history is read while the UI starts up, its messages wait in a Mailbox until the app runs.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from textual.message import Message

from trmon_tui.detail import load_testrun
from trmon_tui.messages import (
    FileReset,
    FileStatusChanged,
    ReadProgress,
    SnapshotReady,
    TailFailed,
    TailStopped,
)
from trmon_tui.model import EventRow, FileView, Snapshot, ViewState, combined
from trmon_tui.panedata import describe_error, latest_events, pane_data

EVENT_BUFFER = 3000
"""How many of the latest events are kept, over all groups, so that the events pane narrowed to
one device group still has recent events to show."""
PROGRESS_INTERVAL = 0.25
"""Seconds between two ReadProgress messages while catching up."""
LOADING_INTERVAL = 3.0
"""While catching up with a long history, a full snapshot (so the panes fill) at most this
often: one costs up to half a second on a million testruns, and a file that is read within a
few seconds is better shown once, complete."""


class Mailbox:
    """Hands the tail loop's messages to the app.  Those sent before the app runs its message
    loop wait here: the loop starts reading before the UI (commands/monitor.py starts it
    before the app and its widgets are imported), so a long history is read while the UI
    starts up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._app: Any = None
        self._waiting: list[Message] | None = []

    def post(self, message: Message) -> None:
        """Post ``message`` to the app (from any thread)."""
        with self._lock:
            if self._waiting is not None:
                self._waiting.append(message)
                return
        self._app.post_message(message)

    def open(self, app: Any) -> None:
        """The app runs (call from its thread): post what waited, and from now on at once."""
        with self._lock:  # held while posting, so a newer message cannot overtake these
            self._app = app
            for message in self._waiting or ():
                app.post_message(message)
            self._waiting = None


def start_loop(loop: TailLoop, cancelled: threading.Event, post: Callable[[Message], Any], *,
               poll: float | None, watch: bool) -> None:
    """Run ``loop`` in a thread of its own until ``cancelled``: it owns every PyTables call
    until then.  A failure of the loop itself is posted as TailStopped (the app restarts it)."""

    def run() -> None:
        try:
            loop.run(cancelled, poll=poll, watch=watch)
        except Exception as exc:  # noqa: BLE001 - shown, then restarted (app._tail_stopped)
            post(TailStopped(f"{type(exc).__name__}: {exc}"))

    threading.Thread(target=run, name="trmon-tail", daemon=True).start()


class TailLoop:
    """Reads the files, keeps statistics, posts snapshots; run() blocks until cancelled."""

    def __init__(self, files: str | Sequence[Any], post: Callable[[Message], Any], *,
                 clock: str = "received", now: Callable[[], float] = time.time,
                 max_rows: int = 200_000, min_interval: float = 1.0,
                 view: ViewState | None = None,
                 wall: Callable[[], float] | None = None, rules: Sequence[Any] = ()) -> None:
        """``files``: a path, or store.multi.Sources; ``rules``: the config file's failure
        rules (store.stats.Rule), which the statistics classify errors by."""
        self.rules = tuple(rules)
        self.files = files
        self.post = post
        self.clock = clock
        self.now = now
        self.wall = wall or now  # when data last arrived, in the operator's time
        self.max_rows = max_rows
        self.min_interval = min_interval
        self.view = view or ViewState()
        self._wake = threading.Event()
        self._requests: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._events: collections.deque[dict] = collections.deque(maxlen=EVENT_BUFFER)
        self._file = FileView()  # every file's state combined
        self._files: tuple[FileView, ...] = ()
        self._published: tuple | None = None  # what the last snapshot showed: see _shown()
        self._last_publish = 0.0
        self._publish_cost = 0.0
        self._urgent = False
        self._reload_asked = threading.Event()
        self._last_data_at: float | None = None
        self._runs_read = 0
        self._generation = 0  # counts resets: a snapshot after one even if the rest looks alike
        self._changed = False  # the watch saw the file change since the last read
        self._read_at = 0.0
        self._seq = 0

    # ---- called from the UI thread -------------------------------------------------------
    def set_view(self, view: ViewState) -> None:
        """Show this view from the next snapshot on (thread-safe)."""
        self.view = view
        self._requests.put(("view", None))
        self._wake.set()

    def reload(self) -> None:
        """Forget everything and read the file again from the start (thread-safe)."""
        self._requests.put(("reload", None))
        self._reload_asked.set()  # also ends a catch-up of the old file early
        self._wake.set()

    def lookup(self, testrun_id: str, run: int | None = None) -> None:
        """Read one testrun's events (``run``: its run index, which tells its file); answered
        with a TestrunLoaded message (thread-safe)."""
        self._requests.put(("lookup", (testrun_id, run)))
        self._wake.set()

    # ---- the thread ----------------------------------------------------------------------
    def run(self, cancelled: threading.Event, *, poll: float | None = 1.0,
            watch: bool = True) -> None:
        """Loop until ``cancelled`` is set.  poll=None and watch=False read once, then only
        answer requests (deterministic rendering for snapshot tests)."""
        try:
            self._run(cancelled, poll, watch)
        finally:
            if getattr(self, "tail", None) is not None:
                self.tail.close()  # no file left open, also after a failure

    def _run(self, cancelled: threading.Event, poll: float | None, watch: bool) -> None:
        # Cancelling the worker must also end a wait on the wake event.
        threading.Thread(target=lambda: (cancelled.wait(), self._wake.set()), daemon=True,
                         name="trmon-cancel").start()
        self._new()
        if watch:
            from store.wake import watch_files

            watch_files([s.path for s in self.tail.sources], self._file_changed, cancelled)
        self._catch_up(cancelled)  # the history first, as `report` reads it
        while not cancelled.is_set():
            self._publish_if_due()
            self._wake.wait(self._timeout(poll))
            self._wake.clear()
            if cancelled.is_set():
                break
            self._handle_requests()
            if self._read_due(poll):
                self._read(cancelled)

    def _read_due(self, poll: float | None) -> bool:
        """The timer poll is due, or the file changed: read, at most once per min_interval
        (a poll opens the file and loads its tables, ~5 ms; a snapshot comes no sooner)."""
        since = time.monotonic() - self._read_at
        return (poll is not None and since >= poll) or \
            (self._changed and since >= self.min_interval)

    def _timeout(self, poll: float | None) -> float | None:
        """Seconds until the next thing to do: a snapshot, the timer poll, a pending read."""
        now = time.monotonic()
        waits = []
        if self._due():
            waits.append(self._interval(loading=False) - (now - self._last_publish))
        if poll is not None:
            waits.append(poll - (now - self._read_at))
        if self._changed:
            waits.append(self.min_interval - (now - self._read_at))
        return max(0.0, min(waits)) if waits else None

    def _file_changed(self) -> None:
        """Called by the watch thread."""
        self._changed = True
        self._wake.set()

    def _handle_requests(self) -> None:
        while True:
            try:
                kind, arg = self._requests.get_nowait()
            except queue.Empty:
                return
            if kind == "reload":
                self._reload_asked.clear()
                self._new()
                self._reset_state()
                self._changed, self._read_at = True, 0.0  # read the file again at once
                self.post(FileReset("reloaded from scratch"))
            elif kind == "lookup":
                self.post(load_testrun(self.tail, self.catalog, *arg))
            self._urgent = True  # the operator is waiting on what this changes: no throttle

    # ---- reading -------------------------------------------------------------------------
    def _new(self) -> None:
        """Start with fresh statistics on a new tail of the files (the old one closed)."""
        from store.catalog import Catalog
        from store.catchup import HOLD
        from store.multi import MultiTail, Source, default_label
        from store.stats import StatsEngine

        sources = [Source(default_label(self.files), self.files)] \
            if isinstance(self.files, str) else self.files
        tail = MultiTail(sources, hold=HOLD, max_rows=self.max_rows)
        if getattr(self, "tail", None) is not None:
            self.tail.close()
        self.tail = tail
        self.engine = StatsEngine(clock=self.clock, rules=self.rules)
        self.catalog = Catalog()
        self._files = tuple(FileView(label=s.label, path=s.path) for s in tail.sources)

    def _reset_state(self) -> None:
        self.engine.reset()
        self.catalog.reset()
        self._events.clear()
        self._last_data_at = None
        self._runs_read = 0
        self._generation += 1

    def _read(self, cancelled: threading.Event) -> None:
        """Poll each file once (a file in trouble only says so in its state); with more to
        read, catch up with the files (a reader thread reads ahead)."""
        self._changed, self._read_at = False, time.monotonic()
        for index in range(len(self.tail.sources)):
            self._take(self.tail.poll(index, skip_quiet=True).items)
        self._set_states()
        if self.tail.more:  # a file grew a lot, or every file is to be read again (a reset)
            self._catch_up(cancelled)

    def _catch_up(self, cancelled: threading.Event) -> None:
        """Read until nothing more is waiting (a reader thread reads ahead); the panes get one
        snapshot at the end (and one every LOADING_INTERVAL seconds of a long history), the
        status bar the progress.  A failure of the reading itself (a bug, not a bad file) ends
        the loop: the app restarts it."""
        from store.multi import catch_up
        from store.stats import StatsEngine

        started = self._last_publish = time.monotonic()  # no snapshot of a half-read file yet
        progress_at = 0.0
        with catch_up(self.tail, StatsEngine.prepare) as results:
            for items in results:
                self._take(items)
                self._set_states()  # the reader thread's (it may be a poll or two ahead)
                if cancelled.is_set() or self._reload_asked.is_set():
                    return  # quitting, or starting over: what was read ahead is not needed
                now = time.monotonic()
                if now - progress_at >= PROGRESS_INTERVAL:
                    progress_at = now
                    self.post(ReadProgress(self._file, self._runs_read, self._files))
                if _time_left(self._file, now - started) > LOADING_INTERVAL:
                    self._publish_if_due(loading=True)
        self._set_states()
        self._read_at = time.monotonic()
        self._urgent = True  # caught up: show everything at once

    def _take(self, items: list) -> None:
        for item in items:
            self._apply(item)

    def _apply(self, item: Any) -> None:
        from store.batch import Reset

        if isinstance(item, Reset):
            self._reset_state()
            self.post(FileReset(item.reason))
            return
        try:
            self.catalog.apply(item)
            self.engine.apply(item)
        except Exception as exc:  # noqa: BLE001 - bad data: report, keep the monitor alive
            self.post(TailFailed(describe_error(exc)))
        self._runs_read = max(self._runs_read, item.first_run + len(item.runs))
        if len(item):
            # Catching up, only the last batches hold events the events pane can show.
            if not item.events_total or \
                    item.first_event_row + len(item) > item.events_total - EVENT_BUFFER:
                self._remember_events(item)
            self._last_data_at = self.wall()

    def _remember_events(self, batch: Any) -> None:
        """Keep the newest events as dicts (only the tail of a big batch is converted)."""
        skip = max(0, len(batch) - EVENT_BUFFER)
        if skip:
            batch = batch.with_events_from(skip)
        try:
            events = self.catalog.event_dicts(batch)
            runs = batch.column("run").tolist()
            groups = [self.catalog.device_group(run) for run in runs]
        except Exception as exc:  # noqa: BLE001
            self.post(TailFailed(describe_error(exc)))
            return
        first = batch.first_event_row
        self._events.extend(EventRow(first + i, group, event, run) for i, (group, event, run)
                            in enumerate(zip(groups, events, runs, strict=True)))

    def _set_states(self) -> None:
        """Take each file's state from its reader; say which ones changed."""
        files = tuple(FileView(status.state, status.message, int(status.rows_read),
                                int(status.rows_total), status.file_format, source.label,
                                source.path)
                      for source, status in zip(self.tail.sources, self.tail.statuses,
                                                strict=True))
        changed = [new for old, new in zip(self._files, files, strict=True)
                   if (old.state, old.message) != (new.state, new.message)]
        self._files, self._file = files, combined(files)
        for file in changed:
            self.post(FileStatusChanged(file, files))

    # ---- snapshots -----------------------------------------------------------------------
    def _shown(self) -> tuple:
        """What a snapshot shows: a new one is computed only when this changed.  Ages (the
        oldest wait, time in phase, running bars) follow the minute; live data refreshes them
        far more often."""
        return (self._generation, self.engine.version, self._files, self.view,
                int(self.now() // 60))

    def _due(self) -> bool:
        """Something shown changed since the last snapshot (``_urgent`` only lifts the
        throttle: a view asked for during a catch-up is in the snapshot that ends it)."""
        return self._shown() != self._published

    def _publish_if_due(self, loading: bool = False) -> None:
        if self._due() and time.monotonic() - self._last_publish >= self._interval(loading):
            self.publish()

    def _interval(self, loading: bool) -> float:
        """Least time between two snapshots.

        A snapshot of a big state costs far more than a small batch (0.5 s at 1M testruns):
        while history loads keep snapshots to at most one every LOADING_INTERVAL and a tenth of
        the time, so the load is not starved; live, to about a third, so a huge file refreshes
        every second or two instead of keeping a core busy.
        """
        if loading:
            return max(LOADING_INTERVAL, 10 * self._publish_cost)
        if self._urgent:
            return 0.0
        # Reads come at most once per min_interval, and a snapshot right after the read that
        # brought new data: a throttle of a whole min_interval here would run on its own
        # clock and hold the data back for up to that long.
        return max(self.min_interval / 2, 3 * self._publish_cost)

    def publish(self) -> None:
        """Compute the snapshot of the current view and post it."""
        started = time.monotonic()
        self._urgent = False
        self._published = self._shown()
        self._seq += 1
        self.post(SnapshotReady(self.snapshot()))
        self._last_publish = time.monotonic()
        self._publish_cost = self._last_publish - started

    def snapshot(self) -> Snapshot:
        """The data of the visible pane, plus what the status bar needs."""
        view, now = self.view, self.now()
        values, errors = pane_data(self.engine, view, now)
        events = latest_events(self._events, view) if view.tab == "events" else ()
        return Snapshot(seq=self._seq, taken_at=now, view=view, file=self._file, events=events,
                        last_data_at=self._last_data_at, errors=tuple(errors),
                        files=self._files_with_testruns(values["counts"]), **values)

    def _files_with_testruns(self, counts: dict) -> tuple[FileView, ...]:
        """Each file's state with its testruns (one file: the counts have them already)."""
        if len(self._files) == 1:
            testruns = [counts.get("testruns", 0)]
        else:
            testruns = self.tail.testruns_per_file(self.engine)
        return tuple(replace(file, testruns=n)
                     for file, n in zip(self._files, testruns, strict=True))


def fixed_clock(at: float) -> tuple[Callable[[], float], Callable[[], float]]:
    """(now, wall) for --now: ages measured to the fixed time ``at``; "updated ... ago" on the
    wall clock."""
    return (lambda: at), time.time


class Started(NamedTuple):
    """A tail loop already running (commands/monitor.py), for the app to take over."""
    mailbox: Mailbox
    loop: TailLoop
    cancelled: threading.Event


def _time_left(file: FileView, elapsed: float) -> float:
    """Seconds still to read, at the pace so far."""
    return elapsed * (file.rows_total - file.rows_read) / max(1, file.rows_read)
