"""TailReader: the rows added to the event file since the last poll, each exactly once.

Every poll opens the file, reads rows ``[delivered, available)`` of each table, and closes it
(PyTables has no SWMR: an open handle never sees new rows, see DESIGN.md).  "Available" is the
smallest of the table's nrows, the ``trmon_commit`` counts of the last complete commit, and the
``pre`` counts of a writer journal if one exists (rows past them may belong to a commit cut short
by a crash, which the next writer truncates and rewrites).  Rows are validated before they are
delivered (references to runs/strings/names already delivered, finite times); the reader stops
before the first invalid row and tries again next poll, never skipping it.

The file's lifecycle is reported, never raised: missing, empty, not HDF5, foreign HDF5, locked,
replaced (file id or inode changes), deleted and recreated, truncated.  Whenever the file it
was reading is no longer the same, the poll yields a Reset and then reads the new file from row 0.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import tables

from store import checksummed, h5io, journal, schema, vet
from store.batch import Batch, Reset, Status
from store.seedfile import SeedReader, is_seed_layout
from store.trouble import Trouble

LOCKED_PATIENCE = 3.0    # seconds of lock before saying so
INVALID_PATIENCE = 5.0   # seconds an invalid row may stay before saying so
HANDOFF = 0.01           # seconds polls(hold) leaves the file closed before reopening it
READ_ORDER = ("strings", "names", "runs", "requests", "errors", "events")


@dataclass
class PollResult:
    """What one poll found: batches/resets in order, the reader's status, more waiting."""

    items: list = field(default_factory=list)
    status: Status = field(default_factory=lambda: Status("waiting"))
    more: bool = False


