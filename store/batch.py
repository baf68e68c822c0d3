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

from dataclasses import dataclass, field

import numpy as np

from store import schema


def _empty(dtype: np.dtype) -> np.ndarray:
    return np.empty(0, dtype=dtype)


@dataclass(frozen=True)
class Batch:
    """Rows appended to the file since the previous poll, in file order."""

    first_event_row: int = 0
    """File row index of ``events[0]`` (the count of events delivered before this batch)."""
    events: np.ndarray = field(default_factory=lambda: _empty(schema.EVENT_DTYPE))
    first_run: int = 0
    """Dense run index of ``runs[0]``."""
    runs: np.ndarray = field(default_factory=lambda: _empty(schema.RUN_DTYPE))
    requests: np.ndarray = field(default_factory=lambda: _empty(schema.REQUEST_DTYPE))
    errors: np.ndarray = field(default_factory=lambda: _empty(schema.ERROR_DTYPE))
    new_strings: tuple[str, ...] = ()
    """Strings whose ids continue the consumer's string table (decoded UTF-8)."""
    new_names: tuple[str, ...] = ()
    """Event names whose codes continue the consumer's name table (the first batch after a
    reset starts with the 11 names of store.schema.EVENT_NAMES)."""
    runs_total: int = 0
    """Runs in the file when this batch was read (0: unknown): lets a consumer catching up
    size its per-run arrays once instead of growing them batch after batch."""
    columns: dict[str, np.ndarray] = field(default_factory=dict, init=False, compare=False,
                                           repr=False)
    """Contiguous copies of fields of ``events`` made so far (the tail reader validates on
    them, and puts them here); read them with ``column()``.  Not an init field, so
    ``dataclasses.replace`` (e.g. with a slice of the events) starts without them."""

    def __len__(self) -> int:
        return len(self.events)

    def column(self, name: str) -> np.ndarray:
        """Field ``name`` of ``events`` as a contiguous array, copied once per batch: a field
        of the 22-byte event records is strided, and numpy is several times faster on
        contiguous data."""
        values = self.columns.get(name)
        if values is None:
            values = self.columns[name] = np.ascontiguousarray(self.events[name])
        return values


@dataclass(frozen=True)
class Reset:
    """The file was replaced, truncated or recreated: forget all state and start over."""

    reason: str


@dataclass(frozen=True)
class Status:
    """The reader's view of the file after a poll, for status bars and stderr messages."""

    state: str
    """One of: "live" (read fine), "waiting" (file missing or not yet a product file),
    "locked" (a writer has held the lock longer than the patience), "error" (unreadable or
    foreign: keeps retrying)."""
    message: str = ""
    """Human sentence: what is wrong and what happens next; empty when live."""
    rows_read: int = 0
    """Events delivered since the last reset."""
    rows_total: int = 0
    """Events in the file at the last successful open (for progress while catching up)."""
    file_format: str = ""
    """"trmon" or "seed" once known."""
