"""The monitor's feed: a thin Textual adapter over store.follow, the one follow loop.

PyTables is not thread-safe, so one long-lived thread, the follow loop's (started by
start_loop), makes every PyTables call: it reads the files (store.multi: each file on its own
reader; several files in one id space), and TailLoop, its Consumer, keeps the statistics
(store.stats), the string tables (store.catalog) and the latest events, answers detail
look-ups (store.lookup, in the chosen testrun's own file) and posts immutable snapshots
(trmon_tui.model) and messages (trmon_tui.messages) to the UI.  The UI asks through
thread-safe calls (set_view, reload, lookup) that wake the loop.

What it costs, since operators leave it open for hours over SSH (see bench_monitor.py):
- the loop (store.follow) reads at most once per ``min_interval`` (1 s) however often the
  files change, skips a quiet file's open, and catches up a long history with a reader thread
  reading ahead, as `report` reads it;
- a snapshot is computed only when something it shows changed: the statistics
  (engine.version), a file's state, the view, or the minute (ages); only the visible pane's
  data; live at most every max(min_interval / 2, 3 x its cost) (store.follow's one rule);
- while catching up, ReadProgress messages (the status bar's progress) go out, a snapshot only
  every store.follow.LOADING_FLOOR of a long history, and one at the end;
- the monitor's command starts the loop before the app is imported (commands/monitor.py): the
  history is read while the UI starts up, its messages wait in a Mailbox until the app runs.

Looking back (DESIGN "Looking back"): a view with ``at`` (--at T, the keys < > L) makes the loop
read the files again as they stood at T (store.follow's ``look_at``: only the events received
by T, no polling after); the snapshots are taken at now = T, with no "last data" time (nothing
is live), and a testrun's detail shows only its events received by T.
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
            post(TailStopped(f"{type(exc).__name__}: {exc}", 3.0, ended=True))

    threading.Thread(target=run, name="trmon-tail", daemon=True).start()


class TailLoop:
    """The monitor's store.follow Consumer: keeps statistics, the string tables and the latest
    events, posts snapshots and messages; run() blocks until cancelled.  Thread-safe requests
    from the UI: set_view, reload, lookup."""

    cost_ratio = 3.0  # live, a snapshot costs at most about a third of a core
    fatal = ()

    def __init__(self, files: str | Sequence[Any], post: Callable[[Message], Any], *,
                 clock: str = "received", now: Callable[[], float] = time.time,
                 max_rows: int = 200_000, min_interval: float = 1.0,
                 view: ViewState | None = None,
                 wall: Callable[[], float] | None = None, rules: Sequence[Any] = ()) -> None:
        """``files``: a path, or store.sources.Sources; ``rules``: the config file's failure
        rules (store.stats.Rule), which the statistics classify errors by; ``view.at``: look
        back (--at T)."""
        from store.follow import FollowLoop
        from store.sources import Source, default_label
        from store.stats import StatsEngine

        self.rules = tuple(rules)
        self.files = files
        self.post = post
        self.clock = clock
        self.now = now
        self.wall = wall or now  # when data last arrived, in the operator's time
        self.max_rows = max_rows
        self.min_interval = min_interval
        self.view = view or ViewState()
        self.prepare = StatsEngine.prepare  # in the catch-up's reader thread
        sources = [Source(default_label(files), files)] if isinstance(files, str) else files
        self.follow = FollowLoop(sources, self, min_interval=min_interval, max_rows=max_rows,
                                 at=self.view.at)
        """The loop that reads (store.follow); this object is its consumer."""
        self.tail = None
        self._requests: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._events: collections.deque[dict] = collections.deque(maxlen=EVENT_BUFFER)
        self._kept: collections.deque[Any] = collections.deque()  # see _keep_for_events
        self._file = FileView()  # every file's state combined
        self._files: tuple[FileView, ...] = ()
        self._published: tuple | None = None  # what the last snapshot showed: see _shown()
        self._reload_asked = threading.Event()
        self._last_data_at: float | None = None
        self._runs_read = 0
        self._generation = 0  # counts resets: a snapshot after one even if the rest looks alike
        self._loading_since: float | None = None  # when the catch-up under way began
        self._progress_at = 0.0
        self._seq = 0

    # ---- called from the UI thread -------------------------------------------------------
    def set_view(self, view: ViewState) -> None:
        """Show this view from the next snapshot on (thread-safe); another ``view.at`` reads
        the files again as they stood then (or live)."""
        self.view = view
        if view.at != self.follow.at:
            self.follow.look_at(view.at)
        self._requests.put(("view", None))
        self.follow.wake()

    def reload(self) -> None:
        """Forget everything and read the file again from the start (thread-safe)."""
        self._reload_asked.set()
        self.follow.start_over()  # also ends a catch-up of the old file early

    def lookup(self, testrun_id: str, run: int | None = None) -> None:
        """Read one testrun's events (``run``: its run index, which tells its file); answered
        with a TestrunLoaded message (thread-safe)."""
        self._requests.put(("lookup", (testrun_id, run)))
        self.follow.wake()

    # ---- the thread ----------------------------------------------------------------------
    def run(self, cancelled: threading.Event, *, poll: float | None = 1.0,
            watch: bool = True) -> None:
        """Loop until ``cancelled`` is set.  poll=None and watch=False read once, then only
        answer requests (deterministic rendering for snapshot tests)."""
        self.follow.poll, self.follow.watch = poll, watch
        threading.Thread(target=lambda: (cancelled.wait(), self.follow.stop()), daemon=True,
                         name="trmon-cancel").start()
        self.follow.run()

    # ---- store.follow's Consumer ---------------------------------------------------------
    def start(self, tail: Any) -> None:
        """A fresh tail (the start, a reload, a restart after a failure): fresh state."""
        from store.catalog import Catalog
        from store.stats import StatsEngine

        self.tail = tail
        # No pane shows delivery delays (report does): not kept, a fifth of the catch-up.
        self.engine = StatsEngine(clock=self.clock, rules=self.rules, delays=False)
        self.catalog = Catalog(ids=lambda: self.engine.state.ids)  # one copy of the ids
        self._files = tuple(FileView(label=s.label, path=s.path) for s in tail.sources)
        self._file = combined(self._files)
        self._events.clear()
        self._kept.clear()
        self._last_data_at = None
        self._runs_read = 0
        self._generation += 1
        if self._reload_asked.is_set():
            self._reload_asked.clear()
            self.post(FileReset("reloaded from scratch"))

    def take(self, item: Any) -> None:
        self._apply(item)

    def status_changed(self, index: int, status: Any) -> None:
        self._set_states()

    def progress(self) -> None:
        """A part of a catch-up: the status bar's progress; the panes a snapshot only every
        store.follow.LOADING_FLOOR of a long history (and one at the end): a file read within
        that much more time is better shown once, complete."""
        now = time.monotonic()
        if self._loading_since is None:
            self._loading_since = now
            self.follow.hold_recompute()  # no snapshot of a half-read file yet
        self._set_states()
        if now - self._progress_at >= PROGRESS_INTERVAL:
            self._progress_at = now
            self.post(ReadProgress(self._file, self._runs_read, self._files))
        from store.follow import LOADING_FLOOR  # (store is imported lazily here: see Mailbox)

        if _time_left(self._file, now - self._loading_since) > LOADING_FLOOR:
            self.follow.recompute_if_due(loading=True)

    def read_done(self) -> None:
        self._set_states()
        self._loading_since = None
        while self._kept:  # looking back: the latest events by then are known now
            self._remember_events(self._kept.popleft())

    def woken(self) -> None:
        while True:
            try:
                kind, arg = self._requests.get_nowait()
            except queue.Empty:
                return
            if kind == "lookup":
                self.post(load_testrun(self.tail, self.catalog, *arg, at=self.tail.at))
            self.follow.hurry()  # the operator is waiting on what this changes: no throttle

    def due(self) -> bool:
        """Something shown changed since the last snapshot."""
        return self._shown() != self._published

    def recompute(self) -> None:
        self.publish()

    def failed(self, error: BaseException, retry_in: float) -> None:
        self.post(TailStopped(f"{type(error).__name__}: {error}", retry_in))

    def _reset_state(self) -> None:
        self.engine.reset()
        self.catalog.reset()
        self._events.clear()
        self._kept.clear()
        self._last_data_at = None
        self._runs_read = 0
        self._generation += 1

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
            if self.tail.at is not None:
                self._keep_for_events(item)
            # Catching up, only the last batches hold events the events pane can show.
            elif not item.events_total or \
                    item.first_event_row + len(item) > item.events_total - EVENT_BUFFER:
                self._remember_events(item)
            self._last_data_at = self.wall()

    def _keep_for_events(self, batch: Any) -> None:
        """Looking back, the latest events by T may be anywhere in the files: keep the last
        batches that had some (cut to T, so a few), converted once caught up (read_done)."""
        self._kept.append(batch)
        while len(self._kept) > 1 and \
                sum(len(b) for b in self._kept) - len(self._kept[0]) >= EVENT_BUFFER:
            self._kept.popleft()

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
        files = tuple(self._file_view(index) for index in range(len(self.tail.sources)))
        changed = [new for old, new in zip(self._files, files, strict=True)
                   if (old.state, old.message) != (new.state, new.message)]
        self._files, self._file = files, combined(files)
        for file in changed:
            self.post(FileStatusChanged(file, files))

    def _file_view(self, index: int) -> FileView:
        """File ``index``'s state.  Looking back, once it is read up to then, its events and
        latest event are those received by then, as report --at counts them (the reader's
        rows_read counts every row it read, later ones too; while reading, they make the
        progress bar)."""
        tail = self.tail
        source, status = tail.sources[index], tail.statuses[index]
        read, total, last = int(status.rows_read), int(status.rows_total), status.last_event
        if tail.at is not None:
            last = tail.kept_last[index]
            if read >= total:
                read = total = tail.kept_events[index]
        return FileView(status.state, status.message, read, total, status.file_format,
                        source.label, source.path, checksums=status.checksums, last_event=last)

    # ---- snapshots -----------------------------------------------------------------------
    def _shown(self) -> tuple:
        """What a snapshot shows: a new one is computed only when this changed.  Ages (the
        oldest wait, time in phase, running bars) follow the minute; live data refreshes them
        far more often."""
        return (self._generation, self.engine.version, self._files, self.view,
                int(self._now() // 60))

    def _now(self) -> float:
        """The time the snapshot is taken at: T while looking back, else the clock."""
        at = self.tail.at if self.tail is not None else None
        return self.now() if at is None else at

    def publish(self) -> None:
        """Compute the snapshot of the current view and post it."""
        self._published = self._shown()
        self._seq += 1
        self.post(SnapshotReady(self.snapshot()))

    def snapshot(self) -> Snapshot:
        """The data of the visible pane, plus what the status bar needs."""
        view, now, at = self.view, self._now(), self.tail.at
        values, errors = pane_data(self.engine, view, now)
        events = latest_events(self._events, view) if view.tab == "events" else ()
        return Snapshot(seq=self._seq, taken_at=now, view=view, file=self._file, events=events,
                        last_data_at=self._last_data_at if at is None else None, at=at,
                        errors=tuple(errors),
                        files=self._files_with_testruns(values["counts"]), **values)

    def _files_with_testruns(self, counts: dict) -> tuple[FileView, ...]:
        """Each file's state with its testruns (one file: the counts have them already)."""
        if len(self._files) == 1:
            testruns = [counts.get("testruns", 0)]
        else:
            testruns = self.engine.testruns_per_file(self.tail.file_of, len(self._files))
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
