"""Figures of several files and of the Prometheus exporter (printed, not asserted).

    .venv/bin/python tests/benchmarks/bench_multi.py [--quick] [--base COMMIT]

Files come from stats_files.py (N testruns of 10 events, cached in $TMPDIR/trmon-bench-stats).
Prints:
- scrape: the median time of 20 HTTP scrapes of /metrics of an exporter following a 1M-testrun
  file (--quick: 100k), once it has read the file;
- idle CPU: the exporter's CPU (user + system, /proc/PID/stat) over 20 s on that static file,
  then over 300 s (which takes in its re-agings of the metrics, every minute or more);
- recompute: what the exporter pays to recompute the metric families at 1M (summary + buckets
  + families, median of 3), the cost that its throttle spreads out;
- ten files: `report --json` over ten files of 100k testruns (--quick: 10k) against ten
  `report --json` of one file each, in the same run (median of 3 each);
- one file: `report --json` of a 1M file (--quick: 100k) with this tree against the tree of
  COMMIT (default: the merge base with main, extracted to a temporary directory with `git
  archive`), 5 interleaved runs each, wall and CPU time: the multi-file layer must cost nothing.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats_files  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def median_time(command: list[str], runs: int = 3, env: dict | None = None,
                cwd: str = "/") -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True, env=env, cwd=cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def exporter_figures(path: str) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "trmon_tui", "exporter", path, "--port",
                             str(port)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        started = time.perf_counter()
        while True:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    if b"trmon_testruns{" in response.read():
                        break
            except OSError:
                pass
            time.sleep(0.2)
        print(f"  first metrics after {time.perf_counter() - started:.1f} s (read + compute)")
        scrapes, size = [], 0
        for _ in range(20):
            tick = time.perf_counter()
            with urllib.request.urlopen(url, timeout=30) as response:
                size = len(response.read())
            scrapes.append(time.perf_counter() - tick)
        print(f"  scrape: median {1000 * statistics.median(scrapes):.1f} ms, max "
              f"{1000 * max(scrapes):.1f} ms of 20 ({size / 1024:.0f} KB)")
        time.sleep(2.0)  # let a recompute after the scrapes finish
        for window in (20.0, 300.0):  # the longer one takes in the re-agings (every 60 s +)
            before, tick = cpu_seconds(proc.pid), time.perf_counter()
            time.sleep(window)
            share = (cpu_seconds(proc.pid) - before) / (time.perf_counter() - tick)
            print(f"  idle CPU over {window:.0f} s on the static file: {100 * share:.2f} % "
                  "of a core")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def recompute_figure(path: str) -> None:
    from store.sources import parse_sources
    from trmon_tui.commands.exporter import Follower

    follower = Follower(parse_sources([path]), clock="received", now=time.time, poll=1.0)
    tick = time.perf_counter()
    follower.loop.open()
    follower.loop.catch_up()  # as the exporter's first read: a reader thread reads ahead
    read = time.perf_counter() - tick
    costs = []
    for _ in range(3):
        tick = time.perf_counter()
        follower.recompute()
        costs.append(time.perf_counter() - tick)
    print(f"  exporter read the file in {read:.1f} s; recompute of the metric families: "
          f"median {1000 * statistics.median(costs):.0f} ms of 3")


def ten_files(n: int) -> None:
    source = stats_files.product_file(n)
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for k in range(10):
            paths.append(os.path.join(directory, f"lab{k}.h5"))
            shutil.copyfile(source, paths[-1])
        trmon = [sys.executable, "-m", "trmon_tui", "report", "--json"]
        together = median_time([*trmon, *paths])
        apart = statistics.median(
            sum(median_time([*trmon, p], runs=1) for p in paths) for _ in range(3))
    print(f"  one report of ten files of {n:,} testruns: {together:.2f} s; ten reports of one "
          f"file each: {apart:.2f} s (ratio {together / apart:.2f})")


def one_file_against(n: int, base: str) -> None:
    path = stats_files.product_file(n)
    with tempfile.TemporaryDirectory() as tree:
        archive = subprocess.run(["git", "-C", ROOT, "archive", base], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        for root in (tree, ROOT):  # byte-compiled, as an install is (the sandbox may not write
            for package in ("store", "trmon_tui"):  # .pyc files at run time)
                compileall.compile_dir(os.path.join(root, package), quiet=1)
        env = {**os.environ, "PYTHONPATH": tree}
        command = [sys.executable, "-m", "trmon_tui", "report", "--json", path]
        check = subprocess.run([sys.executable, "-c", "import store; print(store.__file__)"],
                               env=env, cwd=tree, capture_output=True, text=True,
                               check=True).stdout
        assert check.startswith(tree), check  # not the editable install of this tree
        ours, theirs = [], []
        for _ in range(5):  # interleaved: both see the same load
            ours.append(timed(command, "/"))
            theirs.append(timed(command, tree, env))
    for name, runs in (("this tree", ours), (base[:10], theirs)):
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        print(f"  report --json of one {n:,}-testrun file, {name}: wall median "
              f"{statistics.median(walls):.2f} s (min {min(walls):.2f}), CPU median "
              f"{statistics.median(cpus):.2f} s (min {min(cpus):.2f}), 5 runs")


def timed(command: list[str], cwd: str, env: dict | None = None) -> tuple[float, float]:
    """(wall, user + system CPU) seconds of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env, cwd=cwd)
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--base", default=None, help="commit to compare one-file reports with")
    args = parser.parse_args()
    big, small = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
    base = args.base or subprocess.run(["git", "-C", ROOT, "merge-base", "HEAD", "main"],
                                       capture_output=True, text=True, check=True).stdout.strip()
    print(f"load average before: {open('/proc/loadavg').read().strip()}")
    path = stats_files.product_file(big)
    print(f"exporter on one {big:,}-testrun file:")
    exporter_figures(path)
    recompute_figure(path)
    print("several files:")
    ten_files(small)
    one_file_against(big, base)
    print(f"load average after: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
