"""Monitor figures: commit-to-screen latency, CPU idle and under load, start-up on a big file.

    /work/venv/bin/python tests/benchmarks/bench_tui.py [--big-runs 1000000] [--seconds 10]

Headless (App.run_test at 120x36, events pane visible).  A writer subprocess commits every
0.25 s and prints each commit's wall time and event count; the app records the wall time at
which each snapshot reached the screen; latency = first paint showing a commit's rows - commit.
CPU = this process's user+sys time (the app and its worker; the writer is another process).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from trmon_tui.app import make_app  # noqa: E402

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from store.writer import EventWriter
    path, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    step, total, k = 0.25, 0, 0
    with EventWriter(path, interval=3600) as w:
        t_end = time.time() + seconds
        while time.time() < t_end:
            n = int(rate * step)
            now = time.time()
            ids = np.array([f"b-{k + i}" for i in range(n)])
            w.write_columns({"testrun_id": ids, "event": np.full(n, "request"),
                             "emit": np.full(n, now), "received": np.full(n, now),
                             "device_group": np.full(n, "bench")})
            w.flush()
            total += n; k += n
            print(time.time(), total, flush=True)
            time.sleep(max(0.0, step - (time.time() - now)))
""")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def seed_file(path: str) -> int:
    """A small history so the app is live before the writer starts."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from test_app_data import write_farm

    return write_farm(path, n_runs=20)


async def wait(pilot, cond, timeout=120.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("benchmark condition not met")
        await pilot.pause(0.02)


async def live_run(rate: float, seconds: float) -> dict:
    tmp = tempfile.mkdtemp(prefix="bench-tui-")
    path = os.path.join(tmp, "live.h5")
    base = seed_file(path)
    app = make_app(path, poll=1.0)
    paints: list[tuple[float, int]] = []
    show = app._show

    def recording_show(snapshot):
        show(snapshot)
        paints.append((time.time(), snapshot.counts.get("events", 0)))

    app._show = recording_show  # the instance attribute wins over the method
    async with app.run_test(size=(120, 36)) as pilot:
        await wait(pilot, lambda: paints and paints[-1][1] == base)
        await pilot.press("5")
        await pilot.pause(1.0)
        c0, t0 = cpu(), time.monotonic()
        await pilot.pause(seconds)  # idle: nothing is written
        idle = (cpu() - c0) / (time.monotonic() - t0)
        commits: list[tuple[float, int]] = []
        proc = subprocess.Popen([sys.executable, "-c", WRITER, path, str(rate), str(seconds)],
                                stdout=subprocess.PIPE, text=True)

        def read():
            for line in proc.stdout:
                t, n = line.split()
                commits.append((float(t), base + int(n)))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        c0, t0 = cpu(), time.monotonic()
        while proc.poll() is None:
            await pilot.pause(0.1)
        busy = (cpu() - c0) / (time.monotonic() - t0)
        reader.join(5)
        await wait(pilot, lambda: paints[-1][1] >= commits[-1][1], 30)
    latencies = []
    for t_commit, n in commits:
        shown = next((t for t, count in paints if count >= n and t >= t_commit - 0.5), None)
        if shown is not None:
            latencies.append(max(0.0, shown - t_commit))
    latencies.sort()
    return {"rate": rate, "idle_cpu": idle, "busy_cpu": busy, "n": len(latencies),
            "median": statistics.median(latencies),
            "p95": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]}


async def big_file(runs: int, path: str | None = None) -> dict:
    t = time.monotonic()
    if path is None:
        path = os.path.join(tempfile.mkdtemp(prefix="bench-tui-big-"), "big.h5")
        subprocess.run([sys.executable, "-m", "trmon_tui", "generate", path, "--runs",
                        str(runs), "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    generated = time.monotonic() - t
    start = time.monotonic()
    app = make_app(path, poll=None, watch=False)
    first_frame = None
    async with app.run_test(size=(120, 36)) as pilot:
        first_frame = time.monotonic() - start
        await wait(pilot, lambda: app.snapshot is not None and not app.snapshot.file.loading
                   and app.snapshot.file.rows_total > 0
                   and app.snapshot.counts.get("testruns", 0) >= runs
                   and app.snapshot.summary is not None, timeout=1800)
        complete = time.monotonic() - start
        events = app.snapshot.counts.get("events")
    return {"runs": runs, "events": events, "generate_s": generated,
            "first_frame_s": first_frame, "complete_s": complete}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-runs", type=int, default=1_000_000)
    parser.add_argument("--big-file", default=None,
                        help="an existing file of --big-runs testruns (skips generating one)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-live", action="store_true", help="only the big-file figures")
    args = parser.parse_args()
    for rate in () if args.no_live else (100, 1000):
        r = asyncio.run(live_run(rate, args.seconds))
        print(f"{rate:>5} events/s: commit-to-screen median {r['median'] * 1000:.0f} ms, "
              f"p95 {r['p95'] * 1000:.0f} ms over {r['n']} commits; CPU idle "
              f"{r['idle_cpu'] * 100:.1f} %, while writing {r['busy_cpu'] * 100:.1f} % of a core")
    if args.big_runs:
        b = asyncio.run(big_file(args.big_runs, args.big_file))
        print(f"{b['runs']:,} testruns ({b['events']:,} events, generated in "
              f"{b['generate_s']:.0f} s): first frame {b['first_frame_s']:.2f} s, complete "
              f"statistics on screen {b['complete_s']:.1f} s")


if __name__ == "__main__":
    main()
