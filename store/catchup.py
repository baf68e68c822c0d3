"""Reading a file's history fast: a reader thread reads the next batch while the caller folds
in the previous one.

`trmon-tui report` reads large files this way (store.reading.read_through in a ReadAhead), and
the monitor's tail worker reads this way until it has caught up with its files
(store.reading.catch_up; then it polls on its own).  HDF5 reads and numpy release the GIL, so on
two cores the reader thread (open, read, validate, ``prepare``) and the caller (e.g.
StatsEngine.apply, with its helper lanes) overlap; a queue of one result bounds the batches in
memory.  The reader keeps the file open while more rows follow, for up to HOLD seconds at a
time (TailReader.polls): only while catching up does a writer wait that long.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

READ_ROWS = 250_000  # events per poll: bounds the memory of one batch in flight
"""Up to four batches are alive at once (read ahead, queued, applied, in a helper lane): at
500,000 events that was ~75 MB more peak memory for a 1M-testrun report, and no faster."""
FIRST_ROWS = 100_000  # the first poll is small: the caller starts on it while the next is read
HOLD = 0.25  # seconds the reader keeps the file open while reading on (a writer waits that long)


class ReadAhead:
    """What ``produce()`` yields, produced in a thread one item ahead of the caller (who
    iterates this object).  An exception in the thread is raised again in the caller's."""

    def __init__(self, produce: Callable[[], Iterator]) -> None:
        self._results: queue.Queue = queue.Queue(maxsize=1)
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(produce,),
                                        name="trmon-catch-up", daemon=True)
        self._thread.start()

    def _produce(self, produce: Callable[[], Iterator]) -> None:
        try:
            for value in produce():
                if not self._put(("value", value)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self._put(("error", exc))

    def _put(self, message: tuple) -> bool:
        """Hand ``message`` over unless the caller stopped listening; whether it was."""
        while not self._halt.is_set():
            try:
                self._results.put(message, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator:
        while True:
            kind, value = self._results.get()
            if kind == "error":
                raise value
            if kind == "end":
                return
            yield value

    def close(self) -> None:
        """Stop the thread (what it read ahead is dropped) and wait for it to end."""
        self._halt.set()
        self._thread.join()
