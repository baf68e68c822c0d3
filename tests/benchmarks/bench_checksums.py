"""What checksums cost: the ingest rate and `report` with and without them, same run, alternated.

    python tests/benchmarks/bench_checksums.py [--runs 1000000] [--rounds 2] [--dir DIR]
        [--reports-only]

Writes the same seeded history (demo.generator.write_static, through EventWriter as `ingest`
does) into a file with checksums (what the product creates: Fletcher-32 on every table,
checksummed metadata) and into one without (the tables without the filter, created by PyTables
with its old metadata formats, as before issue 19), alternating, then times `trmon-tui report
FILE --json` on each, alternating, and prints the figures and the ratios (with / without), of
wall time and of CPU time (the machine is shared: CPU time is what other load disturbs least).
``--reports-only`` times the reports of the files a previous run left in ``--dir``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import tables

from demo import generator
from store import checksummed, schema

WITH, WITHOUT = "with checksums", "without"


def write(path: str, runs: int, checksums: bool) -> tuple[int, float, float]:
    """(events, seconds, CPU seconds) of writing the history into a new file at ``path``."""
    saved = schema.FILTERS, checksummed.create_empty
    if not checksums:
        schema.FILTERS = tables.Filters()
        checksummed.create_empty = lambda _path: False
    try:
        if os.path.exists(path):
            os.unlink(path)
        started, cpu = time.perf_counter(), time.process_time()
        events = generator.write_static(path, runs, 1)
        return events, time.perf_counter() - started, time.process_time() - cpu
    finally:
        schema.FILTERS, checksummed.create_empty = saved


def report(path: str) -> tuple[float, float]:
    """(seconds, CPU seconds) of `trmon-tui report path --json`."""
    def children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    started, cpu = time.perf_counter(), children()
    subprocess.run([sys.executable, "-m", "trmon_tui", "report", path, "--json"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, children() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", default=None, help="where the files go (default: a temp dir)")
    parser.add_argument("--reports-only", action="store_true")
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="trmon-checksums-")
    paths = {mode: os.path.join(directory, f"{name}.h5")
             for mode, name in ((WITH, "with"), (WITHOUT, "without"))}
    ingest: dict[str, list[tuple[float, float]]] = {WITH: [], WITHOUT: []}
    for _ in range(0 if args.reports_only else args.rounds):
        for mode in (WITHOUT, WITH):
            events, took, cpu = write(paths[mode], args.runs, mode == WITH)
            ingest[mode].append((took, cpu))
            print(f"ingest {mode:15}: {events:,} events in {took:.1f} s (CPU {cpu:.1f} s), "
                  f"{events / took:,.0f}/s", flush=True)
    times: dict[str, list[tuple[float, float]]] = {WITH: [], WITHOUT: []}
    for _ in range(args.rounds + 1):
        for mode in (WITHOUT, WITH):
            times[mode].append(report(paths[mode]))
            print(f"report {mode:15}: {times[mode][-1][0]:.2f} s (CPU {times[mode][-1][1]:.2f} s)",
                  flush=True)
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    sizes = [os.path.getsize(paths[mode]) / 1e6 for mode in (WITH, WITHOUT)]
    print(f"{args.runs:,} testruns, load {load}, sizes {sizes[0]:.0f} vs {sizes[1]:.0f} MB; "
          "with / without checksums, best of each (wall, CPU):")
    for name, figures in (("ingest", ingest), ("report", times)):
        if figures[WITH]:
            wall = min(t for t, _ in figures[WITH]) / min(t for t, _ in figures[WITHOUT])
            cpu = min(c for _, c in figures[WITH]) / min(c for _, c in figures[WITHOUT])
            print(f"  {name}: {wall:.3f}x wall, {cpu:.3f}x CPU")

if __name__ == "__main__":
    main()
