"""The commit journal: what makes a commit survive SIGKILL exactly once.

Before a writer touches the HDF5 file it writes, beside it (``FILE.journal``), the rows it is
about to append and the row counts of every table before them, and fsyncs that.  Only then does
it open the HDF5 file, append, record the new counts in ``trmon_commit``, close and fsync it; then
it deletes the journal.  A journal found later therefore means "a commit may have been cut
short": the next writer truncates every table back to the journal's counts and appends the
journal's rows again (recover), which gives the same file whether the cut came before, during or
after the append.  A journal whose checksum fails was cut while being written: the HDF5 file was
not touched yet and the journal is simply discarded.

Writers serialise on an flock of the journal file itself (two `ingest` processes must not write
the same journal); readers never take it: they only read the header and, while a journal exists,
deliver no row past its ``pre`` counts (rows past them may be half written).

A kill inside the append can also tear the last chunk of a table that the append rewrites,
with the committed rows it holds (HDF5 then fails that chunk's checksum): the header records a
CRC-32 of those rows for each such table, so that the next writer can take them from the
chunk's raw bytes exactly as they were (store.writer), and readers wait until it has.

Layout: MAGIC, one JSON header line, the rows of each table as raw bytes (store.schema dtypes,
in schema.TABLES order), END.
"""

from __future__ import annotations

import fcntl
import json
import os
import zlib
from dataclasses import dataclass, field

import numpy as np

from store import schema

MAGIC = b"TRMONJ1\n"
END = b"\nTRMONEND\n"
HEADER_LIMIT = 1 << 16


def journal_path(path: str) -> str:
    """Where the journal of the event file ``path`` lives."""
    return path + ".journal"


@dataclass
class Entry:
    """One journalled commit: the file it belongs to, counts before and after, its rows."""

    file_id: str
    pre: dict[str, int]
    rows: dict[str, np.ndarray]
    tails: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per table whose last chunk the append rewrites (it holds committed rows): (the chunk's
    first row, CRC-32 of the committed rows in it, as stored).  A kill inside the append can
    tear that chunk; recovery then takes those rows from the chunk's raw bytes, only if they
    match this CRC (store.writer._salvage_tails)."""

    @property
    def post(self) -> dict[str, int]:
        return {name: self.pre[name] + len(self.rows[name]) for name in schema.TABLES}


class JournalLock:
    """Exclusive flock on the journal file, re-opened if another writer unlinked it meanwhile."""

    def __init__(self, path: str) -> None:
        self.path = journal_path(path)
        self.fd = -1

    def __enter__(self) -> JournalLock:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return self
            os.close(fd)  # the previous holder deleted it: lock the current one instead

    def __exit__(self, *exc) -> None:
        if os.fstat(self.fd).st_size == 0:  # nothing journalled: leave no empty file behind
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = -1

    def read(self) -> Entry | None:
        """The complete entry in the journal, or None (empty, or torn while being written)."""
        size = os.fstat(self.fd).st_size
        if size == 0:
            return None
        data = os.pread(self.fd, size, 0)
        return decode(data)

    def write(self, entry: Entry) -> None:
        """Replace the journal's content with ``entry`` and fsync it."""
        data = encode(entry)
        os.ftruncate(self.fd, 0)
        view = memoryview(data)
        offset = 0
        while offset < len(data):
            offset += os.pwrite(self.fd, view[offset:], offset)
        os.fsync(self.fd)

    def clear(self) -> None:
        """Empty the journal (its commit is complete and durable); unlinked on release."""
        os.ftruncate(self.fd, 0)


def encode(entry: Entry) -> bytes:
    """Serialise an entry (header line with counts and checksum, then the raw rows)."""
    payload = b"".join(
        np.ascontiguousarray(entry.rows[name], dtype=dtype).tobytes()
        for name, dtype in schema.TABLES.items())
    header = {
        "file_id": entry.file_id,
        "pre": entry.pre,
        "rows": {name: len(entry.rows[name]) for name in schema.TABLES},
        "payload": len(payload),
        "crc": zlib.crc32(payload),
        "tails": {name: list(tail) for name, tail in entry.tails.items()},
    }
    return MAGIC + json.dumps(header).encode() + b"\n" + payload + END


def parse_header(data: bytes) -> tuple[dict, int] | None:
    """The header dict and the payload offset, or None when the data is not a journal."""
    if not data.startswith(MAGIC):
        return None
    newline = data.find(b"\n", len(MAGIC))
    if newline < 0:
        return None
    try:
        header = json.loads(data[len(MAGIC):newline])
        header["pre"] = {name: int(header["pre"][name]) for name in schema.TABLES}
        return header, newline + 1
    except (ValueError, KeyError, TypeError):
        return None


def decode(data: bytes) -> Entry | None:
    """The entry serialised in ``data``, or None if it is incomplete or corrupt."""
    parsed = parse_header(data)
    if parsed is None:
        return None
    header, start = parsed
    end = start + int(header["payload"])
    if data[end:] != END or zlib.crc32(data[start:end]) != header["crc"]:
        return None
    rows = {}
    for name, dtype in schema.TABLES.items():
        count = int(header["rows"][name])
        rows[name] = np.frombuffer(data, dtype=dtype, count=count, offset=start).copy()
        start += count * dtype.itemsize
    try:  # a journal written before tails were recorded has none
        tails = {str(name): (int(tail[0]), int(tail[1]))
                 for name, tail in header.get("tails", {}).items()}
    except (ValueError, TypeError, IndexError, AttributeError):
        return None
    return Entry(file_id=header["file_id"], pre=header["pre"], rows=rows, tails=tails)


def pending_counts(path: str) -> tuple[str, dict[str, int]] | None:
    """For readers: (file_id, pre counts) of a journal beside ``path``, else None.

    Rows past those counts may belong to a commit that is in flight or was cut short.
    """
    try:
        with open(journal_path(path), "rb") as handle:
            data = handle.read(HEADER_LIMIT)
    except OSError:
        return None
    parsed = parse_header(data)
    if parsed is None:
        return None
    return str(parsed[0].get("file_id", "")), parsed[0]["pre"]
