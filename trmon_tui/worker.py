"""The tail loop: the one thread that owns every PyTables call of the monitor.

PyTables is not thread-safe, so a single long-lived thread reads the file (store.tail), keeps the
statistics (store.stats) and the string tables (store.catalog), answers detail look-ups
(store.lookup), and posts immutable snapshots to the UI.  It wakes on a file-change notification
(watchfiles, on the file's directory: a watch on the file itself dies when the file is replaced),
on the timer poll (network file systems, missed notifications), or when the UI asks for something.

Snapshots are throttled to ``min_interval``: while 1,000 events/s arrive, the UI still repaints only
a few times a second.
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from textual.message import Message

from trmon_tui.messages import (
    EVENTS_SHOWN,
    LIST_LIMIT,
    EventRow,
    FileReset,
    FileState,
    FileStatusChanged,
    Snapshot,
    SnapshotReady,
    TailFailed,
    TestrunLoaded,
    ViewState,
)

EVENT_BUFFER = 3000
"""How many of the latest events are kept, over all groups, so that the events pane narrowed to
one device group still has recent events to show."""


class TailLoop:
    """Reads the file, keeps statistics, posts snapshots; run() blocks until cancelled."""

    def __init__(self, path: str, post: Callable[[Message], Any], *, clock: str = "received",
                 now: Callable[[], float] = time.time, max_rows: int = 200_000,
                 min_interval: float = 0.25, view: ViewState | None = None,
                 wall: Callable[[], float] | None = None) -> None:
        self.path = os.path.abspath(path)
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
        self._file = FileState()
        self._dirty = True
        self._last_publish = 0.0
        self._publish_cost = 0.0
        self._urgent = False
        self._last_data_at: float | None = None
        self._seq = 0
        self._new()

    # ---- called from the UI thread -------------------------------------------------------
    def set_view(self, view: ViewState) -> None:
        """Show this view from the next snapshot on (thread-safe)."""
        self.view = view
        self._requests.put(("view", None))
        self._wake.set()

    def reload(self) -> None:
        """Forget everything and read the file again from the start (thread-safe)."""
        self._requests.put(("reload", None))
        self._wake.set()

    def lookup(self, testrun_id: str) -> None:
        """Read one testrun's events; answered with a TestrunLoaded message (thread-safe)."""
        self._requests.put(("lookup", testrun_id))
        self._wake.set()

    # ---- the thread ----------------------------------------------------------------------
    def run(self, cancelled: threading.Event, *, poll: float | None = 1.0,
            watch: bool = True) -> None:
        """Loop until ``cancelled`` is set.  poll=None and watch=False read once, then only
        answer requests (deterministic rendering for snapshot tests)."""
        if watch:
            threading.Thread(target=self._watch, args=(cancelled,), daemon=True,
                             name="trmon-watch").start()
        # Cancelling the worker must also end a wait on the wake event.
        threading.Thread(target=lambda: (cancelled.wait(), self._wake.set()), daemon=True,
                         name="trmon-cancel").start()
        self._read()
        while not cancelled.is_set():
            self._publish_if_due()
            self._wake.wait(self._timeout(poll))
            self._wake.clear()
            if cancelled.is_set():
                break
            self._handle_requests()
            self._read(cancelled)

    def _timeout(self, poll: float | None) -> float | None:
        if self._dirty:
            wait = self._interval(loading=False) - (time.monotonic() - self._last_publish)
            return max(0.0, wait) if poll is None else max(0.0, min(wait, poll))
        return poll

    def _watch(self, cancelled: threading.Event) -> None:
        """Set the wake event on every change of the file (runs in its own small thread)."""
        from watchfiles import watch

        directory = os.path.dirname(self.path)
        name = os.path.basename(self.path)
        while not cancelled.is_set():
            if not os.path.isdir(directory):
                cancelled.wait(2.0)  # the timer poll covers us until the directory exists
                continue
            try:
                for _changes in watch(directory, watch_filter=lambda _c, p: os.path.basename(p)
                                      == name, debounce=50, step=20, stop_event=cancelled,
                                      recursive=False, raise_interrupt=False):
                    self._wake.set()
            except Exception:  # noqa: BLE001 - a broken watch only costs latency: timer polls
                cancelled.wait(2.0)

    def _handle_requests(self) -> None:
        while True:
            try:
                kind, arg = self._requests.get_nowait()
            except queue.Empty:
                return
            if kind == "reload":
                self._new()
                self._reset_state()
                self.post(FileReset("reloaded from scratch"))
            elif kind == "lookup":
                self._lookup(arg)
            elif kind == "view":
                self._urgent = True  # the operator is waiting on this one: no throttle
            self._dirty = True

    # ---- reading -------------------------------------------------------------------------
    def _new(self) -> None:
        from store.catalog import Catalog
        from store.stats import StatsEngine
        from store.tail import TailReader

        self.reader = TailReader(self.path, max_rows=self.max_rows)
        self.engine = StatsEngine(clock=self.clock)
        self.catalog = Catalog()

    def _reset_state(self) -> None:
        self.engine.reset()
        self.catalog.reset()
        self._events.clear()
        self._last_data_at = None
        self._dirty = True

    def _read(self, cancelled: threading.Event | None = None) -> None:
        """Poll until caught up; between chunks publish, so panes fill while history loads."""
        while True:
            try:
                result = self.reader.poll()
            except Exception as exc:  # noqa: BLE001 - never let a bad file kill the monitor
                self.post(TailFailed(_describe(exc)))
                return
            for item in result.items:
                self._apply(item)
            self._set_status(result.status)
            if not result.more or (cancelled is not None and cancelled.is_set()):
                return
            self._handle_requests()
            self._publish_if_due(loading=True)

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
            self.post(TailFailed(_describe(exc)))
        if len(item):
            self._remember_events(item)
            self._last_data_at = self.wall()
        self._dirty = True

    def _remember_events(self, batch: Any) -> None:
        """Keep the newest events as dicts (only the tail of a big batch is converted)."""
        skip = max(0, len(batch) - EVENT_BUFFER)
        if skip:
            batch = batch.with_events_from(skip)
        try:
            events = self.catalog.event_dicts(batch)
            groups = [self.catalog.device_group(run) for run in batch.column("run").tolist()]
        except Exception as exc:  # noqa: BLE001
            self.post(TailFailed(_describe(exc)))
            return
        first = batch.first_event_row
        self._events.extend(EventRow(first + i, group, event)
                            for i, (group, event) in enumerate(zip(groups, events, strict=True)))

    def _set_status(self, status: Any) -> None:
        file = FileState(status.state, status.message, int(status.rows_read),
                         int(status.rows_total), status.file_format)
        if (file.state, file.message) != (self._file.state, self._file.message):
            self.post(FileStatusChanged(file))
        if file != self._file:
            self._dirty = True
        self._file = file

    def _lookup(self, testrun_id: str) -> None:
        from store.lookup import testrun_events

        try:
            events = tuple(testrun_events(self.path, testrun_id))
            attributes = _attributes(events)
            self.post(TestrunLoaded(testrun_id, events, attributes))
        except Exception as exc:  # noqa: BLE001
            self.post(TestrunLoaded(testrun_id, (), {}, _describe(exc)))

    # ---- snapshots -----------------------------------------------------------------------
    def _publish_if_due(self, loading: bool = False) -> None:
        if self._dirty and time.monotonic() - self._last_publish >= self._interval(loading):
            self.publish()

    def _interval(self, loading: bool) -> float:
        """Least time between two snapshots.

        A snapshot of a big state costs far more than a small batch (0.5 s at 1M testruns):
        while history loads keep snapshots to about a tenth of the time, so the panes fill
        but the load is not starved; live, to about a third, so a huge file refreshes every
        second or two instead of keeping a core busy.
        """
        if self._urgent:
            return 0.0
        return max(self.min_interval, (10 if loading else 3) * self._publish_cost)

    def publish(self) -> None:
        """Compute the snapshot of the current view and post it."""
        started = time.monotonic()
        self._dirty = self._urgent = False
        self._seq += 1
        self.post(SnapshotReady(self.snapshot()))
        self._last_publish = time.monotonic()
        self._publish_cost = self._last_publish - started

    def snapshot(self) -> Snapshot:
        """The data of the visible pane, plus what the status bar needs."""
        view, now = self.view, self.now()
        q = {"since": view.since_at(now), "group": view.group, "now": now}
        errors: list[str] = []

        def ask(fn: Callable[[], Any]) -> Any:
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - one failed query must not blank the rest
                errors.append(_describe(exc))
                return None

        values: dict[str, Any] = {}
        if view.tab in ("overview", "statistics"):
            # No pane shows delivery delays (`report` does): skipping them saves a third.
            values["summary"] = ask(lambda: self.engine.summary(**q, delivery_delay=False))
        if view.tab == "testruns":
            values["ongoing"] = _tuple(ask(lambda: self.engine.testruns(
                "ongoing", limit=LIST_LIMIT, **q)))
            values["queued"] = _tuple(ask(lambda: self.engine.testruns(
                "queued", limit=LIST_LIMIT, **q)))
        if view.tab == "chart":
            values["segments"] = ask(lambda: self.engine.segments(
                offset=view.chart_offset, limit=view.chart_limit, **q))
        if view.tab == "statistics":
            values["samples"] = ask(lambda: self.engine.samples(view.phase, **q))
        return Snapshot(
            seq=self._seq, taken_at=now, view=view, file=self._file,
            counts=ask(self.engine.counts) or {}, groups=tuple(ask(self.engine.groups) or ()),
            events=self._latest_events(view) if view.tab == "events" else (),
            last_data_at=self._last_data_at, errors=tuple(errors), **values)


    def _latest_events(self, view: ViewState) -> tuple[EventRow, ...]:
        """Newest first, of the view's device group, at most EVENTS_SHOWN."""
        shown: list[EventRow] = []
        for row in reversed(self._events):
            if view.group is None or row.group == view.group:
                shown.append(row)
                if len(shown) == EVENTS_SHOWN:
                    break
        return tuple(shown)


def _attributes(events: tuple[dict, ...]) -> dict:
    """A testrun's device group and the attributes of its latest request, from its events."""
    from store.catalog import ATTRIBUTES

    out: dict = {}
    for event in events:
        if event.get("device_group") and "device_group" not in out:
            out["device_group"] = event["device_group"]
        if event.get("event") == "request":
            out.update({key: event[key] for key in ATTRIBUTES if key in event})
    return out


def _tuple(rows: Any) -> tuple | None:
    return None if rows is None else tuple(rows)


def _describe(exc: BaseException) -> str:
    """One line for the UI: the exception and where it came from (never a full traceback)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (in {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