class TailReader:
    """Incremental, lifecycle-aware reader of a product or seed-layout file."""

    def __init__(self, path: str, *, max_rows: int = 500_000,
                 locked_patience: float = LOCKED_PATIENCE,
                 invalid_patience: float = INVALID_PATIENCE, start_row: int = 0,
                 skip_damaged: bool = False) -> None:
        self.path = os.fspath(path)
        self.max_rows = max_rows
        self.start_row = max(0, int(start_row))
        """Event row to start reading at (`tail --skip`, a mirror resuming): the rows before it
        are never read, again after a Reset.  Strings, names and runs are still read from
        their first row (later events refer to them); requests and errors from the first one
        belonging to an event at or after it."""
        self.skip_damaged = skip_damaged
        """Read around /events chunks that fail their checksum (``report --skip-damaged``)
        instead of stopping before them; ``skipped`` counts the events left out (since the
        last reset)."""
        self.locked_patience = locked_patience
        self.invalid_patience = invalid_patience
        self._locked_since: float | None = None
        self._invalid_since: float | None = None
        self._invalid_row = -1
        self._last_status = Status("waiting")
        self.resets = 0
        """Resets this reader has yielded: while it is 0, ``identity`` is that of every batch
        it delivered (a consumer taking batches read ahead can tell)."""
        self._trouble: tuple[str, float] | None = None  # (reason, since when)
        self._buffer = np.empty(0, schema.EVENT_DTYPE)
        self._forget()

    def _forget(self) -> None:
        self._identity: tuple | None = None  # (format, file id or inode) of the file being read
        self._counts = {name: 0 for name in schema.TABLES}
        self._seed: SeedReader | None = None
        self._seek_pending = self.start_row > 0  # after every reset: seek before reading
        self._checksums = False
        self._last_event: float | None = None  # the largest `received` delivered
        self.skipped = 0

    @property
    def identity(self) -> str | None:
        """The identity of the file being read, None before one was read (or after a Reset):
        ``trmon:FILE_ID`` for a product file (its ``trmon_file_id``, kept by every copy of the
        file), ``seed:DEVICE:INODE`` for a seed-layout file (it carries no id of its own: a file
        renamed over it or recreated is another inode; one rewritten in place is noticed only
        when it holds fewer rows).  What `tail --identity` and the mirror compare."""
        if self._identity is None:
            return None
        return ":".join(map(str, self._identity))

    # ------------------------------------------------------------------ polling

    def poll(self) -> PollResult:
        """Read what is new (at most ``max_rows`` events); never raises for a bad, missing or
        busy file."""
        return next(self.polls())

    def polls(self, hold: float = 0.0) -> Iterator[PollResult]:
        """Poll after poll, for as long as the caller iterates (each result as poll() gives it).

        With ``hold`` > 0, while rows remain to be read (``more``) the next poll reads on through
        the file still open, for up to ``hold`` seconds after opening it: catching up with a
        large file then opens it (and loads its table nodes, ~10 ms) a few times a second
        instead of at every chunk.  The lock is held meanwhile, also while the caller works on
        a result, so a writer waits up to ``hold`` plus that long; after closing, the reader
        pauses HANDOFF seconds so a writer retrying for the lock gets its turn.
        """
        while True:
            result = PollResult()
            opened = self._open_checked(result)
            if opened is None:
                yield result
                continue
            h5, stat = opened
            since = time.monotonic()
            try:
                while True:
                    self._read_guarded(h5, stat, result)
                    if not result.more or time.monotonic() - since >= hold:
                        break
                    yield result
                    result = PollResult()
            finally:
                _close(h5, self.path)
            yield result
            if hold > 0 and result.more:
                time.sleep(HANDOFF)

    def _open_checked(self, result: PollResult) -> tuple[tables.File, os.stat_result] | None:
        """The open file and its stat, or None with ``result`` saying why not."""
        if not h5io.locking_enabled():
            problem = ("HDF5_USE_FILE_LOCKING disables HDF5's file lock, which keeps readers "
                       "off half-written commits: unset it")
            self._finish(result, "error", problem, problem=problem, reason=Trouble.UNSAFE)
            return None
        try:
            stat = os.stat(self.path)
        except OSError:
            self._reset_if_reading(result, f"{self.path} was deleted")
            self._finish(result, "waiting", f"{self.path} does not exist yet; waiting "
                         "for it to appear", problem=f"{self.path} does not exist",
                         reason=Trouble.MISSING)
            return None
        if stat.st_size == 0:
            self._reset_if_reading(result, f"{self.path} was emptied")
            self._finish(result, "waiting", f"{self.path} is empty; waiting for a "
                         "writer to create its tables", problem=f"{self.path} is empty",
                         reason=Trouble.EMPTY)
            return None
        h5 = self._open(result, stat)
        return None if h5 is None else (h5, stat)

    def _read_guarded(self, h5: tables.File, stat: os.stat_result, result: PollResult) -> None:
        try:
            self._read_open(h5, stat, result)
        except checksummed.DamagedRows as exc:
            # Nothing was delivered.  With HDF5's lock no commit is ever read half-written,
            # but a writer killed inside one may have torn a chunk that also holds committed
            # rows: the next writer rewrites it from its journal.  Else damage: a one-shot
            # command tries once more before it says so (Trouble.CHECKSUM's patience).
            cut = journal.pending_counts(self.path) is not None
            problem = f"{self.path} is damaged: {exc}" + (
                " (a commit was cut short: the next writer repairs it)" if cut else "")
            self._finish(result, "error", f"{problem}; waiting for it to be repaired or "
                         "replaced", problem=problem, reason=Trouble.CHECKSUM)
        except Exception as exc:  # noqa: BLE001 - whatever a bad file raises, poll() reports
            # Nothing was delivered.  A reader may meet a file mid-rewrite (transient), or
            # damage that the vetting did not reach: vet the file again before the next open.
            vet.distrust(self.path)
            problem = f"could not read {self.path} ({vet.one_line(exc)})"
            self._finish(result, "error", f"{problem}; retrying", problem=problem,
                         reason=Trouble.RETRYING)

    def _open(self, result: PollResult, stat: os.stat_result) -> tables.File | None:
        for delay in (0.0, *h5io.RETRY_SLEEPS):
            time.sleep(delay)
            try:
                # No chunk cache: every poll reads rows it has not read before, so HDF5 may
                # as well copy chunks straight into the result (a third faster on big reads).
                h5 = h5io.try_open(self.path, "r", chunk_cache_size=0)
            except vet.Damaged as exc:
                self._finish(result, "error", f"{exc}; waiting for it to be repaired or "
                             "replaced", problem=str(exc), reason=Trouble.DAMAGED)
                return None
            except Exception as exc:  # noqa: BLE001 - whatever a bad file raises, say so
                if vet.has_hdf5_signature(self.path):
                    vet.distrust(self.path)
                    problem = f"{self.path} cannot be opened ({vet.one_line(exc)})"
                    self._finish(result, "error", f"{problem}; retrying", problem=problem,
                                 reason=Trouble.RETRYING)
                else:
                    self._reset_if_reading(result, f"{self.path} was replaced by a non-HDF5 file")
                    what = "a directory, not an event file" if os.path.isdir(self.path) \
                        else "not an HDF5 file"
                    self._finish(result, "error", f"{self.path} is not an HDF5 file; waiting "
                                 "for it to be replaced by an event file",
                                 problem=f"{self.path} is {what}", reason=Trouble.FOREIGN)
                return None
            if h5 is not None:
                self._locked_since = None
                return h5
        now = time.monotonic()
        self._locked_since = self._locked_since or now
        held = now - self._locked_since
        problem = (f"{self.path} has been locked by another process for {held:.0f} s (a "
                   "writer keeping it open?)")
        self._trouble = (Trouble.LOCKED, self._locked_since)  # in trouble since the lock
        if held >= self.locked_patience:
            self._finish(result, "locked", f"{problem}; still trying", problem=problem,
                         reason=Trouble.LOCKED)
        elif self._last_status.state == "live":
            result.status = self._last_status  # briefly held: nothing to say yet
        else:  # shown as before; decided on as a lock held since _locked_since
            result.status = replace(self._last_status, reason=Trouble.LOCKED, problem=problem,
                                    since=self._locked_since)
        return None

    def _read_open(self, h5: tables.File, stat: os.stat_result, result: PollResult) -> None:
        if schema.is_product_file(h5):
            identity = ("trmon", str(h5.root._v_attrs.trmon_file_id))
        elif is_seed_layout(h5):
            identity = ("seed", stat.st_dev, stat.st_ino)
        elif not h5.root._v_nchildren:
            self._reset_if_reading(result, f"{self.path} was replaced by an empty HDF5 file")
            self._finish(result, "waiting", f"{self.path} has no tables yet; waiting for a "
                         "writer to create them", problem=f"{self.path} has no tables",
                         reason=Trouble.EMPTY)
            return
        else:
            self._reset_if_reading(result, f"{self.path} was replaced by another HDF5 file")
            problem = (f"{self.path} holds other HDF5 data (neither trmon-tui events nor the "
                       "seed layout)")
            self._finish(result, "error", f"{problem}; waiting for it to change",
                         problem=problem, reason=Trouble.FOREIGN)
            return
        if self._identity is not None and identity != self._identity:
            self._reset(result, f"{self.path} was replaced by another file")
        if identity[0] == "trmon":
            self._read_product(h5, identity, result)
        else:
            self._read_seed(h5, identity, result)

    # ------------------------------------------------------------------ product layout

    def _read_product(self, h5: tables.File, identity: tuple, result: PollResult) -> None:
        root = h5.root
        # Loading a Table node costs ~1 ms: an idle poll loads only /events (to notice a
        # truncation); the others only when the last commit's counts say they grew.
        cap = _available(self.path, h5, identity[1])
        self._checksums = checksummed.has_checksums(h5)
        cap["events"] = min(cap["events"], int(root.events.nrows))
        if any(cap[k] < self._counts[k] for k in cap):
            self._reset(result, f"{self.path} was truncated (fewer rows than already read)")
        if self._seek_pending:
            self._seek_product(h5, cap)
        self._identity = identity
        got: dict[str, np.ndarray] = {}
        no_events = np.zeros(0, dtype=schema.EVENT_DTYPE)
        columns = {field: no_events[field] for field in schema.EVENT_DTYPE.names}
        for name in ("events", *READ_ORDER[:-1]):
            start = self._counts[name]
            got[name] = np.zeros(0, dtype=schema.TABLES[name])
            if cap[name] <= start:
                continue
            table = schema.table(h5, name)
            cap[name] = min(cap[name], int(table.nrows))
            stop = min(cap[name], start + self.max_rows)
            if name in ("requests", "errors"):
                # Each request/error row belongs to one request/error event (append order):
                # those of the events read fit in as many rows, plus one to see where the next
                # one points.  Reading max_rows of them would re-read most rows at every poll.
                code = schema.CODE["request" if name == "requests" else "error"]
                if not self.skipped:  # events skipped: their rows are still to come
                    stop = min(stop, start + int(np.count_nonzero(columns["code"] == code)) + 1)
            else:
                if name == "runs" and result.more and not self.skipped:
                    # Catching up: only the runs these events refer to (so a history's runs
                    # arrive spread over its batches, not a third of them with the first).  Not
                    # after skipped events: later rows may refer to runs first named in them.
                    wanted = int(columns["run"].max()) + 1 if len(columns["run"]) else start
                    stop = min(stop, max(start, wanted))
                result.more |= stop < cap[name]
            if name == "events":
                # Read into a buffer kept across polls and handed over as one contiguous array
                # per field (validated, and used by the statistics, as such): fresh records
                # every poll would cost a second copy and page faults for nothing.
                records = self._read_events(table, start, stop, cap[name], result)
                columns = {field: records[field].copy() for field in schema.EVENT_DTYPE.names}
            elif stop > start:
                got[name] = checksummed.read_checked(table, start, stop)
        valid = self._valid_prefix(got, columns)
        cut = valid["events"] < len(columns["run"]) and not result.more
        for name in READ_ORDER:
            got[name] = got[name][:valid[name]]
        # Stuck: the reader stopped before a row it could not validate.
        problem = self._note_invalid(self._counts["events"] + valid["events"] if cut else None)
        n_events = valid["events"]
        batch = Batch(
            first_event_row=self._counts["events"], first_run=self._counts["runs"],
            runs=got["runs"], requests=got["requests"], errors=got["errors"],
            new_strings=tuple(v.decode("utf-8", "replace") for v in got["strings"]["value"]),
            new_names=tuple(v.decode("utf-8", "replace") for v in got["names"]["name"]),
            runs_total=cap["runs"], events_total=cap["events"],
            event_columns={field: values[:n_events] for field, values in columns.items()})
        for name in READ_ORDER:
            self._counts[name] += len(got[name])
        self._counts["events"] += n_events
        if n_events:  # freshness: one pass over a column just read (~1 ms per 500k rows)
            latest = float(batch.columns["received"].max())
            self._last_event = max(latest, self._last_event or latest)
        if n_events or len(batch.runs) or batch.new_strings or batch.new_names:
            result.items.append(batch)
        self._finish(result, "error" if problem else "live",
                     f"{problem}; waiting for it to be repaired" if problem else "",
                     problem=problem, reason=Trouble.STUCK if problem else "",
                     total=cap["events"], fmt="trmon")

    def _seek_product(self, h5: tables.File, cap: dict) -> None:
        """Start at event row ``start_row`` (or the committed end, when the file holds fewer
        events: the rows up to start_row that arrive later are read): the requests and errors
        tables at their first row whose event is at or after it (found by bisection, a few
        one-row reads: both are in event order)."""
        self._seek_pending = False
        row = min(self.start_row, cap["events"])
        if row <= 0:
            return
        self._counts["events"] = row
        for name in ("requests", "errors"):
            if cap[name] > 0:
                table = schema.table(h5, name)
                self._counts[name] = _first_at_or_after(table, min(cap[name], table.nrows),
                                                        row)

    def _read_events(self, table: tables.Table, start: int, stop: int, cap: int,
                     result: PollResult) -> np.ndarray:
        """/events rows [start, stop) as records, or those before its first chunk that fails
        its checksum (the next poll stops there: DamagedRows); with ``skip_damaged``, a damaged
        chunk at ``start`` is skipped (counted in ``skipped``) and the next poll reads on."""
        records = self._records(stop - start)
        try:
            checksummed.read_checked(table, start, stop, out=records)
            return records
        except checksummed.DamagedRows as exc:
            lo, hi = exc.ranges[0]
            if lo <= start and not self.skip_damaged:
                raise
        result.more = True
        if lo > start:  # the rows before the damage are good: deliver them first
            records = self._records(lo - start)
            checksummed.read_checked(table, start, lo, out=records)
            return records
        hi = min(hi, cap)
        self.skipped += hi - start
        self._counts["events"] = hi
        return self._records(0)

    def _records(self, n: int) -> np.ndarray:
        """A buffer for ``n`` event records, reused from poll to poll."""
        if len(self._buffer) < n:
            self._buffer = np.empty(max(n, min(2 * len(self._buffer), self.max_rows)),
                                    schema.EVENT_DTYPE)
        return self._buffer[:n]

    def _valid_prefix(self, got: dict[str, np.ndarray],
                      columns: dict[str, np.ndarray]) -> dict[str, int]:
        """Rows of each table that are safe to deliver: stop before the first invalid one.
        ``columns``: the events' fields as contiguous arrays."""
        n_strings = self._counts["strings"] + len(got["strings"])
        n_names = self._counts["names"] + len(got["names"])
        runs = got["runs"]
        n_runs = self._counts["runs"] + _prefix(runs["group"] < n_strings)
        n_events = self._counts["events"] + _events_prefix(columns, n_runs, n_names)
        valid = {"strings": len(got["strings"]), "names": len(got["names"]),
                 "runs": n_runs - self._counts["runs"], "events": n_events - self._counts["events"]}
        req, err = got["requests"], got["errors"]
        string = (0, n_strings)
        valid["requests"] = _bounded_prefix(req, {
            "event_row": (None, n_events), "run": (None, n_runs), "queue": string,
            "configuration": string, "requestor": string, "hosts": string})
        valid["errors"] = _bounded_prefix(err, {
            "event_row": (None, n_events), "run": (None, n_runs), "message": string})
        # An event is delivered only together with its request/error row: stop the events
        # at the first such row that could not be delivered.
        for name, table in (("requests", req), ("errors", err)):
            if valid[name] < len(table):
                n_events = min(n_events, int(table["event_row"][valid[name]]))
        # (max: after skipped events a request or error row may point into them)
        valid["events"] = max(0, n_events - self._counts["events"])
        return valid

    def _note_invalid(self, row: int | None) -> str:
        """Remember since when the reader is stuck before event ``row``; a message if long."""
        if row is None:
            self._invalid_since = None
            return ""
        now = time.monotonic()
        if self._invalid_since is None or self._invalid_row != row:
            self._invalid_since, self._invalid_row = now, row
        held = now - self._invalid_since
        if held < self.invalid_patience:
            return ""
        return (f"row {row} of {self.path} has stayed invalid for {held:.0f} s (a writer may "
                f"have been cut short)")

    # ------------------------------------------------------------------ seed layout

    def _read_seed(self, h5: tables.File, identity: tuple, result: PollResult) -> None:
        if self._seed is not None and self._seed.shrank(h5):
            self._reset(result, f"{self.path} was truncated (fewer rows than already read)")
        self._identity = identity
        if self._seed is None:
            self._seed = SeedReader()
        if self._seek_pending:
            self._seek_pending = False
            self._seed.skip(h5, self.start_row)
        batch, more = self._seed.read(h5, self.max_rows)
        result.more = more
        if len(batch):
            latest = float(batch.column("received").max())
            self._last_event = max(latest, self._last_event or latest)
        if len(batch) or len(batch.runs) or batch.new_strings or batch.new_names:
            result.items.append(batch)
        self._finish(result, "live", "", total=self._seed.total(h5), fmt="seed")

    # ------------------------------------------------------------------ bookkeeping

    def _reset(self, result: PollResult, reason: str) -> None:
        self.resets += 1
        vet.distrust(self.path)  # other content under the path: vet it before the next open
        result.items.append(Reset(f"{reason}; starting over from its first row", reason))
        self._forget()
        self._invalid_since = None

    def _reset_if_reading(self, result: PollResult, reason: str) -> None:
        if self._identity is not None:
            self._reset(result, reason)

    def _finish(self, result: PollResult, state: str, message: str, *, problem: str = "",
                reason: str = "", total: int | None = None,
                fmt: str | None = None) -> PollResult:
        """Set the poll's status.  Not live: ``reason`` (a Trouble) and ``problem`` (the
        message's first part, without what happens next) say why; since when is kept here."""
        last = self._last_status
        since = None
        if reason:
            if self._trouble is None or self._trouble[0] != reason:
                self._trouble = (reason, time.monotonic())
            since = self._trouble[1]
        else:
            self._trouble = None
        read = self._seed.events if self._seed is not None else \
            self._counts["events"] - self.skipped
        result.status = Status(state, message, read,
                               last.rows_total if total is None else total,
                               (last.file_format if fmt is None else fmt)
                               if self._identity is not None or fmt else "",
                               reason, problem, since, checksums=self._checksums,
                               last_event=self._last_event)
        if state != "live" and self._identity is None:
            result.status = Status(state, message, 0, 0, "", reason, problem, since)
        self._last_status = result.status
        return result


