"""What the tail reader hands to its consumers: new rows, and notices about the file.

A Batch carries, for one poll, the rows of every table added since the previous poll, as the
structured numpy arrays of store.schema (strings still bytes, ids still integers).  Consumers
(the statistics engine, `tail`, the monitor) keep their own copy of the string and name tables by
appending ``new_strings`` / ``new_names``; ids in the rows always refer to strings delivered in this
batch or an earlier one since the last reset.

A Reset tells the consumer to drop everything it derived from the file: the next batch starts again
from row 0 of a (possibly different) file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from store import schema


def _empty(dtype: np.dtype) -> np.ndarray:
    return np.empty(0, dtype=dtype)


class Batch:
    """Rows appended to the file since the previous poll, in file order.

    The events come either as the structured records of store.schema.EVENT_DTYPE (``events``)
    or as one contiguous array per field (``event_columns``, what the tail reader hands over:
    the statistics work on columns, and records cost a second copy); ``events`` assembles the
    records from the columns the first time it is asked for.  Treat a Batch as read-only.
    """

    __slots__ = ("first_event_row", "_events", "first_run", "runs", "requests", "errors",
                 "new_strings", "new_names", "runs_total", "events_total", "columns", "_length")

    def __init__(self, first_event_row: int = 0, events: np.ndarray | None = None,
                 first_run: int = 0, runs: np.ndarray | None = None,
                 requests: np.ndarray | None = None, errors: np.ndarray | None = None,
                 new_strings: tuple[str, ...] = (), new_names: tuple[str, ...] = (),
                 runs_total: int = 0, events_total: int = 0, *,
                 event_columns: dict[str, np.ndarray] | None = None) -> None:
        self.first_event_row = first_event_row
        """File row index of the first event (the count of events delivered before)."""
        self.first_run = first_run
        """Dense run index of ``runs[0]``."""
        self.runs = _empty(schema.RUN_DTYPE) if runs is None else runs
        self.requests = _empty(schema.REQUEST_DTYPE) if requests is None else requests
        self.errors = _empty(schema.ERROR_DTYPE) if errors is None else errors
        self.new_strings = new_strings
        """Strings whose ids continue the consumer's string table (decoded UTF-8)."""
        self.new_names = new_names
        """Event names whose codes continue the consumer's name table (the first batch after
        a reset starts with the 11 names of store.schema.EVENT_NAMES)."""
        self.runs_total = runs_total
        """Runs in the file when this batch was read (0: unknown): lets a consumer catching
        up size its per-run arrays once instead of growing them batch after batch."""
        self.events_total = events_total
        """Events in the file when this batch was read (0: unknown), for the same purpose."""
        self.columns: dict[str, np.ndarray] = dict(event_columns or {})
        """Contiguous event fields and other arrays derived from the rows, made once per
        batch; read them with ``column()`` and ``derived()``."""
        if events is None and event_columns is None:
            events = _empty(schema.EVENT_DTYPE)
        self._events = events
        if events is not None:
            self._length = len(events)
        else:
            missing = set(schema.EVENT_DTYPE.names) - set(self.columns)
            if missing:
                raise ValueError(f"event_columns lacks {sorted(missing)}")
            self._length = len(self.columns["run"])

    @property
    def events(self) -> np.ndarray:
        """The events as structured records (assembled from the columns at first use)."""
        if self._events is None:
            records = np.empty(self._length, schema.EVENT_DTYPE)
            for name in schema.EVENT_DTYPE.names:
                records[name] = self.columns[name]
            self._events = records
        return self._events

    def __len__(self) -> int:
        return self._length

    def __repr__(self) -> str:
        return (f"Batch(first_event_row={self.first_event_row}, events={self._length}, "
                f"first_run={self.first_run}, runs={len(self.runs)}, "
                f"requests={len(self.requests)}, errors={len(self.errors)}, "
                f"new_strings={len(self.new_strings)}, new_names={len(self.new_names)})")

    def with_events_from(self, skip: int) -> Batch:
        """The same batch without its first ``skip`` events (and none of its other rows)."""
        return Batch(first_event_row=self.first_event_row + skip, events=self.events[skip:],
                     first_run=self.first_run + len(self.runs),
                     requests=self.requests[self.requests["event_row"] >=
                                            self.first_event_row + skip],
                     errors=self.errors[self.errors["event_row"] >= self.first_event_row + skip])

    def received_by(self, t: float, first_event_row: int) -> Batch:
        """The batch as a file holding only the events received at or before ``t`` would give
        it (``--at``): those events, in file order, numbered from ``first_event_row`` (the
        events kept before this batch), the request and error rows of those events, and the
        rest (runs, strings, names) unchanged.  A run none of whose events is kept has no event
        here, so the statistics and the catalog leave it out.  O(batch).

        A batch carries the request and error rows of its own events (every reader delivers
        them together), so a row pointing outside the batch is dropped.  ``received`` is in
        seconds in both layouts (the seed reader converts its minutes).
        """
        keep = self.column("received") <= t  # NaN: never received, dropped
        if first_event_row == self.first_event_row and keep.all():
            return self
        new_row = np.cumsum(keep) - 1 + first_event_row  # of each kept event

        def rows_of(table: np.ndarray) -> np.ndarray:
            at = table["event_row"] - self.first_event_row
            ok = (at >= 0) & (at < self._length)
            ok[ok] = keep[at[ok]]
            out = table[ok]
            out["event_row"] = new_row[at[ok]]
            return out

        return Batch(first_event_row=first_event_row, first_run=self.first_run, runs=self.runs,
                     requests=rows_of(self.requests), errors=rows_of(self.errors),
                     new_strings=self.new_strings, new_names=self.new_names,
                     runs_total=self.runs_total, events_total=self.events_total,
                     event_columns={name: self.column(name)[keep]
                                    for name in schema.EVENT_DTYPE.names})

    def column(self, name: str) -> np.ndarray:
        """Field ``name`` of the events as a contiguous array, copied once per batch: a field
        of the 22-byte event records is strided, and numpy is several times faster on
        contiguous data."""
        return self.derived(name, lambda: np.ascontiguousarray(self.events[name]))

    def testrun_ids(self) -> np.ndarray:
        """The new runs' testrun ids as contiguous bytes exactly as wide as the longest (made
        once per batch: the statistics engine and the catalog both keep them)."""
        from store.columns import trimmed

        return self.derived("runs.testrun_id", lambda: trimmed(self.runs["testrun_id"]))

    def derived(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        """``make()``, computed once per batch by whoever asks first and kept in ``columns``
        (so a reader thread can prepare what a consumer will need: see StatsEngine.prepare)."""
        value = self.columns.get(key)
        if value is None:
            value = self.columns[key] = make()
        return value


@dataclass(frozen=True)
class Reset:
    """The file was replaced, truncated or recreated: forget all state and start over."""

    reason: str
    """One line for the operator: what happened and what happens next."""
    problem: str = ""
    """What happened alone (the reason without what happens next; "" when not given)."""


@dataclass(frozen=True)
class Status:
    """The reader's view of the file after a poll, for status bars and stderr messages."""

    state: str
    """One of: "live" (read fine), "waiting" (file missing or not yet a product file),
    "locked" (a writer has held the lock longer than the patience), "error" (unreadable or
    foreign: keeps retrying).  For display: decisions take ``reason``."""
    message: str = ""
    """Human sentence: what is wrong and what happens next; empty when live."""
    rows_read: int = 0
    """Events delivered since the last reset."""
    rows_total: int = 0
    """Events in the file at the last successful open (for progress while catching up)."""
    file_format: str = ""
    """"trmon" or "seed" once known."""
    reason: str = ""
    """Why the file is not read, one of store.trouble.Trouble ("" when live): what commands
    decide on (store.trouble.decide), never the message."""
    problem: str = ""
    """What is wrong in one line, without what happens next (what a one-shot command says
    when it gives up); "" when live."""
    since: float | None = None
    """time.monotonic() since when the file has been in this trouble (None when live)."""
    checksums: bool = False
    """True when the file's tables carry checksums (files the product created since they do;
    older files and the seed layout do not)."""
    last_event: float | None = None
    """The latest `received` of the events delivered since the last reset (None: none yet)."""
