"""Damaged event files, the long run: how `report` and the monitor's reader answer them.

    python tests/benchmarks/fuzz_damaged.py [--copies 400] [--seed 1] [--jobs 2]
        [--kinds bytes,...] [--layouts product,seed]

Damaged copies of a small product file and a small seed-layout file (tests/damaged_files.py):
by default 1 to 16 random bytes in the first 4 KB, and one copy in ten each truncated at a random
length or with bits flipped anywhere; ``--kinds anywhere,page --layouts product`` gives issue
19's set (1-20 random bytes anywhere, or a zeroed 4 KB page, of the checksummed product file).
Each copy goes, in subprocesses, through `trmon-tui report COPY --json --now T` and through the
monitor's reader (`tests/damaged_files.py read COPY`: TailLoop polls, the detail look-up, a
writer), and the script prints per kind of answer how many copies got it:

    read         exit 0 with the report of the undamaged file (the damage missed what is read)
    different    exit 0 with another report: damage read as other numbers, silently
    clear error  one line naming the file, exit 1 (report) / a status message (reader)
    traceback    a Python traceback, or an unexpected exception that reached the monitor
    crash        killed by a signal (SIGSEGV inside HDF5)
    hang         no answer within 60 s

with how many `report` answers took over 2 s and over 5 s, and the slowest.  The code measured
is whatever the subprocesses import: set PYTHONPATH to measure another tree (e.g. main's,
unpacked with `git archive main | tar -x -C /tmp/before`); they run in the copies' directory, so
the working directory adds nothing to their path.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TESTS)
from damaged_files import damaged_copies  # noqa: E402

TIMEOUT = 60.0
KINDS = ("read", "different", "clear error", "traceback", "crash", "hang")
NOW = "1767225600"  # the sources' fixed end (demo.generator.FIXED_END): reports comparable


def run(args: list[str], cwd: str) -> tuple[subprocess.CompletedProcess | None, float]:
    started = time.monotonic()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL, cwd=cwd)
    except subprocess.TimeoutExpired:
        return None, TIMEOUT
    return proc, time.monotonic() - started


def statistics(stdout: str) -> dict:
    """A report's figures, without its "files" (the copy's name and path differ)."""
    answer = json.loads(stdout)
    answer.pop("files", None)
    return answer


def report(path: str, want: dict | None = None) -> tuple[str, float, str]:
    """(kind of answer, seconds, what it said) of `report` on one copy; ``want``: the
    undamaged file's figures (None: not compared)."""
    proc, took = run([sys.executable, "-m", "trmon_tui", "report", path, "--json", "--now", NOW],
                     os.path.dirname(path))
    if proc is None:
        return "hang", took, ""
    err = proc.stderr.strip().splitlines()
    said = err[-1] if err else ""
    if proc.returncode < 0:
        return "crash", took, signal.Signals(-proc.returncode).name
    if "Traceback" in proc.stderr or len(err) > 1:
        return "traceback", took, said
    if proc.returncode:
        return "clear error", took, said
    if want is not None and statistics(proc.stdout) != want:
        return "different", took, "exit 0 with other figures"
    return "read", took, said


def reader(path: str) -> tuple[str, float, str]:
    """The same for the monitor's reader process."""
    proc, took = run([sys.executable, os.path.join(TESTS, "damaged_files.py"), "read", path],
                     os.path.dirname(path))
    if proc is None:
        return "hang", took, ""
    if proc.returncode < 0:
        return "crash", took, signal.Signals(-proc.returncode).name
    if proc.returncode != 0 or "Traceback" in proc.stderr:
        return "traceback", took, (proc.stderr.strip().splitlines() or [""])[-1]
    answer = json.loads(proc.stdout)
    if answer["failed"]:
        return "traceback", took, answer["failed"][0]
    if answer["state"] == "live":
        return "read", took, ""
    return "clear error", took, answer["message"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--kinds", default=",".join(("bytes",) * 8 + ("truncate", "flip")),
                        help="damage kinds in turn: bytes, truncate, flip, anywhere, page")
    parser.add_argument("--layouts", default="product,seed")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="trmon-fuzz-")
    try:
        layouts = tuple(args.layouts.split(","))
        copies = damaged_copies(directory, args.copies, args.seed,
                                kinds=tuple(args.kinds.split(",")), layouts=layouts)
        # The undamaged files' figures, to compare each copy's report with its source's.
        wants = {}
        for layout in layouts:
            proc, _ = run([sys.executable, "-m", "trmon_tui", "report",
                           os.path.join(directory, f"{layout}.h5"), "--json", "--now", NOW],
                          directory)
            wants[layout] = statistics(proc.stdout)
        sources = [wants[layouts[k % len(layouts)]] for k in range(len(copies))]
        started = time.monotonic()
        with ThreadPoolExecutor(args.jobs) as pool:
            results = {"report": list(pool.map(report, copies, sources)),
                       "reader": list(pool.map(reader, copies))}
        wall = time.monotonic() - started
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    print(f"{len(copies)} damaged copies ({args.layouts} layout; kinds in turn: {args.kinds}), "
          f"seed {args.seed}, {wall:.0f} s, {args.jobs} jobs, load {load}")
    for consumer, answers in results.items():
        counts = Counter(kind for kind, _, _ in answers)
        slowest = max(answers, key=lambda a: a[1])
        slow = sum(took > 2.0 for _, took, _ in answers)
        slower = sum(took > 5.0 for _, took, _ in answers)
        print(f"  {consumer:6}: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in KINDS) +
              (f"; over 2 s: {slow}, over 5 s: {slower}; slowest {slowest[1]:.1f} s "
               f"({slowest[0]}: "
               f"{slowest[2][-90:]})" if consumer == "report" else ""))
        for kind in ("different", "traceback", "crash", "hang"):
            example = next((a for a in answers if a[0] == kind), None)
            if example is not None:
                print(f"           e.g. {kind}: {example[2][-110:]}")


if __name__ == "__main__":
    main()
