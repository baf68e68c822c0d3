"""Figures of the monitor's rewind (printed, not asserted): how long a step (< or >) takes to
show, against `report --at T` of the same file and T, interleaved in the same run (the machine
is shared).

    .venv/bin/python tests/benchmarks/bench_rewind.py [FILE] [--steps 4] [--tab overview]
        [--compare 24h|7d]   (the trends pane's comparison, c)

FILE defaults to /work/bench/own-1M.h5 (else `trmon-tui generate FILE --runs 1000000 --seed
1`).  The monitor's feed (trmon_tui.feed.TailLoop, its follow loop in its own thread as the app
runs it) is first shown the file at HALF (the moment by which half of the events were
received); then each step moves one hour back, or forward, as the keys do (``set_view`` with
the view's ``at``), and is timed from the key to the snapshot of the new time (read, folded,
the pane's data computed).  Between two steps `report --at T --json` of the step's T runs in a
subprocess (its wall time: what an operator waits for).  Prints each pair and the medians.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import threading
import time
from dataclasses import replace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_looking_back import moments, timed  # noqa: E402

from trmon_tui.feed import TailLoop, start_loop  # noqa: E402
from trmon_tui.messages import SnapshotReady  # noqa: E402
from trmon_tui.model import ViewState  # noqa: E402

HOUR = 3600.0


def shown(messages: queue.SimpleQueue, at: float, timeout: float = 600.0):
    """Wait for the snapshot of the whole file at ``at``."""
    deadline = time.monotonic() + timeout
    while True:
        message = messages.get(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(message, SnapshotReady) and message.snapshot.at == at \
                and not message.snapshot.file.loading:
            return message.snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default="/work/bench/own-1M.h5")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--tab", default="overview")
    parser.add_argument("--compare", default=None, choices=("24h", "7d"))
    options = parser.parse_args()
    half, _ = moments(options.file)
    messages: queue.SimpleQueue = queue.SimpleQueue()
    view = ViewState(tab="trends" if options.compare else options.tab, at=half,
                     compare=options.compare)
    loop = TailLoop(options.file, messages.put, view=view)
    cancelled = threading.Event()
    start = time.perf_counter()
    start_loop(loop, cancelled, messages.put, poll=None, watch=False)
    first = shown(messages, half)
    print(f"{options.file}: HALF = {half:.0f}; first view at HALF "
          f"{time.perf_counter() - start:.2f} s ({first.counts.get('testruns', 0):,} testruns)")
    steps, reports = [], []
    at = half
    try:
        for k in range(options.steps):
            at += -HOUR if k % 2 == 0 else HOUR  # back, forward, back, ...
            began = time.perf_counter()
            view = replace(view, at=at)
            loop.set_view(view)
            snap = shown(messages, at)
            steps.append(time.perf_counter() - began)
            reports.append(timed([options.file, "--at", repr(at)]))
            print(f"  step to HALF{(at - half) / HOUR:+.0f}h: {steps[-1]:6.2f} s   "
                  f"report --at: {reports[-1]:6.2f} s   x{steps[-1] / reports[-1]:.2f}   "
                  f"({snap.counts.get('testruns', 0):,} testruns)")
    finally:
        cancelled.set()
    step, report = statistics.median(steps), statistics.median(reports)
    print(f"median step {step:.2f} s, median report --at {report:.2f} s: x{step / report:.2f} "
          f"(tab {view.tab}, compare {view.compare})")


if __name__ == "__main__":
    main()
