"""Reading a file's history fast: a reader thread reads the next batch while the caller folds
in the previous one.

`trmon-tui report` reads a whole file this way, and the monitor's tail worker reads this way
until it has caught up with the file (then it polls on its own).  HDF5 reads and numpy release
the GIL, so on two cores the reader thread (open, read, validate, ``prepare``) and the caller
(e.g. StatsEngine.apply, with its helper lanes) overlap; a queue of one result bounds the
batches in memory.  The reader keeps the file open while more rows follow, for up to HOLD
seconds at a time (TailReader.polls): only while catching up does a writer wait that long.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import closing

from store.batch import Batch
from store.tail import PollResult, TailReader

READ_ROWS = 500_000  # events per poll: bounds the memory of one batch in flight
FIRST_ROWS = 100_000  # the first poll is small: the caller starts on it while the next is read
HOLD = 0.25  # seconds the reader keeps the file open while reading on (a writer waits that long)


def catch_up(reader: TailReader, prepare: Callable[[Batch], None] | None = None, *,
             threaded: bool = True) -> Iterator[PollResult]:
    """``reader``'s poll results until one has nothing more waiting (that one included).

    With ``threaded`` a thread reads them one poll ahead of the caller, calling ``prepare`` on
    each Batch there (StatsEngine.prepare: the part of apply that needs no state).  While this
    runs, only its thread may touch PyTables and the reader.  Closing the iterator early drops
    what was read ahead: do it only to start over with a new reader, or to stop.
    """
    rows = reader.max_rows
    reader.max_rows = FIRST_ROWS
    try:
        polls = _read_ahead(reader, prepare) if threaded else _polls(reader, prepare)
        with closing(polls):
            for result in polls:
                yield result
                if not result.more:
                    return
    finally:
        reader.max_rows = rows


def _polls(reader: TailReader, prepare: Callable[[Batch], None] | None) -> Iterator[PollResult]:
    with closing(reader.polls(hold=HOLD)) as polls:  # closing: the file is not left open
        for result in polls:
            reader.max_rows = READ_ROWS
            if prepare is not None:
                for item in result.items:
                    if isinstance(item, Batch):
                        prepare(item)
            yield result
            if not result.more:
                return


def _read_ahead(reader: TailReader,
                prepare: Callable[[Batch], None] | None) -> Iterator[PollResult]:
    results: queue.Queue = queue.Queue(maxsize=1)
    halt = threading.Event()

    def produce() -> None:
        try:
            for result in _polls(reader, prepare):
                if not _put(results, ("result", result), halt) or not result.more:
                    return
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            _put(results, ("error", exc), halt)

    thread = threading.Thread(target=produce, name="trmon-catch-up", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = results.get()
            if kind == "error":
                raise value
            yield value
            if not value.more:
                return
    finally:
        halt.set()
        thread.join()


def _put(results: queue.Queue, message: tuple, halt: threading.Event) -> bool:
    """Hand ``message`` over unless the caller stopped listening; whether it was."""
    while not halt.is_set():
        try:
            results.put(message, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False
