"""The product's HDF5 layout: tables, event codes, format attributes.

One file holds five append-only tables under the root group::

    /events    run int32, code int16, emit float64, received float64 (one row per event)
    /runs      testrun_id S64, group int32                         (row number = dense run index)
    /requests  run int32, event_row int64, queue, configuration,
               requestor, hosts int32 (string ids), request_id S64 (one row per `request`)
    /errors    run int32, event_row int64, message int32 (string id) (one row per `error`)
    /strings   value S256                                          (row number = string id)
    /names     name S64                                            (row number = event code)

Integer codes keep the statistics vectorisable: events carry a dense testrun index and a small
event code, and every repeated string (device group, requestor, hosts, error message, ...) is
interned once in /strings.  The vocabulary of DESIGN.md holds codes 0..10 in every file; any other
event name is appended to /names on first use, so unknown events are kept and counted too.

Root attributes identify the file: ``trmon_format`` (FORMAT_NAME), ``trmon_schema``
(SCHEMA_VERSION) and ``trmon_file_id`` (a random hex string made at creation): a reader that sees
a different file id, or a table shrinking, knows the file was replaced and starts over.
``trmon_commit`` is a JSON object of the row counts after the last complete commit (see
store.writer).  String id 0 is always the empty string (EMPTY_STRING_ID: "absent").
"""

from __future__ import annotations

import json
import uuid

import numpy as np
import tables

FORMAT_NAME = "trmon-tui events"
SCHEMA_VERSION = 1

# DESIGN.md's vocabulary, in testrun order. The position is the event code: never reorder.
EVENT_NAMES: tuple[str, ...] = (
    "request",
    "queue_start",
    "queue_end",
    "flash_start",
    "flash_end",
    "boot_start",
    "boot_end",
    "test_start",
    "test_end",
    "publish",
    "error",
)
CODE: dict[str, int] = {name: code for code, name in enumerate(EVENT_NAMES)}
N_KNOWN = len(EVENT_NAMES)

# String id 0 is always "" in a product file: the id of an absent optional string (a request
# without a queue, an error without a message), so no id needs a "missing" sentinel.
EMPTY_STRING_ID = 0

# Column widths in bytes (UTF-8). Longer values are rejected by the writer, never truncated.
TESTRUN_ID_LEN = 64
REQUEST_ID_LEN = 64
STRING_LEN = 256
NAME_LEN = 64

EVENT_DTYPE = np.dtype(
    [("run", "<i4"), ("code", "<i2"), ("emit", "<f8"), ("received", "<f8")]
)
RUN_DTYPE = np.dtype([("testrun_id", f"S{TESTRUN_ID_LEN}"), ("group", "<i4")])
REQUEST_DTYPE = np.dtype(
    [
        ("run", "<i4"),
        ("event_row", "<i8"),
        ("queue", "<i4"),
        ("configuration", "<i4"),
        ("requestor", "<i4"),
        ("hosts", "<i4"),
        ("request_id", f"S{REQUEST_ID_LEN}"),
    ]
)
ERROR_DTYPE = np.dtype([("run", "<i4"), ("event_row", "<i8"), ("message", "<i4")])
STRING_DTYPE = np.dtype([("value", f"S{STRING_LEN}")])
NAME_DTYPE = np.dtype([("name", f"S{NAME_LEN}")])

# Table name -> row dtype, in the order a commit appends them: everything an event row refers
# to (its run, its strings, its name) is written before the event itself.
TABLES: dict[str, np.dtype] = {
    "strings": STRING_DTYPE,
    "names": NAME_DTYPE,
    "runs": RUN_DTYPE,
    "requests": REQUEST_DTYPE,
    "errors": ERROR_DTYPE,
    "events": EVENT_DTYPE,
}

# Rows per HDF5 chunk. Events are small (22 bytes); 16k rows keep a chunk near 350 kB, which
# reads fast in bulk and still costs little to rewrite when a tail append touches it.
EVENTS_CHUNK_ROWS = 16384
OTHER_CHUNK_ROWS = 4096

# Every chunk of every table carries a Fletcher-32 checksum that HDF5 checks on each read, so
# damage in the data is an error naming its rows, never other numbers (store.checksummed).
FILTERS = tables.Filters(fletcher32=True)


def create_layout(h5: tables.File) -> str:
    """Create the empty tables and identity attributes in an open, empty file.

    Returns the new file id.  The caller owns opening and closing the file.
    """
    for name, dtype in TABLES.items():
        chunk = EVENTS_CHUNK_ROWS if name == "events" else OTHER_CHUNK_ROWS
        h5.create_table("/", name, description=dtype, expectedrows=chunk * 64,
                        chunkshape=(chunk,), filters=FILTERS)
    h5.root.names.append(np.array([(n.encode(),) for n in EVENT_NAMES], dtype=NAME_DTYPE))
    h5.root.strings.append(np.zeros(1, dtype=STRING_DTYPE))  # EMPTY_STRING_ID
    file_id = uuid.uuid4().hex
    attrs = h5.root._v_attrs
    attrs.trmon_format = FORMAT_NAME
    attrs.trmon_schema = SCHEMA_VERSION
    attrs.trmon_file_id = file_id
    attrs.trmon_commit = json.dumps(row_counts(h5))
    return file_id


def row_counts(h5: tables.File) -> dict[str, int]:
    """Current number of rows of every table of the layout."""
    return {name: int(getattr(h5.root, name).nrows) for name in TABLES}


def is_product_file(h5: tables.File) -> bool:
    """True when the open file carries this product's format attribute."""
    return getattr(h5.root._v_attrs, "trmon_format", None) == FORMAT_NAME


def table(h5: tables.File, name: str) -> tables.Table:
    """The product table ``name`` of an open file; ValueError when the node under that name is
    not such a table (a damaged file can show another kind of node, or other columns)."""
    node = getattr(h5.root, name)
    if not isinstance(node, tables.Table) or node.dtype != TABLES[name]:
        raise ValueError(f"/{name} is not a trmon-tui {name} table")
    return node
