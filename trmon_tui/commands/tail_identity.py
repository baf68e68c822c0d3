"""`tail --identity ID` and `--print-identity`: the guard that keeps `trmon-tui mirror` from
ever copying another file's rows (README, "Files on other servers").

A file's identity is TailReader.identity: `trmon:FILE_ID` of a product file, `seed:DEVICE:INODE`
of a seed-layout one.  The tail stops with status 3 (REPLACED), before printing a row of it, when
the file is not the one of --identity, when it is replaced, truncated or deleted while read (a
Reset), or when it holds fewer events than --skip (rows the copy has that the file lost).

With --print-identity (the mirror's protocol) the first line is `{"identity": ID}`; after the
events of a read, `{"events_total": N}` whenever the file's event count changed; and a stop is
the last line `{"replaced": REASON}` instead of a line on stderr.  Every such notice is a JSON
object without "testrun_id": never an event.
"""

from __future__ import annotations

import json
import sys

from store.batch import Reset, Status
from store.tail import TailReader
from trmon_tui.plain import clean

REPLACED = 3  # exit status: the file is not (or no longer) the one of --identity


class Refused(Exception):
    """The file is not (or no longer) the one to print; the message says why."""


class Guard:
    """What --identity and --print-identity ask of one tail; inactive without them."""

    def __init__(self, expected: str | None = None, announce: bool = False) -> None:
        self.expected = expected
        self.announce = announce
        self.announced = False
        self.total = -1  # the event count last printed

    @property
    def active(self) -> bool:
        return self.expected is not None or self.announce

    def reset(self, item: Reset) -> None:
        """A Reset: another file from now on.  Raises Refused when guarding."""
        if self.active:
            raise Refused(item.problem or item.reason)

    def batch(self, reader: TailReader, out) -> None:
        """Before printing a batch the reader delivered: it must be of the expected file.
        The reader may have read ahead (a catch-up's reader thread): if it has met a Reset
        since, the batch is of a file that is gone, and its identity is no longer known."""
        if not self.active:
            return
        if reader.resets:
            raise Refused(f"{reader.path} was replaced while being read")
        self._known(reader, out)

    def settled(self, reader: TailReader, status: Status, out) -> None:
        """After a read that reached the end of the file: announce it even if it holds no
        event; the event count; an event count below --skip."""
        if not self.active or status.state != "live" or reader.resets:
            return
        self._known(reader, out)
        if self.announced and status.rows_total != self.total:
            self.total = status.rows_total
            out.write(json.dumps({"events_total": self.total}) + "\n")

    def short(self, path: str, held: int, skip: int) -> None:
        """The file holds ``held`` events, fewer than the copy's ``skip``: refused."""
        if self.active and held < skip:
            raise Refused(f"{path} holds {held} events, fewer than the {skip} already copied: "
                          "it was truncated or replaced")

    def _known(self, reader: TailReader, out) -> None:
        identity = reader.identity
        if identity is None:
            return
        if self.expected is not None and identity != self.expected:
            raise Refused(f"{reader.path} is another file than expected (identity {identity}, "
                          f"not {self.expected})")
        if self.announce and not self.announced:
            out.write(json.dumps({"identity": identity}) + "\n")
            self.announced = True

    def refuse(self, reason: str, out, prefix: str) -> int:
        """Stop with status 3, saying why once: on stdout for the mirror, else on stderr."""
        if self.announce:
            out.write(json.dumps({"replaced": reason}, ensure_ascii=False) + "\n")
            out.flush()
        else:
            print(prefix + clean(reason) + "; stopping", file=sys.stderr, flush=True)
        return REPLACED