def _events_prefix(ev: dict[str, np.ndarray], n_runs: int, n_names: int) -> int:
    """Rows of the events (fields as contiguous arrays) before the first one referring to an
    unknown run or name, or with a non-finite time.  Fast path: bounds checked once on the
    whole columns (min and max only: NaN and infinities show in them too); the per-row scan
    only when some row fails them."""
    run, code, emit, received = ev["run"], ev["code"], ev["emit"], ev["received"]
    if len(run) == 0:
        return 0
    if (int(run.min()) >= 0 and int(run.max()) < n_runs and int(code.min()) >= 0
            and int(code.max()) < n_names
            and all(math.isfinite(float(f(a))) for a in (emit, received)
                    for f in (np.min, np.max))):
        return len(run)
    ok = (run >= 0) & (run < n_runs) & (code >= 0) & (code < n_names) & \
        np.isfinite(emit) & np.isfinite(received)
    return _prefix(ok)


def _bounded_prefix(rows: np.ndarray, bounds: dict[str, tuple[int | None, int]]) -> int:
    """Rows before the first with a field outside its ``[low, high)`` (``low`` None: no lower
    bound).  Fast path: each field's min and max, no per-row temporaries."""
    if len(rows) == 0:
        return 0
    if all((low is None or int(rows[name].min()) >= low) and int(rows[name].max()) < high
           for name, (low, high) in bounds.items()):
        return len(rows)
    ok = np.ones(len(rows), bool)
    for name, (low, high) in bounds.items():
        values = rows[name]
        ok &= values < high
        if low is not None:
            ok &= values >= low
    return _prefix(ok)


