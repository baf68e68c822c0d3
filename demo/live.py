"""The farm in real time: events written through EventWriter as the (accelerated) clock reaches
them, and `live_demo`, the temporary live file behind `trmon-tui --demo`.

Time: the farm's clock starts at the wall clock (`origin`) and runs `speed` times faster, so
phases keep realistic durations (a flash still takes 10-20 farm minutes) while a minute of farm
passes each second at the default speed 60.  Event times are farm times; a viewer that wants
ages consistent with the farm asks `demo_clock(path)` (live_demo's files) for the farm's "now".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demo import farm
from demo.arrivals import MONDAY, WEEK
from demo.generator import CHUNK_EVENTS, columns, order_by_received, receive_ordered
from demo.model import FarmModel, RunBlock

DEFAULT_HISTORY = 3500
"""Testruns requested before the live part starts (about a week of farm time): the farm is busy
from the first second, the trend by day has days to compare and every host has a record."""
WINDOW = 30 * farm.MINUTE
"""Farm time of requests generated at once, ahead of the clock."""
TICK = 0.1
"""Longest wall-clock sleep between two hand-overs to the writer (it commits every 0.25 s)."""
READY_TIMEOUT = 60.0
LIVE_START_IN_WEEK = (24 + 15) * farm.HOUR
"""The farm's week at the live origin: Tuesday 15:00."""


@dataclass(frozen=True)
class DemoClock:
    """The farm's clock: equal to the wall clock at `origin`, `speed` times faster after."""

    origin: float
    speed: float

    def now(self) -> float:
        """Current farm time (seconds since the epoch)."""
        return self.origin + (time.time() - self.origin) * self.speed

    def wall(self, farm_time: float) -> float:
        """Wall-clock time at which the farm clock shows `farm_time`."""
        return self.origin + (farm_time - self.origin) / self.speed


class LiveFarm:
    """Events of a running farm, handed out in receive order as the clock passes them."""

    def __init__(self, seed: int | None, clock: DemoClock) -> None:
        # Whatever the real day, the farm starts on a busy weekday afternoon, queues built up.
        into_week = (clock.origin - MONDAY) % WEEK
        self.model = FarmModel(seed, phase=LIVE_START_IN_WEEK - into_week)
        self.model.trouble_at(clock.origin)
        self.clock = clock
        self.horizon = clock.origin  # requests are generated up to here (farm time)
        self._pending: RunBlock | None = None  # generated, not yet due; in receive order

    def history(self, runs: int) -> Iterator[dict[str, np.ndarray]]:
        """Column chunks of `runs` testruns requested before the origin, received by then; the
        rest of their events become pending."""
        if runs <= 0:
            return
        requests = self.model.arrivals.last_n(runs, self.clock.origin - farm.MINUTE,
                                              self.model.rng)
        later: list[RunBlock] = []
        yield from receive_ordered(self.model, requests, self.clock.origin, later=later)
        self._pending = later[0] if later else None

    def _add(self, requests: np.ndarray) -> None:
        block = self.model.runs(requests)
        if self._pending is not None:
            block = RunBlock.concat(self._pending, block)  # older runs first on equal times
        self._pending = block.take(order_by_received(block))

    def extend(self, until: float) -> None:
        """Generate requests up to farm time `until` (plus a window) if not done yet."""
        while self.horizon <= until:
            end = self.horizon + WINDOW
            self._add(self.model.arrivals.between(self.horizon, end, self.model.rng))
            self.horizon = end

    def due(self, now: float) -> dict[str, np.ndarray]:
        """Remove and return (as columns) the pending events received by farm time `now`."""
        self.extend(now)
        pending = self._pending
        cut = int(np.searchsorted(pending.received, now, side="right"))
        self._pending = pending.take(np.arange(cut, len(pending.received)))
        return columns(pending, self.model.group_names, np.arange(cut))

    def next_due(self) -> float:
        """Farm time of the next pending event (inf when none)."""
        pending = self._pending
        return float(pending.received[0]) if pending and len(pending.received) else float("inf")


