"""Helper threads ("lanes") that do parts of a large batch's work while the caller goes on.

On two cores the cold read of a big file is bound by ``StatsEngine.apply``; the counts, the
start/end matching and the delay logs of a batch need nothing the rest of that batch or the next
one computes, so helper threads do them meanwhile (numpy releases the GIL in its loops, sorts and
gathers).

Results do not depend on the threads: each lane runs one task at a time in submission order, a
task only touches state that nothing else (no other lane, not the caller) touches until
``drain()``, and small batches (the live tail) run inline, after any pending task.  At most one
task per lane is pending when the next is handed over, which bounds the batches held in memory.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

PARALLEL_EVENTS = 100_000  # from this batch size a task goes to a helper thread


class Helper:
    """Runs tasks inline or on background threads, one thread per *lane*: the tasks of a lane
    run one at a time in the order given, those of different lanes side by side (they must
    touch disjoint state).  ``drain`` waits for all of them (and raises what a task raised)."""

    def __init__(self) -> None:
        self._pools: dict[int, ThreadPoolExecutor] = {}
        self._pending: dict[int, Future] = {}

    def run(self, task, size: int, *args, lane: int = 0) -> None:
        """Run ``task(*args)`` (``size`` = events it covers) on ``lane``, in the background
        when large, after the lane's previous task."""
        if size < PARALLEL_EVENTS:
            self.drain()  # small: inline, after anything still running
            task(*args)
            return
        self._wait(lane)
        pool = self._pools.get(lane)
        if pool is None:
            pool = self._pools[lane] = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"trmon-stats-{lane}")
        self._pending[lane] = pool.submit(task, *args)

    def _wait(self, lane: int) -> None:
        pending = self._pending.pop(lane, None)
        if pending is not None:
            pending.result()

    def drain(self) -> None:
        """Wait until every task handed over is done."""
        for lane in list(self._pending):
            self._wait(lane)
