"""Where `report --json`'s time goes, phase by phase (issue 17's "profile before you optimise").

    .venv/bin/python tests/benchmarks/report_phases.py [--file F] [--runs 7] \
        [--python /work/base/t14b9c83/.venv/bin/python ...]

Each run is a fresh process (as `report` is) that times, as report.run does them: the imports
(numpy, PyTables, the product), the read (commands.report.read_sources: every batch read,
prepared and applied with the helper lanes), the summary and the JSON.  Per phase it prints
the medians over the runs of the wall time, the CPU time of the whole process (user and system,
every thread) and its minor page faults; for the read also the CPU of the applying thread (the
caller of StatsEngine.apply): when it is far below the read's wall time, the read is bound by
the hand-overs between the threads (the GIL and waiting for a helper lane), not by that
thread's work.  Page faults matter: on the 2-core VMs measured, the kernel zeroing fresh pages
(clear_page in `perf record -g`) was a fifth of report's CPU samples.

The file defaults to bench_report.py's own-layout file of a million testruns.  ``--python``
(repeatable) names the interpreter of another install (an old tree from `git archive` in a
venv of its own, as bench_report.py's --old): the trees' runs are alternated, and a tree from
before store.memory (14b9c83, 2cc36d3) is read with its own `read_file`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OWN = "/work/bench/own-1M.h5"
PHASES = ("imports", "read", "summary", "json")


def _usage() -> tuple[float, float, float, int]:
    """(wall, user CPU, system CPU, minor faults) of this process so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), ru.ru_utime, ru.ru_stime, ru.ru_minflt


def child(path: str) -> None:
    """One report's phases, as JSON on stdout."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as cli.main does
    marks = [_usage()]
    import numpy  # noqa: F401
    import tables  # noqa: F401

    from trmon_tui.commands import report

    marks.append(_usage())
    applying = time.thread_time()
    try:
        from store import memory
    except ImportError:  # an old tree: read as its report.run read
        memory = None
    if memory is not None:  # as this tree's report.run reads
        from store.sources import Source

        memory.keep_freed()
        engine, _tail, failed = report.read_sources([Source("f", path)], "received",
                                                    delays=True, delay_runs=False)
        if failed:
            raise SystemExit(f"could not read {path}: {failed}")
        applying = time.thread_time() - applying
        marks.append(_usage())
        memory.release_freed()
    else:  # 14b9c83, 2cc36d3: their own malloc setting, no release before the summary
        report.keep_freed_memory()
        engine, _format = report.read_file(path)
        applying = time.thread_time() - applying
        marks.append(_usage())
    summary = engine.summary(now=time.time())
    marks.append(_usage())
    json.dumps(summary, ensure_ascii=False)
    marks.append(_usage())
    out = {}
    for name, before, after in zip(PHASES, marks[:-1], marks[1:], strict=True):
        out[name] = {"wall": after[0] - before[0], "user": after[1] - before[1],
                     "sys": after[2] - before[2], "faults": after[3] - before[3]}
    out["read"]["applying"] = applying
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", default=OWN)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", action="append", default=[],
                        help="another install's interpreter (repeatable)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.file)
        return
    if not os.path.exists(options.file):
        raise SystemExit(f"{options.file} does not exist (trmon-tui generate FILE --runs "
                         "1000000 --seed 1)")
    trees = [*options.python, sys.executable]
    runs: dict[str, list[dict]] = {tree: [] for tree in trees}
    for _ in range(options.runs):
        for tree in trees:  # alternated: the trees see the same moments of a noisy machine
            runs[tree].append(json.loads(subprocess.run(
                [tree, __file__, "--child", "--file", options.file], check=True,
                capture_output=True, text=True, cwd="/").stdout))
    print(f"report --json {options.file}: {options.runs} fresh processes per tree, medians; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    for tree in trees:
        print(f"{'this tree' if tree == sys.executable else tree}:")
        print(f"  {'phase':8s} {'wall s':>7s} {'CPU s':>6s} {'user':>6s} {'system':>7s} "
              f"{'faults':>8s}")
        for name in PHASES:
            def median(key: str, name: str = name, tree: str = tree) -> float:
                return statistics.median(run[name][key] for run in runs[tree])
            cpu = statistics.median(run[name]["user"] + run[name]["sys"] for run in runs[tree])
            print(f"  {name:8s} {median('wall'):7.3f} {cpu:6.2f} {median('user'):6.2f} "
                  f"{median('sys'):7.2f} {median('faults'):8,.0f}")
        applying = statistics.median(run["read"]["applying"] for run in runs[tree])
        read = statistics.median(run["read"]["wall"] for run in runs[tree])
        print(f"  the applying thread's CPU during the read: {applying:.2f} s "
              f"({100 * applying / read:.0f} % of the read's wall time)")

if __name__ == "__main__":
    main()
