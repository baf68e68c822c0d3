"""How long the exporter takes to serve its first metrics of a big file, against `report --json`
of the same file, in one run (alternated, medians and the ratio printed).

Issue 17's bar: the exporter's first metrics of a 1M-testrun file within 1.2x report's time
(both read the history with a reader thread ahead of the statistics: store.reading).

    python tests/benchmarks/bench_first_read.py --file /path/own-1M.h5 --runs 5
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

TRMON = [sys.executable, "-m", "trmon_tui"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def report_seconds(path: str) -> float:
    started = time.perf_counter()
    subprocess.run([*TRMON, "report", path, "--json"], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def exporter_seconds(path: str) -> float:
    """From the exporter's start to the first /metrics that holds the testrun gauges."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([*TRMON, "exporter", path, "--port", str(port)],
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                            timeout=30) as response:
                    if b"trmon_testruns{" in response.read():
                        return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="an existing event file")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {open('/proc/loadavg').read().strip()}")
    report, exporter = [], []
    for _ in range(args.runs):
        report.append(report_seconds(args.file))
        exporter.append(exporter_seconds(args.file))
    r, e = statistics.median(report), statistics.median(exporter)
    print(f"{os.path.basename(args.file)}, medians of {args.runs}, alternated:")
    print(f"  report --json          {r:6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in report)})")
    print(f"  exporter first metrics {e:6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in exporter)})")
    print(f"  exporter / report = {e / r:.2f}x")
    print(f"load average after: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
