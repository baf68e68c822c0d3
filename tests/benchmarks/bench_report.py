"""`report --json` of old trees against the working tree, paired on the same files (issue 17).

    .venv/bin/python tests/benchmarks/bench_report.py \
        --old /work/base/t14b9c83/.venv/bin/trmon-tui \
        --old /work/base/t2cc36d3/.venv/bin/trmon-tui \
        [--runs 7] [--own FILE] [--seed FILE] [--no-own] [--no-seed] [--no-pandas]
        [--tail-skip] [--tail-only]

Every run is a fresh process, started one after the other in turn (old, ..., new, old, ...,
new, ...) so that the trees see the same moments of a noisy, shared machine; per tree the
median wall time, the median CPU time (user + system of the process and its threads), the
largest peak RSS (ru_maxrss from wait4), and the ratio new / old of the medians.  "new" is the
working tree's `trmon-tui` (beside this interpreter) unless --new says otherwise.

Files (built once, reused; other benchmarks may share them):
- own layout: /work/bench/own-1M.h5 = `trmon-tui generate FILE --runs 1000000 --seed 1`;
- seed layout: /work/bench/seed-1M.h5 = stats_files.seed_file(1_000_000) (bench_stats.py's);
  its pandas pipeline (bench_stats.pandas_pipeline) runs in the same rotation, also in a fresh
  process, and the seed layout's ratio pandas / new is printed (issue 17: at least 4).

--tail-skip: time to the first line of `tail FILE --skip N` on the own-layout file (about 10M
events) with N = the file's event count - 10 (near the end), per tree, alternated: before
TailReader could start at a row, tail read and dropped N rows.

The old trees are whole installs (a venv each, e.g. from `git archive` of the commit).  Old
trees lack `--now`, so no option is passed to any tree: each report's bytes hold its own clock's
ages, and their outputs are not compared here (tests compare reports).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

BENCH = "/work/bench"
OWN = os.path.join(BENCH, "own-1M.h5")
SEED = os.path.join(BENCH, "seed-1M.h5")
NEW = os.path.join(os.path.dirname(sys.executable), "trmon-tui")


def measure(argv: list[str], *, first_line: bool = False) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one process; with ``first_line`` the wall time ends
    at its first line of output (the process is then killed)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if first_line else subprocess.DEVNULL)
    wall = None
    if first_line:
        line = proc.stdout.readline()
        wall = time.perf_counter() - start
        if not line:
            raise SystemExit(f"no output from {' '.join(argv)}")
        proc.kill()
    _, status, usage = os.wait4(proc.pid, 0)
    if wall is None:
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"{' '.join(argv)} failed (status {code})")
    if proc.stdout is not None:
        proc.stdout.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def compile_bytecode() -> None:
    """Byte-compile the working tree, as a regular pip install does for the old trees: this
    sandbox sets PYTHONDONTWRITEBYTECODE, so an editable install would otherwise compile every
    module from source at each start (~50 ms no installed copy pays)."""
    import compileall

    root = os.path.dirname(os.path.dirname(HERE))
    for package in ("store", "trmon_tui", "demo"):
        compileall.compile_dir(os.path.join(root, package), quiet=1)


def ensure_files(args: argparse.Namespace) -> None:
    os.makedirs(BENCH, exist_ok=True)
    if (args.tail_skip or not args.no_own) and not os.path.exists(args.own):
        print(f"generating {args.own} (once) ...", flush=True)
        tmp = args.own + ".part.h5"
        subprocess.run([args.new, "generate", tmp, "--runs", "1000000", "--seed", "1"],
                       check=True, stdout=subprocess.DEVNULL)
        os.replace(tmp, args.own)
    if not args.no_seed and not os.path.exists(args.seed):
        import stats_files

        print(f"building {args.seed} (once) ...", flush=True)
        stats_files.CACHE = os.path.dirname(args.seed)
        os.symlink(os.path.basename(stats_files.seed_file(1_000_000)), args.seed)


def rotate(label: str, commands: dict[str, list[str]], runs: int, *,
           first_line: bool = False, baseline: str | None = None) -> dict[str, float]:
    """Run each command ``runs`` times in turn; print the table; the median walls."""
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            results[name].append(measure(argv, first_line=first_line))
    load = os.getloadavg()
    print(f"\n{label} ({runs} runs each, alternated; load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f})", flush=True)
    what = "to first line" if first_line else "wall"
    print(f"  {'tree':<34} {what + ' median':>18} {'CPU median':>11} {'peak RSS':>9}  "
          f"{'new / this':>10}  runs (wall s)")
    walls = {name: statistics.median(r[0] for r in rs) for name, rs in results.items()}
    for name, rs in results.items():
        cpu = statistics.median(r[1] for r in rs)
        rss = max(r[2] for r in rs)
        ratio = "" if name == "new" else f"{walls['new'] / walls[name]:10.2f}"
        print(f"  {name:<34} {walls[name]:16.3f} s {cpu:9.2f} s {rss:6.0f} MB  {ratio:>10}  "
              f"{', '.join(f'{r[0]:.2f}' for r in rs)}", flush=True)
    return walls


def tree_name(command: str) -> str:
    """A short name for an old tree's command: its venv's directory (e.g. t14b9c83)."""
    parts = os.path.abspath(command).split(os.sep)
    if ".venv" in parts:
        return "old " + parts[parts.index(".venv") - 1]
    return "old " + command


def event_count(command: str, path: str) -> int:
    out = subprocess.run([command, "ingest", path, "--count"], check=True,
                         capture_output=True, text=True).stdout
    return int(out.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", action="append", default=[],
                        help="an old tree's trmon-tui command (repeatable)")
    parser.add_argument("--new", default=NEW, help="the working tree's trmon-tui")
    parser.add_argument("--runs", type=int, default=7, help="runs per tree and file")
    parser.add_argument("--own", default=OWN, help="own-layout file of 1M testruns")
    parser.add_argument("--seed", default=SEED, help="seed-layout file of 1M testruns")
    parser.add_argument("--no-own", action="store_true")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--tail-skip", action="store_true",
                        help="also time `tail --skip N` to its first line")
    parser.add_argument("--tail-only", action="store_true", help="only the --tail-skip part")
    parser.add_argument("--pandas-once", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pandas_once:  # one run of the pandas pipeline, in this fresh process
        import bench_stats

        bench_stats.pandas_pipeline(args.pandas_once)
        return
    if args.tail_only:
        args.no_own = args.no_seed = args.tail_skip = True
    compile_bytecode()
    ensure_files(args)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}; new = {args.new}", flush=True)
    trees = {tree_name(c): c for c in args.old}
    trees["new"] = args.new

    if not args.no_own:
        rotate(f"own layout: report --json {args.own}",
               {name: [c, "report", "--json", args.own] for name, c in trees.items()},
               args.runs)
    if not args.no_seed:
        commands = {name: [c, "report", "--json", args.seed] for name, c in trees.items()}
        if not args.no_pandas:
            commands["pandas (bench_stats.py)"] = [sys.executable, os.path.abspath(__file__),
                                                   "--pandas-once", args.seed]
        walls = rotate(f"seed layout: report --json {args.seed}", commands,
                       max(3, args.runs - 2))
        if not args.no_pandas:
            print(f"  pandas / new: {walls['pandas (bench_stats.py)'] / walls['new']:.1f}x "
                  "(issue 17: at least 4)", flush=True)
    if args.tail_skip:
        total = event_count(args.new, args.own)
        skip = total - 10
        print(f"\n{args.own}: {total:,} events; tail --skip {skip:,}", flush=True)
        rotate(f"tail --skip {skip} {args.own}, time to the first line",
               {name: [c, "tail", "--skip", str(skip), args.own] for name, c in trees.items()
                if name == "new" or _has_skip(c)},
               max(3, args.runs - 2), first_line=True)


def _has_skip(command: str) -> bool:
    """Whether an old tree's tail knows --skip (14b9c83's does not)."""
    out = subprocess.run([command, "tail", "-h"], capture_output=True, text=True).stdout
    return "--skip" in out


if __name__ == "__main__":
    main()
