"""Reading the seed spike's layout (read-only), delivered as product-style Batches.

The spike (DESIGN.md, "Files") wrote one HDF5 group per device group, each holding a table
``events`` with columns testrun_id, ev_name, emit, received, the times integers in minutes.
This module converts that on the fly: times to seconds, the group name interned as a string,
a dense run index across groups (a testrun id is scoped by its group), event names coded as in
store.schema, and one request row per ``request`` event with empty-string attributes (string
id 0, "") so requestor counts still work.  Rows are delivered group by group (groups sorted by
name), each group's rows in file order.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tables

from store import schema
from store.batch import Batch

SEED_COLUMNS = {"testrun_id", "ev_name", "emit", "received"}
MINUTE = 60.0
SPLIT_ROWS = 100_000  # from this many rows of a group, its conversion uses a second thread
_pool: ThreadPoolExecutor | None = None


def seed_tables(h5: tables.File) -> list[tuple[str, tables.Table]]:
    """(group name, events table) of every seed-layout group, sorted by name; [] if none."""
    found = []
    for group in h5.root._f_iter_nodes("Group"):
        table = getattr(group, "events", None)
        if isinstance(table, tables.Table) and SEED_COLUMNS <= set(table.colnames):
            found.append((group._v_name, table))
    return sorted(found, key=lambda item: item[0])


def is_seed_layout(h5: tables.File) -> bool:
    """True when the open file follows the seed spike's layout."""
    return bool(seed_tables(h5))


def _text(values: np.ndarray) -> list[str]:
    if values.dtype.kind == "S":
        return [v.decode("utf-8", "replace") for v in values.tolist()]
    return [str(v) for v in values.tolist()]


def _as_bytes(values: np.ndarray) -> np.ndarray:
    """A column as a contiguous S array, non-UTF-8 bytes replaced as str.decode does.

    The ids are keyed by their decoded text (the consumers see text), so byte strings that
    decode alike must fall together: only columns with non-ASCII bytes pay for decoding.
    """
    values = np.asarray(values)
    if values.dtype.kind != "S":
        return np.array([v.encode() for v in _text(values)], dtype="S") if len(values) else \
            np.zeros(0, "S1")
    values = np.ascontiguousarray(values)
    if values.dtype.itemsize and _high_bit(values):
        return np.array([v.encode() for v in _text(values)], dtype="S")
    return values


def _high_bit(values: np.ndarray) -> bool:
    """True when any byte of a contiguous S array is >= 0x80 (not ASCII)."""
    if values.dtype.itemsize % 8 == 0:  # one OR over the words, no temporary array
        return bool(np.bitwise_or.reduce(values.view(np.uint64)) & np.uint64(0x8080808080808080))
    return bool((values.view(np.uint8) >= 0x80).any())