def _first_at_or_after(table: tables.Table, nrows: int, event_row: int) -> int:
    """The first of the table's ``nrows`` rows whose ``event_row`` is >= ``event_row`` (rows
    are appended in event order), by bisection: O(log nrows) reads of one row each."""
    lo, hi = 0, int(nrows)
    while lo < hi:
        mid = (lo + hi) // 2
        if int(table.read(mid, mid + 1, field="event_row")[0]) < event_row:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _prefix(ok: np.ndarray) -> int:
    """Length of the all-True prefix of a boolean array."""
    if ok.all():
        return len(ok)
    return int(np.argmin(ok))


def _close(h5: tables.File, path: str) -> None:
    """Close after a poll; a file that fails even that is vetted again before the next open."""
    try:
        h5.close()
    except Exception:  # noqa: BLE001 - the poll's result stands; the next open says more
        vet.distrust(path)


def _available(path: str, h5: tables.File, file_id: str) -> dict:
    """Rows of each table that belong to complete commits (before capping by nrows)."""
    try:
        committed = json.loads(str(h5.root._v_attrs.trmon_commit))
        cap = {name: int(committed[name]) for name in schema.TABLES}
    except (AttributeError, ValueError, TypeError, KeyError):
        cap = schema.row_counts(h5)  # no commit record: trust the tables themselves
    pending = journal.pending_counts(path)
    if pending is not None and pending[0] == file_id:
        for name in cap:
            cap[name] = min(cap[name], pending[1][name])
    return cap
