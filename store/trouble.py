"""One policy for a file in trouble: what a reader's status means for a command.

A TailReader's Status says *why* a file is not read (``reason``, one of Trouble) and *since
when* (``since``, time.monotonic()); ``decide`` is the only place that turns that into "poll it
again" or "give up", per command, and it never reads a message's text:

- one-shot commands (`report`, `tail` without --follow) wait a while for what passes by itself
  (a writer holding the lock: LOCK_PATIENCE; a failed read, perhaps of a file mid-rewrite, or
  rows failing their checksum, perhaps torn by a killed writer: RETRY_PATIENCE) and give up at
  once on the rest (missing, empty, damaged, foreign);
- followers (the monitor, the exporter, `tail --follow`) never give up: they keep polling and
  show the status's message, which says what is wrong and what happens next.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import StrEnum

from store.batch import Status


class Trouble(StrEnum):
    """Why a file is not read (Status.reason; "" when it is)."""

    MISSING = "missing"      # no such file (yet)
    EMPTY = "empty"          # zero bytes, or an HDF5 file without tables yet
    LOCKED = "locked"        # another process (a writer) holds HDF5's lock
    RETRYING = "retrying"    # an HDF5 file failed to open or read: may be mid-rewrite
    DAMAGED = "damaged"      # store.vet found damage
    CHECKSUM = "checksum"    # rows fail their checksum: damage, or a chunk a writer killed
    #                          inside a commit tore (the next writer repairs it): tried again
    STUCK = "stuck"          # a row has stayed invalid (a writer cut short?)
    FOREIGN = "foreign"      # not an event file: not HDF5, other HDF5 data, a directory
    UNSAFE = "unsafe"        # HDF5's file locking is disabled in this process


LOCK_PATIENCE = 30.0   # seconds a one-shot command waits for a writer holding the file
RETRY_PATIENCE = 1.0   # seconds a one-shot command retries a failed read
PATIENCE = {Trouble.LOCKED: LOCK_PATIENCE, Trouble.RETRYING: RETRY_PATIENCE,
            Trouble.CHECKSUM: RETRY_PATIENCE}
"""One-shot patience by reason; any other reason is the answer at once."""


@dataclass(frozen=True)
class Decision:
    """What a command does about one file after a poll that left nothing to read."""

    wait: bool
    """Poll it again (a follower always does; a one-shot command while patient)."""
    give_up: str = ""
    """A one-shot command leaves the file, for this reason (one line, no promise of what
    happens next); "" when the file was read or is waited for."""
    failed: bool = False
    """Leaving it is a failure (exit status 1); an empty file is not one for `tail`."""


def decide(status: Status, *, follow: bool, path: str = "",
           now: float | None = None) -> Decision:
    """The one decision: wait for the file or give up on it (see the module)."""
    if follow:
        return Decision(wait=True)
    if status.state == "live" and not status.reason:
        return Decision(wait=False)
    waited = math.inf if status.since is None else \
        (time.monotonic() if now is None else now) - status.since
    if waited < PATIENCE.get(status.reason, 0.0):
        return Decision(wait=True)
    why = status.problem or f"{path or 'the file'} could not be read"
    return Decision(wait=False, give_up=why, failed=status.reason != Trouble.EMPTY)
