"""Several event files as one: `[LABEL=]FILE ...` for report, exporter and the monitor.

A farm with several lab servers keeps one event file per server.  MultiTail tails each file with
its own TailReader (its own lifecycle: missing, damaged, locked, replaced; one bad file never
stops the others) and hands its consumer (a StatsEngine, a Catalog) the rows of all of them in
one id space (store.combine): with more than one file every device group is named
"LABEL/GROUP" and testrun ids are scoped by file.  With one file the reader's items pass through
unchanged, at no cost over a bare TailReader.

A Reset of one file resets everything: the combined state cannot forget one file's rows, so the
consumer gets the Reset and every file is read again from its first row (exact; rare, since a
file is replaced or truncated rarely).

Labels: ``parse_sources`` reads `[LABEL=]FILE` arguments.  An argument is split at its first "="
only when it is not an existing path and the part before the "=" is a plain label (letters,
digits, "_", "-", "."), so "/data/a=b.h5" stays a path; "LABEL=a=b.h5" names such a file.  A
label defaults to the file's name without its extension; two files with the same label are an
error that asks for labels.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from store import catchup
from store.batch import Batch, Reset, Status
from store.combine import Combiner
from store.stats import StatsEngine
from store.stats.frame import has_events
from store.tail import PollResult, TailReader

PLAIN_LABEL = re.compile(r"[\w.-]+")


@dataclass(frozen=True)
class Source:
    """One file of a multi-file view and the label it is shown under."""

    label: str
    path: str


def parse_sources(args: Sequence[str]) -> list[Source]:
    """``[LABEL=]FILE`` arguments as Sources; ValueError with a one-line reason."""
    sources = []
    for arg in args:
        label, sep, path = arg.partition("=")
        if not sep or os.path.exists(arg) or not PLAIN_LABEL.fullmatch(label) or not path:
            label, path = default_label(arg), arg
        sources.append(Source(label, path))
    seen: dict[str, Source] = {}
    for source in sources:
        other = seen.setdefault(source.label, source)
        if other is source:
            continue
        if os.path.realpath(other.path) == os.path.realpath(source.path):
            raise ValueError(f"{source.path} is given twice")
        raise ValueError(f"two files have the label {source.label!r} ({other.path}, "
                         f"{source.path}): name them LABEL=FILE")
    return sources


def default_label(path: str) -> str:
    """The file's name without its extension ("lab2" for /data/lab2.h5)."""
    name = os.path.basename(os.path.normpath(path))
    return os.path.splitext(name)[0] or name


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
                 **reader_options) -> None:
        if not sources:
            raise ValueError("no file given")
        self.sources = tuple(sources)
        self.hold = hold
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

    def testruns_per_file(self, engine: StatsEngine) -> list[int]:
        """Testruns of each file that ``engine`` took in through this tail (the engine knows
        which combined runs have events)."""
        engine.state.drain()
        files = self.file_of(np.flatnonzero(has_events(engine.state)))
        return np.bincount(files, minlength=len(self.sources)).tolist()

    def _translate(self, index: int, items: list) -> list:
        out = []
        for item in items:
            if isinstance(item, Reset):
                label = self.sources[index].label
                # What came before is forgotten by the consumer anyway: drop it.
                out = [Reset(f"{label}: {item.reason}; every file is read again")]
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


Verdict = Callable[[Source, Status, float], str | None]
"""Judges a file's status after a poll that left nothing to read: "" when the file is read,
None to try again later, else the reason to give up on it (the float: seconds since the file
last made progress)."""


