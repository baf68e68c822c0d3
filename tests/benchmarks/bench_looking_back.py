"""Figures of looking back (printed, not asserted): `report --at T` and `report --compare 7d`
against plain `report`, on one file, interleaved in the same run (the machine is shared).

    .venv/bin/python tests/benchmarks/bench_looking_back.py [FILE] [--runs 5]

FILE defaults to /work/bench/own-1M.h5 (else make one: `trmon-tui generate FILE --runs 1000000
--seed 1`).  T is the moment by which half of the file's events were received (the cut costs
most there: every batch is filtered and kept in part) and the last event's time (nothing cut).
Prints, for each command, the median wall time of --runs runs and its ratio to plain `report`
(all with --json, output to /dev/null, --now / --at fixed so every run does the same work).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import tables

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRMON = os.path.join(ROOT, ".venv", "bin", "trmon-tui")


def moments(path: str) -> tuple[float, float]:
    """(median received time, last received time) of a product-layout file."""
    with tables.open_file(path) as h5:
        received = h5.root.events.col("received")
    return float(np.median(received)), float(received.max())


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([TRMON, "report", *args, "--json"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"trmon-tui report {' '.join(args)} failed: {done.stderr.strip()}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default="/work/bench/own-1M.h5")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    half, last = moments(options.file)
    commands = {
        "report --now LAST": [options.file, "--now", repr(last)],
        "report --at HALF": [options.file, "--at", repr(half)],
        "report --at LAST": [options.file, "--at", repr(last)],
        "report --compare 7d --now LAST": [options.file, "--compare", "7d", "--now", repr(last)],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    timed(commands["report --now LAST"])  # warm the page cache
    for _ in range(options.runs):  # interleaved: each round runs every command once
        for name, args in commands.items():
            times[name].append(timed(args))
    base = statistics.median(times["report --now LAST"])
    print(f"{options.file}: HALF = {half:.0f}, LAST = {last:.0f}; median of {options.runs}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<32} {median:6.2f} s   x{median / base:.2f}")


if __name__ == "__main__":
    main()
