"""Several event files as one (report, exporter, the monitor; the files: store.sources).

A farm with several lab servers keeps one event file per server.  MultiTail tails each file with
its own TailReader (its own lifecycle: missing, damaged, locked, replaced; one bad file never
stops the others) and hands its consumer (a StatsEngine, a Catalog) the rows of all of them in
one id space (store.combine): with more than one file every device group is named
"LABEL/GROUP" and testrun ids are scoped by file.  With one file the reader's items pass through
unchanged, at no cost over a bare TailReader.

A Reset of one file resets everything: the combined state cannot forget one file's rows, so the
consumer gets the Reset and every file is read again from its first row (exact; rare, since a
file is replaced or truncated rarely).  Reading every file to its end: store.reading.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence

import numpy as np

from store.batch import Batch, Reset, Status
from store.combine import Combiner
from store.sources import Source
from store.tail import PollResult, TailReader

SETTLED = 2.0
"""Seconds after its last write (mtime) from which a file's unchanged stat means no new rows:
a later write moves the mtime even on file systems that keep it to the second."""


class MultiTail:
    """Tails every source on its own reader; items come in one combined id space.

    ``poll(i)`` polls file ``i`` once, ``poll_all()`` each file once: both give a PollResult
    whose items are Batches and Resets for the consumer (a Reset means "forget everything":
    then every file is read again) and whose ``status`` is the polled file's (``poll_all``:
    the first file's; ``statuses`` has all).  ``more`` is true while some file has rows left.
    ``hold`` is TailReader.polls'; call ``close()`` when done (a held file is closed).

    ``poll(i, skip_quiet=True)`` (followers: the monitor, the exporter) does not even open a
    file whose stat is what it was at a poll that found nothing, SETTLED seconds after its
    last write: a poll opens the file and loads its tables (~5 ms), a stat costs microseconds,
    and a static file is most of a follower's day.
    """

    def __init__(self, sources: Sequence[Source], *, hold: float = 0.0,
                 at: float | None = None, **reader_options) -> None:
        if not sources:
            raise ValueError("no file given")
        self.sources = tuple(sources)
        self.hold = hold
        self.at = at
        """``--at``: only the events received at or before this time are handed over, as if
        the files held no others (Batch.received_by); None: all of them."""
        self.kept_events = [0] * len(self.sources)
        """Events of each file handed over since the last Reset (with ``at``: those kept)."""
        self.kept_last: list[float | None] = [None] * len(self.sources)
        """With ``at``: the latest `received` of each file's kept events (its Status's
        last_event as a file of only those would say)."""
        self._kept = 0  # events handed over, all files: the next kept event's row
        self._options = reader_options
        self._combiner = Combiner([s.label for s in self.sources], len(self.sources) > 1)
        self.statuses = [Status("waiting") for _ in self.sources]
        self._more = [True] * len(self.sources)
        self._readers: list[TailReader] = []
        self._polls: list[Iterator[PollResult] | None] = []
        self._quiet: list[tuple | None] = []  # per file: its stat when a poll found nothing
        self._start_readers()

    @property
    def more(self) -> bool:
        """True while a file has rows left to read (or must be read again after a Reset)."""
        return any(self._more)

    @property
    def max_rows(self) -> int:
        return self._readers[0].max_rows

    @max_rows.setter
    def max_rows(self, rows: int) -> None:
        self._options["max_rows"] = rows  # also for readers started again after a Reset
        for reader in self._readers:
            reader.max_rows = rows

    def reader(self, index: int) -> TailReader:
        """The reader of file ``index`` (replaced by a new one when the files are read again)."""
        return self._readers[index]

    @property
    def skipped(self) -> int:
        """Events left out in damaged chunks (readers told ``skip_damaged``)."""
        return sum(reader.skipped for reader in self._readers)

    def behind(self, index: int) -> bool:
        """True when file ``index`` had rows left at its last poll (or must be read again)."""
        return self._more[index]

    def poll(self, index: int, *, skip_quiet: bool = False) -> PollResult:
        """Poll file ``index`` once; never raises for a bad, missing or busy file.  With
        ``skip_quiet``, a file unchanged since a poll that found nothing is not opened (see
        the class)."""
        stat = _stat(self.sources[index].path) if skip_quiet else None  # before the poll
        if stat is not None and stat == self._quiet[index]:
            return PollResult(status=self.statuses[index])
        polls = self._polls[index]
        if polls is None:
            polls = self._polls[index] = self._readers[index].polls(self.hold)
        result = next(polls)
        if not result.more:
            # The file is closed: start a new poll next time.  The suspended one would keep
            # this result's batch (up to READ_ROWS events) alive until then.
            polls.close()
            self._polls[index] = None
        self.statuses[index] = result.status
        self._more[index] = result.more
        settled = stat is not None and not result.items and result.status.state == "live" \
            and time.time() - stat[-1] / 1e9 > SETTLED
        self._quiet[index] = stat if settled else None
        if len(self.sources) > 1:
            result.items = self._translate(index, result.items)
        result.items = self._count(index, result.items)
        return result

    def poll_all(self, *, skip_quiet: bool = False) -> PollResult:
        """Poll each file once, in order (the files' items one after the other)."""
        out = PollResult()
        for index in range(len(self.sources)):
            out.items += self.poll(index, skip_quiet=skip_quiet).items
        out.status, out.more = self.statuses[0], self.more
        return out

    def close(self) -> None:
        """Close the files a held poll keeps open."""
        for polls in self._polls:
            if polls is not None:
                polls.close()

    def file_of(self, runs: np.ndarray) -> np.ndarray:
        """Index in ``sources`` of the file each combined run comes from."""
        runs = np.asarray(runs, np.intp)
        if len(self.sources) == 1:
            return np.zeros(len(runs), np.int16)
        return self._combiner.run_file.file[runs]

    def _count(self, index: int, items: list) -> list:
        """Items as handed over: with ``at``, each Batch cut to the events received by then
        (after the ids are combined, so the rows stay one sequence over all files)."""
        out = []
        for item in items:
            if isinstance(item, Reset):
                self._kept, self.kept_events = 0, [0] * len(self.sources)
                self.kept_last = [None] * len(self.sources)
            elif self.at is not None:
                item = item.received_by(self.at, self._kept)
                if len(item):
                    latest = float(item.column("received").max())
                    self.kept_last[index] = max(latest, self.kept_last[index] or latest)
            if isinstance(item, Batch):
                self._kept += len(item)
                self.kept_events[index] += len(item)
            out.append(item)
        return out

    def _translate(self, index: int, items: list) -> list:
        out = []
        for item in items:
            if isinstance(item, Reset):
                label = self.sources[index].label
                # What came before is forgotten by the consumer anyway: drop it.
                out = [Reset(f"{label}: {item.reason}; every file is read again",
                             f"{label}: {item.problem}" if item.problem else "")]
                self._restart(keep=index)
            else:
                out.append(self._combiner.translate(index, item))
        return out

    def _restart(self, keep: int) -> None:
        """Start over: combined ids forgotten, every file but ``keep`` (which resets itself)
        read again from its first row."""
        self._combiner.reset()
        for index in range(len(self.sources)):
            if index != keep:
                self._start_reader(index)

    def _start_readers(self) -> None:
        self._readers = [None] * len(self.sources)
        self._polls = [None] * len(self.sources)
        self._quiet = [None] * len(self.sources)
        for index in range(len(self.sources)):
            self._start_reader(index)

    def _start_reader(self, index: int) -> None:
        if self._polls[index] is not None:
            self._polls[index].close()
        self._readers[index] = TailReader(self.sources[index].path, **self._options)
        self._polls[index] = None
        self._more[index] = True
        self._quiet[index] = None  # read it again from its first row


def _stat(path: str) -> tuple | None:
    """What changes when a file is written or replaced (mtime last), None if it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
