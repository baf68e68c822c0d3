"""What vetting a file (store.vet) costs, printed.

    python tests/benchmarks/bench_vet.py [--before DIR]

- fork vet: vetting a small product file in a forked child, from this small process and from
  the same process grown to ~500 MB RSS (a touched 500 MB array: fork copies the page tables);
- spawn vet: the same in a fresh interpreter (the fallback when a fork child does not answer);
- trusted check: what every open of an already vetted file pays (a stat, a dict look-up);
- cold `trmon-tui report --json` of a small file and of a 1M-testrun file (stats_files.py),
  median of 5; with --before DIR (a tree without vetting, e.g. `git archive main | tar -x -C
  DIR`) the same command runs interleaved with PYTHONPATH=DIR, and the difference is printed.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats_files  # noqa: E402

from store import vet  # noqa: E402

TRMON = os.path.join(os.path.dirname(sys.executable), "trmon-tui")


def timed(fn, repeat: int) -> float:
    """Median seconds of ``fn()``."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def vet_costs(path: str) -> None:
    fork_vet = lambda: vet._in_fork(path) == "ok" or sys.exit("fork vet failed")  # noqa: E731
    small = timed(fork_vet, 20)
    print(f"fork vet, small product file, from a {rss_mb():.0f} MB process: "
          f"{small * 1000:.1f} ms (median of 20)")
    big = np.ones(500 << 17)  # 500 MB of float64, every page touched
    grown = timed(fork_vet, 20)
    print(f"fork vet, same file, from a {rss_mb():.0f} MB process: {grown * 1000:.1f} ms "
          f"(median of 20; {grown / small:.1f}x)")
    del big
    spawn = timed(lambda: vet._in_fresh_interpreter(path), 5)
    print(f"spawn vet (fresh interpreter), same file: {spawn * 1000:.0f} ms (median of 5; "
          f"{spawn / small:.0f}x the small fork)")
    vet.check(path)
    trusted = timed(lambda: vet.check(path), 2000)
    print(f"check of a trusted file (every open pays it): {trusted * 1e6:.0f} us")


def run_report(path: str, pythonpath: str | None) -> float:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    start = time.perf_counter()
    subprocess.run([TRMON, "report", "--json", path], stdout=subprocess.DEVNULL, check=True,
                   env=env, cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def report_costs(small: str, before: str | None) -> None:
    import store

    compileall.compile_dir(os.path.dirname(os.path.dirname(store.__file__)), quiet=1)
    if before:
        compileall.compile_dir(before, quiet=1)
    for label, path in (("small (50 testruns)", small),
                        ("1M testruns", stats_files.product_file(1_000_000))):
        trees = [("vetting", None)] + ([("before", before)] if before else [])
        runs = {name: [] for name, _ in trees}
        for _ in range(5):
            for name, tree in trees:  # interleaved: both see the same load
                runs[name].append(run_report(path, tree))
        medians = {name: statistics.median(times) for name, times in runs.items()}
        text = ", ".join(f"{name} {m:.3f} s" for name, m in medians.items())
        if before:
            text += f" (difference {(medians['vetting'] - medians['before']) * 1000:+.0f} ms)"
        print(f"cold report --json, {label}: {text} (medians of 5)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="a source tree without vetting, for comparison")
    args = parser.parse_args()
    print(f"load average: {open('/proc/loadavg').read().split()[0]}")
    with tempfile.TemporaryDirectory() as directory:
        small = os.path.join(directory, "small.h5")
        subprocess.run([TRMON, "generate", small, "--runs", "50", "--seed", "1"], check=True,
                       capture_output=True)
        vet_costs(small)
        report_costs(small, args.before)
    print(f"load average: {open('/proc/loadavg').read().split()[0]}")


if __name__ == "__main__":
    main()
