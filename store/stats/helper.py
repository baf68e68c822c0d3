"""A one-thread helper that does part of a large batch's work while the caller goes on.

On two cores the cold read of a big file is bound by ``StatsEngine.apply``; the counts and the
start/end matching of a batch need nothing the rest of that batch or the next one computes, so a
helper thread does them meanwhile (numpy releases the GIL in its loops, sorts and gathers).

Results do not depend on the threads: the helper runs one task at a time in submission order, a
task only touches state that nothing else touches until ``drain()``, and small batches (the live
tail) run inline, after any pending task.  At most one task is pending when the next is handed
over, which bounds the batches held in memory to two.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

PARALLEL_EVENTS = 100_000  # from this batch size a task goes to the helper thread


class Helper:
    """Runs tasks inline or on one background thread; ``drain`` waits for them (and raises
    what a task raised)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def run(self, task, size: int, *args) -> None:
        """Run ``task(*args)`` (``size`` = events it covers), in the background when large."""
        self.drain()
        if size < PARALLEL_EVENTS:
            task(*args)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trmon-stats")
        self._pending = self._pool.submit(task, *args)

    def drain(self) -> None:
        """Wait until every task handed over is done."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()