def read_through(tail: MultiTail, verdict: Verdict, failed: dict[str, str], *,
                 prepare: Callable[[Batch], None] | None = None,
                 pause: float = 0.05) -> Iterator[list]:
    """Read every file to its end (as committed now), file after file, yielding each poll's
    items (combined; each Batch through ``prepare`` first, in the reading thread).  The files
    the verdict gave up on are put in ``failed`` ({label: reason}; their rows read before stay:
    a file cut short is reported with what it had).  After the first poll the reader's batches
    grow from store.catchup's FIRST_ROWS to READ_ROWS, as for one file."""
    stalled: dict[int, float] = {}  # since when each file has made no progress
    todo = list(range(len(tail.sources)))
    while todo:
        again = []
        for index in todo:
            while True:
                result = tail.poll(index)
                tail.max_rows = catchup.READ_ROWS
                if result.status.state == "live" or \
                        any(isinstance(item, Batch) for item in result.items):
                    stalled.pop(index, None)
                else:
                    stalled.setdefault(index, time.monotonic())
                if result.items:
                    if prepare is not None:
                        for item in result.items:
                            if isinstance(item, Batch):
                                prepare(item)
                    yield result.items
                    if any(isinstance(item, Reset) for item in result.items):
                        again = _every_file_but(tail, failed)  # all read again from row 0
                if result.more:
                    continue
                source = tail.sources[index]
                reason = verdict(source, result.status,
                                 time.monotonic() - stalled.get(index, time.monotonic()))
                if reason is None:
                    again.append(index)
                elif reason:
                    failed[source.label] = reason
                break
        todo = sorted(set(again) - {i for i, s in enumerate(tail.sources) if s.label in failed})
        if todo and not any(tail.behind(i) for i in todo):
            time.sleep(pause)  # only files that are busy or retrying are left


class catch_up:  # noqa: N801 - used like a function: `with catch_up(tail) as polls:`
    """A follower's catch-up (the monitor's): every file of ``tail`` read to its end (as
    committed now), as `report` reads them (read_through), by a thread that starts at once
    and stays a poll (of up to READ_ROWS events, ~20 MB) ahead of the caller,
    calling ``prepare`` on each Batch there.  Iterating gives each poll's items.  A file in
    trouble (missing, damaged, locked) is left after one poll: the follower polls it on its
    own later.  Until it is closed, only its thread may touch PyTables and ``tail``; closing
    it early drops what was read ahead (do it only to start over, or to stop)."""

    def __init__(self, tail: MultiTail, prepare: Callable[[Batch], None] | None = None) -> None:
        self.tail = tail
        self._rows = tail.max_rows
        tail.max_rows = catchup.FIRST_ROWS
        self._polls = catchup.ReadAhead(
            lambda: read_through(tail, _read_for_now, {}, prepare=prepare))

    def __iter__(self) -> Iterator[list]:
        return iter(self._polls)

    def close(self) -> None:
        """Stop reading (the thread ends) and give the tail its poll size back."""
        self._polls.close()
        self.tail.max_rows = self._rows

    def __enter__(self) -> catch_up:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_for_now(_source: Source, _status: Status, _waited: float) -> str:
    return ""  # whatever its state: a follower goes on polling it


def _every_file_but(tail: MultiTail, failed: dict[str, str]) -> list[int]:
    return [i for i, s in enumerate(tail.sources) if s.label not in failed]


def file_summaries(tail: MultiTail, engine: StatsEngine,
                   failed: dict[str, str] | None = None) -> dict[str, dict]:
    """DESIGN.md's "files": {LABEL: {"path", "events", "testruns", "error", "checksums",
    "last_event"}} of the files ``engine`` took in through ``tail``.  ``error`` is null for a
    file read fine; else the reason given up on it (``failed``) or its state's message;
    ``checksums`` whether its tables carry them; ``last_event`` its latest `received` read
    (null: none)."""
    failed = failed or {}
    testruns = tail.testruns_per_file(engine)
    out = {}
    for source, status, n in zip(tail.sources, tail.statuses, testruns, strict=True):
        error = failed.get(source.label)
        if error is None and status.state != "live":
            error = status.message or f"{source.path} is {status.state}"
        out[source.label] = {"path": source.path, "events": status.rows_read, "testruns": n,
                             "error": error, "checksums": status.checksums,
                             "last_event": status.last_event}
    return out


def _stat(path: str) -> tuple | None:
    """What changes when a file is written or replaced (mtime last), None if it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
