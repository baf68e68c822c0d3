"""Checksums over everything a product file holds: HDF5 checks them on every read.

Data: every table is written through HDF5's Fletcher-32 filter (store.schema.FILTERS), so a
chunk whose bytes changed fails its read ("Data error detected by Fletcher32 checksum") instead
of giving other numbers.

Metadata: HDF5 checksums its newer metadata formats (superblock version 2, version-2 object
headers: a table's type, shape, filters and attributes), but writes the older, unchecksummed
ones unless the file is created with a library-version low bound of 1.8 or later.  PyTables 3.11
has no parameter for that bound, so ``create_empty`` makes the empty file through the very
libhdf5 PyTables loaded (ctypes), with bounds (1.8, 1.8): the file gets a version-2 superblock,
and HDF5 keeps writing version-2 object headers into it whoever opens it later, so the tables
PyTables then creates in it are checksummed too (the chunk index, a version-1 B-tree, is not:
a damaged chunk address reads other bytes, which fail the chunk's Fletcher-32 instead).
Not 1.10: its version-3 superblock records "open for writing" in the file, and a writer killed
with the file open would leave it unopenable until `h5clear` (the crash safety of
store.journal relies on a killed writer's file opening as it was).  Where that library cannot
be found, PyTables creates the file (old metadata formats, data still checksummed).
"""

from __future__ import annotations

import ctypes
import glob
import os
import zlib

import numpy as np
import tables

H5F_ACC_TRUNC = 0x0002
H5P_DEFAULT = 0
H5F_LIBVER_V18 = 1

_lib: ctypes.CDLL | None = None


def _hdf5() -> ctypes.CDLL | None:
    """PyTables' own libhdf5 (already loaded: dlopen hands back the same library), or None."""
    global _lib
    if _lib is None:
        here = os.path.dirname(tables.__file__)
        found = sorted(glob.glob(os.path.join(here, "..", "tables.libs", "libhdf5-*.so*")))
        names = found or ["libhdf5.so", "libhdf5_serial.so"]
        for name in names:
            try:
                lib = ctypes.CDLL(name)
                lib.H5open()
            except (OSError, AttributeError):
                continue
            hid = ctypes.c_int64
            lib.H5Pcreate.restype, lib.H5Pcreate.argtypes = hid, [hid]
            lib.H5Pset_libver_bounds.argtypes = [hid, ctypes.c_int, ctypes.c_int]
            lib.H5Fcreate.restype = hid
            lib.H5Fcreate.argtypes = [ctypes.c_char_p, ctypes.c_uint, hid, hid]
            lib.H5Fclose.argtypes = [hid]
            lib.H5Pclose.argtypes = [hid]
            _lib = lib
            break
    return _lib


def create_empty(path: str) -> bool:
    """Create (truncate) an empty HDF5 file at ``path`` whose metadata HDF5 checksums; True
    when it did, False when it could not (the caller then lets PyTables create the file)."""
    lib = _hdf5()
    if lib is None:
        return False
    try:
        fapl_class = ctypes.c_int64.in_dll(lib, "H5P_CLS_FILE_ACCESS_ID_g").value
    except ValueError:
        return False
    fapl = lib.H5Pcreate(fapl_class)
    if fapl < 0:
        return False
    try:
        if lib.H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0:
            return False
        fid = lib.H5Fcreate(os.fsencode(path), H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
        if fid < 0:
            return False
        return lib.H5Fclose(fid) >= 0
    finally:
        lib.H5Pclose(fapl)


def has_checksums(h5: tables.File) -> bool:
    """Whether the open product file's tables carry Fletcher-32 checksums (the events table
    says for all: the writer creates them together)."""
    node = getattr(h5.root, "events", None)
    filters = getattr(node, "filters", None)
    return bool(getattr(filters, "fletcher32", False))


def is_checksum_error(exc: BaseException) -> bool:
    """True when a read of rows failed because a chunk does not match its checksum.  HDF5 says
    only that a filter failed: the product's tables have no filter but Fletcher-32, and a file
    without filters never fails so."""
    if isinstance(exc, DamagedRows):
        return True
    text = str(exc).lower()
    return "filter returned failure during read" in text or "fletcher32" in text


FAILS = "fail their checksum"  # in every message about damaged rows


class DamagedRows(Exception):
    """Rows of a table whose chunks fail their checksum: ``ranges`` of [first, stop) rows."""

    def __init__(self, table: str, ranges: list[tuple[int, int]]) -> None:
        self.table, self.ranges = table, ranges
        rows = ", ".join(f"{lo}-{hi - 1}" for lo, hi in ranges[:4])
        more = f" and {len(ranges) - 4} more chunks" if len(ranges) > 4 else ""
        super().__init__(f"/{table} rows {rows}{more} {FAILS}")


def read_checked(table: tables.Table, start: int, stop: int, out=None):
    """``table.read(start, stop, out=out)``; raises DamagedRows naming the rows of every chunk
    in [start, stop) that fails its checksum (found chunk by chunk, only after a failure)."""
    try:
        return table.read(start, stop, out=out)
    except tables.HDF5ExtError as exc:
        if not is_checksum_error(exc):
            raise
    raise DamagedRows(table.name, damaged_ranges(table, start, stop))


def damaged_ranges(table: tables.Table, start: int, stop: int) -> list[tuple[int, int]]:
    """The [first, stop) rows of the chunks in [start, stop) that fail their checksum (whole
    chunks: HDF5 checks a chunk as a whole), adjacent ones merged."""
    chunk, nrows = int(table.chunkshape[0]), int(table.nrows)
    ranges: list[tuple[int, int]] = []
    for lo in range(start - start % chunk, stop, chunk):
        hi = min(lo + chunk, nrows)
        try:
            table.read(max(lo, start), min(hi, stop))
        except tables.HDF5ExtError as exc:
            if not is_checksum_error(exc):
                raise
            if ranges and ranges[-1][1] == lo:
                ranges[-1] = (ranges[-1][0], hi)
            else:
                ranges.append((lo, hi))
    return ranges or [(start, stop)]


def verify_tails(h5: tables.File, names) -> dict[str, tuple[int, int]]:
    """Read the last, partly filled chunk of each table ``names`` of an open file (an append
    rewrites it): raises DamagedRows when one fails its checksum, so that a writer refuses
    before it touches anything.  {name: (the chunk's first row, CRC-32 of its rows' bytes)}
    of the tables that have such a chunk (what the journal records: store.journal)."""
    tails = {}
    for name in names:
        table = getattr(h5.root, name)
        rows, chunk = int(table.nrows), int(table.chunkshape[0])
        if rows % chunk:
            start = rows - rows % chunk
            tails[name] = (start, zlib.crc32(read_checked(table, start, rows).tobytes()))
    return tails


def salvage_tail(table: tables.Table, start: int, stop: int, crc: int):
    """Rows [start, stop) of a chunk that fails its checksum, read from its raw bytes, when
    those bytes are exactly the rows whose CRC-32 is ``crc`` (the rows a commit found there
    before it rewrote the chunk: store.journal); else None.  The chunk must start at
    ``start`` and be stored unfiltered but for Fletcher-32 (the product's tables)."""
    try:
        raw = table.read_chunk((start,))
    except (tables.HDF5ExtError, ValueError, tables.NoSuchNodeError):
        return None
    size = (stop - start) * table.dtype.itemsize
    if len(raw) < size or zlib.crc32(raw[:size]) != crc:
        return None
    return np.frombuffer(raw, dtype=table.dtype, count=stop - start).copy()
