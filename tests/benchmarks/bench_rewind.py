"""What a step of the monitor's rewind costs (`<` / `>`, DESIGN "Looking back"), against
`report --at T` of the same moment, interleaved in the same run (the machine is shared).

    .venv/bin/python tests/benchmarks/bench_rewind.py [FILE] [--steps 3] [--moment median|last]

FILE defaults to /work/bench/own-1M.h5.  The monitor's tail loop (trmon_tui.feed.TailLoop, the
loop the app runs, on the overview) is started looking back at T = the median received time
(half the file counts) or the last one (all of it: `<` from live);
then each step asks for T - 1h, T (back and forward again), timed from look_at() until the
snapshot of that moment with every row read arrives (what the app shows); each step is
followed by `report FILE --at T' --json` of the same moment T' (a subprocess: import, read,
fold, summary, JSON).  A step reads the file again up to T' (see the README's "Looking
back"); it prints each time, the medians and their ratio (the target: a step within 1.5x
report's time).
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import threading
import time

import numpy as np
import tables

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
TRMON = os.path.join(ROOT, ".venv", "bin", "trmon-tui")

from store.sources import Source  # noqa: E402
from trmon_tui.feed import TailLoop, start_loop  # noqa: E402
from trmon_tui.messages import SnapshotReady  # noqa: E402


def moment(path: str, which: str) -> float:
    """The median or the last received time of a product-layout file."""
    with tables.open_file(path) as h5:
        received = h5.root.events.col("received")
    return float(np.median(received) if which == "median" else received.max())


def report_at(path: str, at: float) -> float:
    start = time.perf_counter()
    done = subprocess.run([TRMON, "report", path, "--at", repr(at), "--json"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"report --at failed: {done.stderr.strip()}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default="/work/bench/own-1M.h5")
    parser.add_argument("--steps", type=int, default=3, help="back-and-forth pairs")
    parser.add_argument("--moment", choices=("median", "last"), default="median")
    options = parser.parse_args()
    at = moment(options.file, options.moment)
    messages: queue.SimpleQueue = queue.SimpleQueue()
    loop = TailLoop([Source("", options.file)], messages.put, at=at)
    cancelled = threading.Event()

    def shown(when: float) -> float:
        """Seconds until the complete snapshot of ``when`` arrives."""
        start = time.perf_counter()
        while True:
            message = messages.get()
            if isinstance(message, SnapshotReady) and message.snapshot.at == when and \
                    not message.snapshot.file.loading:
                return time.perf_counter() - start

    started = time.perf_counter()
    start_loop(loop, cancelled, messages.put, poll=None, watch=False)
    first = shown(at)
    print(f"{options.file}: looking back at {at:.0f} ({options.moment} received); "
          f"first read {time.perf_counter() - started:.2f} s ({first:.2f} s)")
    steps, reports = [], []
    try:
        for k in range(2 * options.steps):
            when = at - 3600.0 if k % 2 == 0 else at
            loop.look_at(when)
            step = shown(when)
            report = report_at(options.file, when)
            steps.append(step)
            reports.append(report)
            print(f"  step to {when:.0f}: {step:.2f} s   report --at: {report:.2f} s")
    finally:
        cancelled.set()
    s, r = statistics.median(steps), statistics.median(reports)
    print(f"median step {s:.2f} s, median report --at {r:.2f} s: ratio {s / r:.2f} "
          f"(target <= 1.5)")


if __name__ == "__main__":
    main()