def _words(values: np.ndarray) -> np.ndarray:
    """(n, k) big-endian uint64 words of an S column (NUL-padded to a multiple of 8 bytes):
    comparing the rows word by word is comparing the bytes."""
    width = -(-max(values.dtype.itemsize, 1) // 8) * 8
    if values.dtype.itemsize != width:
        values = values.astype(f"S{width}")
    return values.view(">u8").reshape(len(values), width // 8)


def _hash(values: np.ndarray) -> np.ndarray:
    """A uint64 hash of each value of an S column (multiply-xor over its 8-byte words)."""
    words = _words(values)
    h = words[:, 0].astype(np.uint64)
    for j in range(1, words.shape[1]):
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= words[:, j]
    # Final mix (splitmix64): every input bit reaches the high bits unique_bytes keeps.
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def unique_bytes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True) of an S column, sorting one uint64 hash per
    value rather than strings (several times faster); exact: a hash collision falls back."""
    n = len(values)
    if n == 0:
        return values[:0], np.zeros(0, np.intp)
    # One sort of (hash high bits | row) instead of an argsort (several times faster): the
    # low bits of each sorted key give the row back.
    bits = max(n - 1, 1).bit_length()
    low = np.uint64((1 << bits) - 1)
    keys = _hash(values) & ~low
    keys |= np.arange(n, dtype=np.uint64)
    keys.sort()
    order = (keys & low).astype(np.intp)
    hs = keys >> np.uint64(bits)
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(hs[1:], hs[:-1], out=first[1:])
    group = np.empty(n, np.intp)
    group[order] = np.cumsum(first) - 1
    reps = values[order[first]]
    if not (values == reps[group]).all():  # two values with one hash
        return np.unique(values, return_inverse=True)
    # The distinct values into np.unique's byte order (big-endian words compare as bytes).
    # Words equal in every value (a common prefix such as "tr-00000") are left out of the sort.
    words = _words(reps)
    varying = [j for j in range(words.shape[1]) if (words[:, j] != words[0, j]).any()]
    if len(varying) == 1:
        by_bytes = np.argsort(words[:, varying[0]], kind="stable")
    else:
        by_bytes = np.lexsort(words[:, varying].T[::-1]) if varying else np.arange(len(reps))
    rank = np.empty(len(reps), np.intp)
    rank[by_bytes] = np.arange(len(reps))
    return reps[by_bytes], rank[group]


def _lookup(known: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in the sorted S array ``known``, found) of each of ``values``."""
    width = max(known.dtype.itemsize, values.dtype.itemsize, 1)
    known, values = known.astype(f"S{width}"), values.astype(f"S{width}")
    pos = np.searchsorted(known, values)
    found = np.zeros(len(values), bool)
    inside = pos < len(known)
    found[inside] = known[pos[inside]] == values[inside]
    return pos, found


class _Index:
    """Sorted byte keys -> dense integers, grown a batch of new keys at a time."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, "S1")
        self.values = np.zeros(0, np.int64)

    def get(self, keys: np.ndarray, first_new: int) -> tuple[np.ndarray, np.ndarray]:
        """Values of the sorted unique ``keys``; new keys get first_new, first_new + 1, ...
        in their sorted order.  Returns (values, mask of the new keys)."""
        pos, found = _lookup(self.keys, keys)
        out = np.empty(len(keys), np.int64)
        out[found] = self.values[pos[found]]
        new = ~found
        out[new] = first_new + np.arange(int(new.sum()))
        if new.any():
            width = max(self.keys.dtype.itemsize, keys.dtype.itemsize)
            self.keys = np.insert(self.keys.astype(f"S{width}"), pos[new], keys[new])
            self.values = np.insert(self.values, pos[new], out[new])
        return out, new


class SeedReader:
    """Incremental reader of one seed file: remembers what it delivered (reset = new one)."""

    def __init__(self) -> None:
        self.delivered: dict[str, int] = {}
        self.strings: dict[str, int] = {}
        self.names: dict[str, int] = {}
        self.runs: dict[str, _Index] = {}  # per group: testrun id bytes -> dense run
        self.n_runs = 0
        self._name_hash = None  # (sorted hashes, names, codes) of the names met so far
        self.events = 0

    def total(self, h5: tables.File) -> int:
        """Events in the file."""
        return sum(int(t.nrows) for _, t in seed_tables(h5))

    def shrank(self, h5: tables.File) -> bool:
        """True when a group lost rows or vanished since delivered (the file was rewritten)."""
        sizes = {name: int(t.nrows) for name, t in seed_tables(h5)}
        return any(sizes.get(name, 0) < n for name, n in self.delivered.items())

    def skip(self, h5: tables.File, rows: int) -> None:
        """Start at file row ``rows`` (rows count group by group, in the order read() delivers
        a file it reads in one go) without reading the rows before it (`tail --skip`)."""
        for group, table in seed_tables(h5):
            take = min(int(table.nrows), rows - self.events)
            if take <= 0:
                break
            self.delivered[group] = take
            self.events += take

    def read(self, h5: tables.File, max_rows: int) -> tuple[Batch, bool]:
        """New rows of every group (at most ``max_rows`` events); returns (batch, more)."""
        new_strings: list[str] = []
        new_names: list[str] = []
        if not self.strings:
            new_strings.append("")
            self.strings[""] = schema.EMPTY_STRING_ID
        if not self.names:
            for name in schema.EVENT_NAMES:
                self.names[name] = len(self.names)
                new_names.append(name)
        runs, budget, more, spans, rows_total = [], max_rows, False, [], 0
        first_run, first_event = self.n_runs, self.events
        # Every group is looked at, also once the budget is spent: ``more`` must say whether
        # any group (an earlier one that grew, or one not reached yet) still has rows.
        for group, table in seed_tables(h5):
            start = self.delivered.get(group, 0)
            nrows = int(table.nrows)
            rows_total += nrows
            stop = min(nrows, start + budget)
            more |= stop < nrows
            if stop > start:
                spans.append((group, table, start, stop))
                budget -= stop - start
        # Every group's rows converted straight into their slice of the batch (no concatenate),
        # one contiguous array per field: what the statistics work on (records would cost a
        # strided write here and a copy of each field in the consumer, on this thread).
        n_events = sum(stop - start for _, _, start, stop in spans)
        events = {field: np.empty(n_events, schema.EVENT_DTYPE[field])
                  for field in schema.EVENT_DTYPE.names}
        at = 0
        for group, table, start, stop in spans:
            rows = table.read(start, stop)
            self.delivered[group] = stop
            self._convert(group, rows, runs, new_strings, new_names,
                          {field: column[at : at + len(rows)] for field, column in events.items()})
            at += len(rows)
        self.events += n_events
        req = np.flatnonzero(events["code"] == schema.CODE["request"])
        requests = np.zeros(len(req), dtype=schema.REQUEST_DTYPE)
        requests["run"] = events["run"][req]
        requests["event_row"] = first_event + req
        run_rows = np.zeros(sum(len(ids) for ids, _ in runs), dtype=schema.RUN_DTYPE)
        if runs:
            # Longer ids are cut to the column's width (bytes), as the writer does.
            run_rows["testrun_id"] = np.concatenate([ids for ids, _ in runs])
            run_rows["group"] = np.concatenate([np.full(len(ids), g, np.int32)
                                                for ids, g in runs])
        # The file's runs are unknown until read: estimated from the runs per row so far, so
        # that a consumer catching up sizes its per-run arrays once rather than copying them at
        # every doubling (a size hint, nothing counts on it; no margin: capacities round up to
        # a power of two anyway, and a larger one costs memory, measured).
        runs_total = self.n_runs
        if more and self.events:
            runs_total = max(runs_total, int(self.n_runs * rows_total / self.events))
        batch = Batch(first_event_row=first_event, event_columns=events, first_run=first_run,
                      runs=run_rows, requests=requests, new_strings=tuple(new_strings),
                      new_names=tuple(new_names), runs_total=runs_total,
                      events_total=rows_total)
        return batch, more

    def _convert(self, group, rows, runs, new_strings, new_names,
                 out: dict[str, np.ndarray]) -> None:
        """Convert one group's rows into ``out`` (a slice of each event field's array)."""
        if group not in self.strings:
            self.strings[group] = len(self.strings)
            new_strings.append(group)
        gid = self.strings[group]
        # Runs by testrun id within the group, without a Python loop per testrun: new ids get
        # the next dense runs in their sorted byte order.
        uniq, inverse, (names, codes) = _split_ids(rows, self._name_hash)
        index = self.runs.setdefault(group, _Index())
        run_of, new = index.get(uniq, self.n_runs)
        if new.any():
            runs.append((uniq[new], gid))
            self.n_runs += int(new.sum())
        out["run"][:] = run_of.astype(np.int32)[inverse]
        out["code"][:] = self._codes(names, new_names, codes)
        np.multiply(np.asarray(rows["emit"], dtype=np.float64), MINUTE, out=out["emit"])
        np.multiply(np.asarray(rows["received"], dtype=np.float64), MINUTE, out=out["received"])

    def _codes(self, names: np.ndarray, new_names: list[str],
               codes: np.ndarray | None = None) -> np.ndarray:
        """Event code of each name: a hash lookup among the names known (a few), verified
        byte for byte; only the rows not found go through unique_bytes.  ``codes``:
        _known_codes(names, self._name_hash) when already computed."""
        if codes is None:
            codes = _known_codes(names, self._name_hash)
        rest = np.flatnonzero(codes < 0)
        if len(rest) == 0:
            return codes
        uniq, inverse = unique_bytes(names[rest])
        found = []
        for name in _text(uniq):  # a few distinct names
            if name not in self.names:
                self.names[name] = len(self.names)
                new_names.append(name)
            found.append(self.names[name])
        codes[rest] = np.asarray(found, dtype=np.int16)[inverse]
        # Remember these spellings (raw bytes) for the next chunks.
        old = self._name_hash or (np.zeros(0, np.uint64), np.zeros(0, "S1"), np.zeros(0, np.int16))
        keys = np.concatenate([old[0], _hash(uniq)])
        width = max(old[1].dtype.itemsize, uniq.dtype.itemsize)
        known = np.concatenate([old[1].astype(f"S{width}"), uniq.astype(f"S{width}")])
        known_codes = np.concatenate([old[2], np.asarray(found, np.int16)])
        order = np.argsort(keys, kind="stable")
        self._name_hash = (keys[order], known[order], known_codes[order])
        return codes


def _known_codes(names: np.ndarray, name_hash: tuple | None) -> np.ndarray:
    """SeedReader._codes' lookup of ``names`` (an S column) among the spellings met so far
    (``name_hash``: their sorted hashes, the spellings, their codes): -1 where not found."""
    codes = np.full(len(names), -1, np.int16)
    if name_hash is not None and len(names):
        h = _hash(names)
        keys, known, known_codes = name_hash
        pos = np.minimum(np.searchsorted(keys, h), len(keys) - 1)
        # Byte-for-byte check, word by word (a gather from a table of a few rows).
        words, known_words = _words(names), _words(known)
        hit = keys[pos] == h
        if words.shape[1] == known_words.shape[1]:
            for j in range(words.shape[1]):
                hit &= known_words[:, j][pos] == words[:, j]
        else:
            hit &= known[pos] == names
        codes[hit] = known_codes[pos[hit]]
    return codes


def _split_ids(rows: np.ndarray, name_hash: tuple | None
               ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(distinct testrun ids, inverse, (event names as bytes, _known_codes of them)) of a
    group's rows: the part of the conversion that only reads the reader's state.

    The seed layout's reading is bound by this thread (the statistics wait for it), so a
    large span goes to two threads: a helper takes the second half of the ids and the names,
    this thread the first half of the ids; then the halves' distinct ids are merged (tens of
    thousands of sorted values: one binary search, no sort).  The result is unique_bytes' of
    the whole column, whatever the split: the distinct values in byte order and each row's
    position among them.
    """
    n = len(rows)
    if n < SPLIT_ROWS:
        names = _as_bytes(rows["ev_name"])
        return (*unique_bytes(_as_bytes(rows["testrun_id"])),
                (names, _known_codes(names, name_hash)))
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trmon-seed")
    half = n // 2

    def second() -> tuple:
        names = _as_bytes(rows["ev_name"])
        return (unique_bytes(_as_bytes(rows["testrun_id"][half:])),
                (names, _known_codes(names, name_hash)))

    job = _pool.submit(second)
    first_uniq, first_inverse = unique_bytes(_as_bytes(rows["testrun_id"][:half]))
    (second_uniq, second_inverse), name_hash = job.result()
    uniq, first_at, second_at = _merged(first_uniq, second_uniq)
    inverse = np.concatenate([first_at[first_inverse], second_at[second_inverse]])
    return uniq, inverse, name_hash


def _merged(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sorted union of two sorted arrays of distinct byte strings, with the position in it
    of each value of ``a`` and of ``b``."""
    width = max(a.dtype.itemsize, b.dtype.itemsize, 1)
    a, b = a.astype(f"S{width}"), b.astype(f"S{width}")
    pos, found = _lookup(a, b)
    new = np.flatnonzero(~found)
    before = pos[new]  # each new value goes before a[before] (ascending: b is sorted)
    a_at = np.arange(len(a)) + np.searchsorted(before, np.arange(len(a)), side="right")
    b_at = np.empty(len(b), np.intp)
    b_at[found] = a_at[pos[found]]
    b_at[new] = before + np.arange(len(new))  # a's values before it, and the new ones
    return np.insert(a, before, b[new]), a_at, b_at
