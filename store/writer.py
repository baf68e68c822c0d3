"""EventWriter: validated, batched, crash-safe appends to the event file.

Protocol (DESIGN.md, "Live tailing"): events are buffered in memory; at most every ``interval``
seconds (and on flush/close) a commit opens the file under HDF5's lock (retrying while a reader
holds it), appends every table, records the new row counts in ``trmon_commit``, closes and
fsyncs.  The file is never held open between commits, so readers can always get in.

Crash safety (store.journal): each commit is first written to an fsynced journal beside the file;
a journal left by a killed writer is replayed exactly once by the next writer (tables truncated
back to the journal's counts, rows appended again).  A batch whose flush() returned is in the
file and survives SIGKILL.

Thread-safe: write()/write_columns() may be called from any thread; one lock guards the buffer
and the validation state, another serialises commits (all PyTables calls happen under it).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import numpy as np
import tables

from store import checksummed, h5io, journal, schema, validate, vet
from store.validate import InvalidEvent  # noqa: F401  (re-exported for callers)
from store.writer_state import FileState


class StoreError(Exception):
    """The file cannot be written (not HDF5, another program's file, locked too long...)."""


class EventWriter:
    """Append events to a product file; see the module docstring for the protocol."""

    def __init__(self, path: str, *, interval: float = 0.25, lock_patience: float = 60.0) -> None:
        self.path = os.fspath(path)
        self.interval = interval
        self.lock_patience = lock_patience
        self._lock = threading.Lock()          # buffer + validation state
        self._commit_lock = threading.RLock()  # one commit (and all HDF5 calls) at a time
        self._wake = threading.Condition(self._lock)
        self._rows: list[tuple] = []           # records from write(), in order
        self._chunks: list[dict] = []          # normalised columns, in order
        self._buffered = 0
        self._pending_groups: dict[bytes, str] = {}  # testruns buffered but not yet in the file
        self._state = FileState()
        self._error: BaseException | None = None
        self._closed = False
        self.commits = 0
        self.recoveries: list[str] = []        # what _recover did, for tests and reports
        self._commit(initial=True)             # create the file, recover a crashed commit
        self._thread = threading.Thread(target=self._run, name="trmon-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public API

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, event: dict) -> None:
        """Validate one event (raises InvalidEvent, nothing buffered) and buffer it."""
        with self._lock:
            self._check_open()
            record = validate.normalize(event, now=time.time(), known_group=self._known_group)
            tid = record[0].encode()
            if record[4] and tid not in self._pending_groups and self._state.lookup_one(tid) < 0:
                self._pending_groups[tid] = record[4]
            self._rows.append(record)
            self._buffered += 1
            if self._buffered == 1:  # the commit thread waits only on an empty buffer
                self._wake.notify()

    def write_columns(self, cols: dict[str, np.ndarray]) -> None:
        """Validate and buffer n events given as columns (vectorised; see CONTRACT.md)."""
        with self._lock:
            self._check_open()
            out = validate.normalize_columns(cols, now=time.time(),
                                             known_groups=self._known_groups)
            if not len(out["testrun_id"]):
                return
            self._pending_groups.update(out.pop("_new_groups"))
            self._seal_rows()
            self._chunks.append(_compact(out))
            self._buffered += len(out["testrun_id"])
            self._wake.notify()

    def flush(self) -> None:
        """Commit everything buffered so far; returns once it is in the file (fsynced)."""
        self._commit()

    def close(self) -> None:
        """Flush and stop the background thread.  Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.notify()
        self._thread.join()
        self._commit()

    def annotation(self, name: str) -> str | None:
        """The root attribute ``name`` of the file as text, None when it has none."""
        with self._commit_lock:
            h5 = self._open()
            try:
                value = getattr(h5.root._v_attrs, name, None)
            finally:
                h5.close()
        return None if value is None else str(value)

    def annotate(self, name: str, value: str) -> None:
        """Set the root attribute ``name`` (say, where a mirror's events come from) durably:
        it is in the file, fsynced, before any event written after this call is."""
        with self._commit_lock, journal.JournalLock(self.path):
            h5 = self._open()
            try:
                setattr(h5.root._v_attrs, name, value)
            finally:
                h5.close()
            h5io.fsync_path(self.path)

    @property
    def committed(self) -> int:
        """Events in the file as of the last commit (a commit cut short is finished when the
        writer opens: these are the events a reader of the file gets)."""
        return self._state.counts["events"]

    @property
    def buffered(self) -> int:
        """Events validated but not yet committed."""
        return self._buffered

    # ------------------------------------------------------------------ validation state

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the writer is closed")
        if self._error is not None:
            error, self._error = self._error, None
            raise StoreError(f"a background commit failed: {error}") from error

    def _known_group(self, tid: str) -> str | None:
        key = tid.encode()
        group = self._pending_groups.get(key)
        if group is not None:
            return group
        run = self._state.lookup_one(key)
        return None if run < 0 else self._state.group_of(run)

    def _known_groups(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(known, group name or "") of each testrun id: the file's, else a buffered one."""
        runs = self._state.lookup(ids)
        names = self._state.groups_of(runs)
        unknown = np.flatnonzero(runs < 0)
        if len(unknown) and self._pending_groups:
            pending = [self._pending_groups.get(t, "") for t in ids[unknown].tolist()]
            names = names.astype(np.result_type(names, np.array(pending, dtype=str)))
            names[unknown] = pending
        return names != "", names

    def _seal_rows(self) -> None:
        """Turn the records of write() into a columns chunk, keeping the event order."""
        if not self._rows:
            return
        cols = list(zip(*self._rows, strict=True))
        self._rows = []
        chunk = {}
        for key, values in zip(validate.KEYS, cols, strict=True):
            if key in validate.TIMES:
                chunk[key] = np.array(values, dtype=np.float64)
            elif key in ("testrun_id", "event", "request_id"):
                width = validate.WIDTH[key]
                chunk[key] = np.array([v.encode() for v in values], dtype=f"S{width}")
            else:
                chunk[key] = np.array(values, dtype=str)
        self._chunks.append(_compact(chunk))

    # ------------------------------------------------------------------ committing

    def _run(self) -> None:
        """Background thread: commit buffered events at most every ``interval`` seconds."""
        last = 0.0
        while True:
            with self._lock:
                while not self._buffered and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
            delay = last + self.interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                self._commit()
            except Exception as exc:  # kept for the next write/flush to raise
                self._error = exc
                print(f"trmon-tui writer: commit failed: {exc}", file=sys.stderr)
                time.sleep(min(1.0, self.interval * 4))
            last = time.monotonic()

    def _commit(self, initial: bool = False) -> None:
        with self._commit_lock:
            with self._lock:
                self._seal_rows()
                chunks, self._chunks, self._buffered = self._chunks, [], 0
            if not chunks and not initial:
                return
            try:
                self._commit_chunks(chunks)
            except BaseException as exc:
                with self._lock:  # not journalled: keep them for the next attempt
                    self._chunks[:0] = chunks
                    self._buffered += sum(len(c["testrun_id"]) for c in chunks)
                if isinstance(exc, StoreError) or not isinstance(exc, Exception):
                    raise
                # A file that fails like this may be damaged: vet it again before the next try.
                vet.distrust(self.path)
                raise StoreError(f"could not write {self.path} ({vet.one_line(exc)})") from exc

    def _commit_chunks(self, chunks: list[dict]) -> None:
        with journal.JournalLock(self.path) as jlock:
            leftover = jlock.read()
            if leftover is not None or os.fstat(jlock.fd).st_size:
                self._recover(jlock, leftover)
            h5 = self._open()
            try:
                try:
                    with self._lock:  # validation reads the state: reload it atomically
                        self._state.sync(h5)
                    if not chunks:
                        return
                    cols = _concat(chunks)
                    rows, new_strings, new_names = self._build_rows(cols)
                    # The last chunk of a table the append rewrites must pass its check first.
                    tails = checksummed.verify_tails(h5, [name for name in schema.TABLES
                                                          if len(rows[name])])
                except (checksummed.DamagedRows, tables.HDF5ExtError) as exc:
                    if not checksummed.is_checksum_error(exc):
                        raise
                    raise StoreError(f"{self.path} is damaged: {vet.one_line(exc)}; refusing "
                                     "to touch it") from None
                entry = journal.Entry(file_id=self._state.file_id,
                                      pre=dict(self._state.counts), rows=rows, tails=tails)
                # From here the batch belongs to the journal: a failure below is repaired by
                # replaying it, so the chunks must not go back into the buffer.
                jlock.write(entry)
                chunks.clear()
                _append(h5, entry)
            finally:
                h5.close()
                vet.wrote(self.path)  # its own writing: no need to vet it again
            h5io.fsync_path(self.path)
            jlock.clear()
        with self._lock:
            self._state.add_strings(new_strings)
            self._state.add_names(new_names)
            self._state.add_runs(rows["runs"]["testrun_id"], rows["runs"]["group"])
            self._state.counts = entry.post
            for tid in rows["runs"]["testrun_id"].tolist():
                self._pending_groups.pop(tid, None)
        self.commits += 1

    def _open(self) -> tables.File:
        """Open the file for appending, creating the layout in a new or empty file."""
        try:
            if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
                self._create()
            h5 = h5io.open_with_retry(self.path, "a", patience=self.lock_patience)
        except h5io.FileLocked as exc:
            raise StoreError(str(exc)) from None
        except vet.Damaged as exc:
            raise StoreError(f"{exc}; refusing to touch it") from None
        except Exception as exc:  # noqa: BLE001 - whatever the file is, it is not ours
            vet.distrust(self.path)
            raise StoreError(f"{self.path} is not an HDF5 file that can be written "
                             f"({vet.one_line(exc)}); refusing to touch it") from None
        try:
            if not schema.is_product_file(h5):
                if h5.root._v_nchildren or h5.root._v_attrs._v_attrnamesuser:
                    raise StoreError(f"{self.path} holds other HDF5 data, not trmon-tui events; "
                                     f"refusing to write to it")
                schema.create_layout(h5)
            version = int(getattr(h5.root._v_attrs, "trmon_schema", 0))
            if version != schema.SCHEMA_VERSION:
                raise StoreError(f"{self.path} uses trmon-tui schema {version}; this version "
                                 f"writes schema {schema.SCHEMA_VERSION}")
        except BaseException:
            h5.close()
            raise
        return h5

    def _create(self) -> None:
        """Create an empty product file atomically: a kill can never leave half a layout."""
        tmp = f"{self.path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            # Checksummed metadata where the library allows (store.checksummed).
            with tables.open_file(tmp, "a" if checksummed.create_empty(tmp) else "w") as h5:
                schema.create_layout(h5)
            h5io.fsync_path(tmp)
            if os.path.exists(self.path):
                os.replace(tmp, self.path)  # an empty (0-byte) file: nothing to lose
            else:
                try:
                    os.link(tmp, self.path)  # fails if another process just created it
                except FileExistsError:
                    pass
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _recover(self, jlock: journal.JournalLock, entry: journal.Entry | None) -> None:
        """Finish a commit that a killed writer left in the journal, exactly once."""
        if entry is not None:
            h5 = self._open()
            try:
                if str(h5.root._v_attrs.trmon_file_id) == entry.file_id:
                    counts = schema.row_counts(h5)
                    if all(counts[k] >= entry.pre[k] for k in counts):
                        torn = {k: counts[k] - entry.pre[k] for k in counts
                                if counts[k] > entry.pre[k]}
                        salvaged = _salvage_tails(h5, entry)
                        _append(h5, entry)
                        self.recoveries.append(
                            f"replayed a commit cut short; rows cut back first: "
                            f"{torn or 'none'}" + (f"; torn chunks rewritten: "
                                                   f"{', '.join(salvaged)}" if salvaged else ""))
                    else:
                        print(f"trmon-tui writer: {self.path} is shorter than its journal "
                              f"expects; the journal is discarded", file=sys.stderr)
            finally:
                h5.close()
                vet.wrote(self.path)
            h5io.fsync_path(self.path)
        else:
            self.recoveries.append("discarded a journal torn while being written")
        jlock.clear()

    def _build_rows(self, cols: dict) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
        """Intern strings, names and testruns; return the new rows of every table."""
        state, counts = self._state, self._state.counts
        n = len(cols["testrun_id"])
        new_strings: dict[str, int] = {}

        def intern(values: np.ndarray) -> np.ndarray:
            uniq, _, inverse = validate.unique(values)
            ids = []
            for value in uniq.tolist():
                sid = state.string_ids.get(value)
                if sid is None:
                    sid = new_strings.setdefault(value, counts["strings"] + len(new_strings))
                ids.append(sid)
            return np.array(ids, dtype=np.int32)[inverse]

        names, _, name_inv = validate.unique(cols["event"])
        new_names: list[str] = []
        codes = []
        for raw in names.tolist():
            name = raw.decode()
            code = state.name_codes.get(name)
            if code is None:
                code = counts["names"] + len(new_names)
                new_names.append(name)
            codes.append(code)
        code = np.array(codes, dtype=np.int16)[name_inv]

        uniq, first, inverse = cols.get("_tid_unique") or validate.unique(cols["testrun_id"])
        run_of = state.lookup(uniq)
        new = np.flatnonzero(run_of < 0)
        new = new[np.argsort(first[new], kind="stable")]  # dense index in order of appearance
        run_of[new] = counts["runs"] + np.arange(len(new))
        groups = _first_group(cols, inverse, new, len(uniq), self._pending_groups, uniq)
        runs = np.zeros(len(new), dtype=schema.RUN_DTYPE)
        runs["testrun_id"] = uniq[new]
        runs["group"] = intern(groups) if len(new) else 0

        events = np.zeros(n, dtype=schema.EVENT_DTYPE)
        events["run"] = run_of[inverse]
        events["code"] = code
        events["emit"] = cols["emit"]
        events["received"] = cols["received"]

        req = np.flatnonzero(code == schema.CODE["request"])
        requests = np.zeros(len(req), dtype=schema.REQUEST_DTYPE)
        requests["run"] = events["run"][req]
        requests["event_row"] = counts["events"] + req
        if len(req):  # the chunks keep attributes of request rows only, in order
            for key in ("queue", "configuration", "requestor", "hosts"):
                requests[key] = intern(cols[key])
        requests["request_id"] = cols["request_id"]

        err = np.flatnonzero(code == schema.CODE["error"])
        errors = np.zeros(len(err), dtype=schema.ERROR_DTYPE)
        errors["run"] = events["run"][err]
        errors["event_row"] = counts["events"] + err
        if len(err):
            errors["message"] = intern(cols["error"])

        strings = np.zeros(len(new_strings), dtype=schema.STRING_DTYPE)
        strings["value"] = [s.encode() for s in new_strings]
        names_rows = np.zeros(len(new_names), dtype=schema.NAME_DTYPE)
        names_rows["name"] = [s.encode() for s in new_names]
        rows = {"strings": strings, "names": names_rows, "runs": runs, "requests": requests,
                "errors": errors, "events": events}
        return rows, list(new_strings), new_names


def _first_group(cols, inverse, new, n_uniq, pending, uniq) -> np.ndarray:
    """Device group of each new testrun: the first group named in the batch (else pending)."""
    given = cols["group_rows"]
    first = np.full(n_uniq, -1, dtype=np.int64)
    # Reverse assignment leaves each testrun's first group-naming row in place.
    first[inverse[given][::-1]] = np.arange(len(given))[::-1]
    at = first[new]
    values = cols["device_group"]
    groups = values[np.maximum(at, 0)] if len(values) else np.zeros(len(new), dtype="U1")
    unnamed = np.flatnonzero(at < 0)
    if len(unnamed):  # named in an earlier, still buffered batch
        found = [pending.get(t, "") for t in uniq[new[unnamed]].tolist()]
        groups = groups.astype(np.result_type(groups, np.array(found, dtype=str)))
        groups[unnamed] = found
    return groups


EVENT_KEYS = ("testrun_id", "event", "emit", "received")
REQUEST_KEYS = ("queue", "configuration", "requestor", "request_id", "hosts")


def _compact(cols: dict) -> dict:
    """A buffered chunk: the per-event columns in full, attributes only where they can be.

    Validation guarantees request attributes sit on request rows only, messages on error rows:
    keeping just those rows (and the rows naming a device group) spares the buffer and the
    commit most of the copying of wide, mostly empty str columns.
    """
    event = cols["event"]
    req = np.flatnonzero(event == b"request")
    err = np.flatnonzero(event == b"error")
    named = np.flatnonzero(validate.present(cols["device_group"]))
    chunk = {key: cols[key] for key in EVENT_KEYS}
    chunk.update({key: cols[key][req] for key in REQUEST_KEYS})
    chunk["error"] = cols["error"][err]
    chunk["group_rows"], chunk["device_group"] = named, cols["device_group"][named]
    if "_tid_unique" in cols:
        chunk["_tid_unique"] = cols["_tid_unique"]
    return chunk


def _concat(chunks: list[dict]) -> dict:
    """One chunk of several; their testrun-id uniques are merged, not recomputed."""
    if len(chunks) == 1:
        return chunks[0]
    keys = EVENT_KEYS + REQUEST_KEYS + ("error", "device_group")
    out = {key: np.concatenate([c[key] for c in chunks]) for key in keys}
    rows = np.cumsum([0] + [len(c["testrun_id"]) for c in chunks])
    out["group_rows"] = np.concatenate([c["group_rows"] + r
                                        for c, r in zip(chunks, rows, strict=False)])
    if all("_tid_unique" in c for c in chunks):
        uniqs = [c["_tid_unique"] for c in chunks]
        uniq, pos, inv = validate.unique(np.concatenate([u for u, _, _ in uniqs]))
        offsets = np.cumsum([0] + [len(u) for u, _, _ in uniqs])
        # pos is each id's first place among the chunks' uniques: map it to its first row.
        first_rows = np.concatenate([f + r for (_, f, _), r in zip(uniqs, rows, strict=False)])
        inverse = np.concatenate([inv[o + i] for (_, _, i), o in zip(uniqs, offsets,
                                                                     strict=False)])
        out["_tid_unique"] = (uniq, first_rows[pos], inverse)
    return out


def _salvage_tails(h5: tables.File, entry: journal.Entry) -> list[str]:
    """Rewrite each table's last chunk that the journalled append tore (a kill inside it):
    its committed rows are taken from its raw bytes when they match the journal's CRC (the
    rest of the chunk was the append's), the table cut back to the chunk's start and those
    rows appended again; what was rewritten, as "/TABLE rows A-B".  Raises DamagedRows when
    the bytes do not match: the committed rows themselves are damaged, not just torn."""
    rewritten = []
    for name, (start, crc) in entry.tails.items():
        table = getattr(h5.root, name)
        stop = entry.pre[name]
        try:
            checksummed.read_checked(table, start, stop)
            continue  # the chunk is whole: the append's rows are cut back as usual
        except checksummed.DamagedRows:
            pass
        rows = checksummed.salvage_tail(table, start, stop, crc)
        if rows is None:
            raise checksummed.DamagedRows(name, [(start, stop)])
        table.truncate(start)  # a chunk boundary: the torn chunk is dropped, never read
        table.append(rows)
        rewritten.append(f"/{name} rows {start}-{stop - 1}")
    return rewritten


def _append(h5: tables.File, entry: journal.Entry) -> None:
    """Cut every table back to the entry's counts, append its rows, record the commit."""
    for name in schema.TABLES:
        table = getattr(h5.root, name)
        if table.nrows > entry.pre[name]:
            table.truncate(entry.pre[name])
        if len(entry.rows[name]):
            table.append(entry.rows[name])
    h5.root._v_attrs.trmon_commit = json.dumps(entry.post)