def run_live(path: str, *, speed: float, seed: int | None, history: int,
             stop: threading.Event, origin: float | None = None,
             on_ready: Callable[[int], None] | None = None,
             parent: int | None = None) -> int:
    """Write a live farm to `path` until `stop` is set (or `parent` dies); returns events written.

    The history (events received before `origin`) is committed first, then `on_ready(events)`
    is called; from then on events are written as the farm clock reaches them.  Leaving closes
    the writer, which commits everything written.
    """
    from store.writer import EventWriter

    clock = DemoClock(time.time() if origin is None else origin, speed)
    live = LiveFarm(seed, clock)
    written = 0
    with EventWriter(path) as writer:
        for cols in live.history(history):
            written += _write(writer, cols)
            if writer.buffered > 2 * CHUNK_EVENTS:
                writer.flush()  # a long history outruns the writer: keep its buffer bounded
        written += _write(writer, live.due(clock.origin))
        writer.flush()
        if on_ready:
            on_ready(written)
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:
                break  # our parent died without stopping us: do not outlive it
            written += _write(writer, live.due(clock.now()))
            wait = clock.wall(live.next_due()) - time.time()
            stop.wait(min(max(wait, 0.005), TICK))
    return written


def _write(writer, cols: dict[str, np.ndarray]) -> int:
    n = len(cols["received"])
    for lo in range(0, n, CHUNK_EVENTS):
        writer.write_columns({k: v[lo: lo + CHUNK_EVENTS] for k, v in cols.items()})
    return n


# ---------------------------------------------------------------- the demo's temporary file

_CLOCKS: dict[str, DemoClock] = {}


def demo_clock(path: str | os.PathLike) -> DemoClock | None:
    """The farm clock of a file made by a running `live_demo` (None for any other file)."""
    return _CLOCKS.get(os.fspath(path))


@contextlib.contextmanager
def live_demo(speed: float = 60.0, seed: int | None = None,
              history: int = DEFAULT_HISTORY) -> Iterator[Path]:
    """A temporary file that a generator subprocess keeps writing; yields its path.

    Returns once the history is committed.  On exit (also on an exception in the body) the
    generator is stopped (SIGTERM, then SIGKILL after 5 s) and reaped, and the directory removed.
    """
    if not 0 < speed < float("inf"):
        raise ValueError(f"the demo speed must be a positive number, not {speed}")
    tmp = Path(tempfile.mkdtemp(prefix="trmon-demo-"))
    path, ready, log = tmp / "demo.h5", tmp / "ready", tmp / "generator.log"
    clock = DemoClock(time.time(), speed)
    cmd = [sys.executable, "-m", "demo.live_proc", str(path), "--speed", repr(speed),
           "--runs", str(history), "--origin", repr(clock.origin), "--ready-file", str(ready),
           "--parent", str(os.getpid()), "--cleanup-dir", str(tmp)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    proc = None
    try:
        with open(log, "wb") as out:
            # Own session: a Ctrl-C in the monitor's terminal is the monitor's to handle.
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        _wait_ready(proc, ready, log)
        _CLOCKS[str(path)] = clock
        yield path
    finally:
        _CLOCKS.pop(str(path), None)
        if proc is not None:
            _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_ready(proc: subprocess.Popen, ready: Path, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready.exists():
        if proc.poll() is not None:
            text = log.read_text(errors="replace").strip()
            raise RuntimeError(f"the demo generator exited with status {proc.returncode}"
                               + (f": {text.splitlines()[-1]}" if text else ""))
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo generator wrote no history within {READY_TIMEOUT:g} s")
        time.sleep(0.02)


def _stop(proc: subprocess.Popen) -> None:
    """Stop the generator and reap it (no zombie left behind)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()
