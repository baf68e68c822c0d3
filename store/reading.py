"""How the files of a MultiTail are read to their end: `report`'s read_through (every file to
its end, with a verdict on each file in trouble) and a follower's catch_up (the same in a
read-ahead thread: store.catchup).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from store import catchup
from store.batch import Batch, Reset
from store.multi import MultiTail
from store.trouble import decide


def read_through(tail: MultiTail, failed: dict[str, str], *, patient: bool = True,
                 prepare: Callable[[Batch], None] | None = None,
                 pause: float = 0.05) -> Iterator[list]:
    """Read every file to its end (as committed now), file after file, yielding each poll's
    items (combined; each Batch through ``prepare`` first, in the reading thread).  A file in
    trouble is polled again or given up on as store.trouble.decide says for a one-shot
    command; those given up on are put in ``failed`` ({label: reason}; their rows read before
    stay: a file cut short is reported with what it had).  ``patient=False`` (a follower's
    catch-up) leaves every file after a poll that leaves nothing to read, whatever its state.
    After the first poll the reader's batches grow from store.catchup's FIRST_ROWS to
    READ_ROWS, as for one file."""
    todo = list(range(len(tail.sources)))
    while todo:
        again = []
        for index in todo:
            while True:
                result = tail.poll(index)
                tail.max_rows = catchup.READ_ROWS
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
                if not patient:
                    break
                source = tail.sources[index]
                decision = decide(result.status, follow=False, path=source.path)
                if decision.wait:
                    again.append(index)
                elif decision.give_up:
                    failed[source.label] = decision.give_up
                break
        todo = sorted(set(again) - {i for i, s in enumerate(tail.sources) if s.label in failed})
        if todo and not any(tail.behind(i) for i in todo):
            time.sleep(pause)  # only files that are busy or retrying are left


class catch_up:  # noqa: N801 - used like a function: `with catch_up(tail) as polls:`
    """A follower's catch-up (the monitor's): every file of ``tail`` read to its end (as
    committed now), as `report` reads them (read_through), by a thread that starts at once
    and stays a poll (of up to READ_ROWS events, ~10 MB) ahead of the caller,
    calling ``prepare`` on each Batch there.  Iterating gives each poll's items.  A file in
    trouble (missing, damaged, locked) is left after one poll: the follower polls it on its
    own later.  Until it is closed, only its thread may touch PyTables and ``tail``; closing
    it early drops what was read ahead (do it only to start over, or to stop)."""

    def __init__(self, tail: MultiTail, prepare: Callable[[Batch], None] | None = None) -> None:
        self.tail = tail
        self._rows = tail.max_rows
        tail.max_rows = catchup.FIRST_ROWS
        self._polls = catchup.ReadAhead(
            lambda: read_through(tail, {}, patient=False, prepare=prepare))

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


def _every_file_but(tail: MultiTail, failed: dict[str, str]) -> list[int]:
    return [i for i, s in enumerate(tail.sources) if s.label not in failed]
