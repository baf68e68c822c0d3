"""What checksums cost: the ingest rate and `report` with and without them, same run, alternated.

    python tests/benchmarks/bench_checksums.py [--runs 1000000] [--rounds 2] [--dir DIR]

Writes the same seeded history (demo.generator.write_static, through EventWriter as `ingest`
does) into a file with checksums (what the product creates: Fletcher-32 on every table,
checksummed metadata) and into one without (the tables without the filter, created by PyTables
with its old metadata formats, as before issue 19), alternating, then times `trmon-tui report
FILE --json` on each, alternating, and prints the figures and the ratios (with / without).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import tables

from demo import generator
from store import checksummed, schema

WITH, WITHOUT = "with checksums", "without"


def write(path: str, runs: int, checksums: bool) -> tuple[int, float]:
    """(events, seconds) of writing the history into a new file at ``path``."""
    saved = schema.FILTERS, checksummed.create_empty
    if not checksums:
        schema.FILTERS = tables.Filters()
        checksummed.create_empty = lambda _path: False
    try:
        if os.path.exists(path):
            os.unlink(path)
        started = time.perf_counter()
        events = generator.write_static(path, runs, 1)
        return events, time.perf_counter() - started
    finally:
        schema.FILTERS, checksummed.create_empty = saved


def report(path: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "trmon_tui", "report", path, "--json"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", default=None, help="where the files go (default: a temp dir)")
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="trmon-checksums-")
    paths = {mode: os.path.join(directory, f"{name}.h5")
             for mode, name in ((WITH, "with"), (WITHOUT, "without"))}
    rates: dict[str, list[float]] = {WITH: [], WITHOUT: []}
    for _ in range(args.rounds):
        for mode in (WITHOUT, WITH):
            events, took = write(paths[mode], args.runs, mode == WITH)
            rates[mode].append(events / took)
            print(f"ingest {mode:15}: {events:,} events in {took:.1f} s, {events / took:,.0f}/s",
                  flush=True)
    times: dict[str, list[float]] = {WITH: [], WITHOUT: []}
    for _ in range(args.rounds + 1):
        for mode in (WITHOUT, WITH):
            times[mode].append(report(paths[mode]))
            print(f"report {mode:15}: {times[mode][-1]:.2f} s", flush=True)
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    best = {mode: min(values) for mode, values in times.items()}
    best_rate = {mode: max(values) for mode, values in rates.items()}
    sizes = [os.path.getsize(paths[mode]) / 1e6 for mode in (WITH, WITHOUT)]
    print(f"{args.runs:,} testruns, load {load}: ingest "
          f"{best_rate[WITHOUT] / best_rate[WITH]:.3f}x the time without checksums (best rates "
          f"{best_rate[WITH]:,.0f} vs {best_rate[WITHOUT]:,.0f} events/s); report "
          f"{best[WITH] / best[WITHOUT]:.3f}x (best {best[WITH]:.2f} s vs "
          f"{best[WITHOUT]:.2f} s); sizes {sizes[0]:.0f} vs {sizes[1]:.0f} MB")


if __name__ == "__main__":
    main()
