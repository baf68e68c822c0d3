"""Time the static demo generator: model only, and model + write through EventWriter.

    python tests/benchmarks/bench_demo.py [--runs 10000 100000 1000000] [--no-write]

Prints, per size: events, seconds to generate the columns (model, receive-order sort, string
columns), seconds for the whole `write_static` (generation + EventWriter), wall and CPU time,
and the file size.  The target (issue 5) is 1M testruns written in under a minute.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from demo import generator  # noqa: E402

SEED = 1


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def bench_columns(runs: int) -> tuple[int, float, float]:
    """Events, wall and CPU seconds to produce every column chunk (nothing written)."""
    wall, cpu = _clocks()
    events = sum(len(c["event"]) for c in generator.static_chunks(runs, SEED, generator.FIXED_END))
    return events, time.perf_counter() - wall, time.process_time() - cpu


def bench_write(runs: int, directory: str) -> tuple[int, float, float, int]:
    """Events, wall and CPU seconds of write_static, and the file size in bytes."""
    path = os.path.join(directory, f"bench_{runs}.h5")
    wall, cpu = _clocks()
    events = generator.write_static(path, runs, SEED)
    result = events, time.perf_counter() - wall, time.process_time() - cpu, os.path.getsize(path)
    os.remove(path)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--no-write", action="store_true", help="only time the generation")
    args = parser.parse_args()
    print(f"{'testruns':>10} {'events':>11} {'columns s':>10} {'cpu':>6} "
          f"{'write_static s':>14} {'cpu':>6} {'MB':>7}")
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        for runs in args.runs:
            events, wall, cpu = bench_columns(runs)
            line = f"{runs:>10,} {events:>11,} {wall:>10.2f} {cpu:>6.1f}"
            if not args.no_write:
                _, wwall, wcpu, size = bench_write(runs, tmp)
                line += f" {wwall:>14.2f} {wcpu:>6.1f} {size / 1e6:>7.1f}"
            print(line, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak RSS {peak:.1f} GB; load average {os.getloadavg()[0]:.2f} "
          f"(other processes share the CPU: compare CPU seconds)")


if __name__ == "__main__":
    main()
