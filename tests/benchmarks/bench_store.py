"""Figures for the event store (not a test): ingest rate, tail latency, cost of one poll.

    python tests/benchmarks/bench_store.py [--quick]

Prints:
- ingest: events/s through `trmon-tui ingest` from a pipe (process start-up included);
- write_columns: events/s through EventWriter.write_columns + flush (the demo's path);
- tail latency, commit -> line printed by `trmon-tui tail --follow` (median, p95), with a
  writer committing every 100 ms at 1,000 and 10,000 events/s;
- cost of one TailReader.poll() (no new rows / after a 100-event commit) and of one small
  commit, on files of 10k, 1M and 10M events (--quick: 10k and 1M).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from store.tail import TailReader  # noqa: E402
from store.writer import EventWriter  # noqa: E402

NAMES = np.array(["request", "queue_start", "queue_end", "flash_start", "flash_end",
                  "boot_start", "boot_end", "test_start", "test_end", "publish"])


def farm_columns(start: int, stop: int, t0: float = 1.7e9) -> dict:
    """Events start..stop-1: 10 per testrun, the DESIGN.md vocabulary in order."""
    i = np.arange(start, stop)
    names = NAMES[i % 10]
    run = i // 10
    is_req = names == "request"
    return {"testrun_id": np.char.add("run-", run.astype(str)), "event": names,
            "emit": t0 + i.astype(np.float64), "received": t0 + i + 0.5,
            "device_group": np.where(is_req, np.char.add("group-", (run % 8).astype(str)), ""),
            "requestor": np.where(is_req, np.char.add("user", (run % 40).astype(str)), ""),
            "hosts": np.where(is_req, '[["worker1", 1]]', "")}


def bench_ingest(tmp: str, n: int = 200_000) -> None:
    cols = farm_columns(0, n)
    lines = []
    for k in range(n):
        event = {"testrun_id": str(cols["testrun_id"][k]), "event": str(cols["event"][k]),
                 "emit": float(cols["emit"][k]), "received": float(cols["received"][k])}
        if cols["device_group"][k]:
            event["device_group"] = str(cols["device_group"][k])
            event["requestor"] = str(cols["requestor"][k])
            event["hosts"] = [["worker1", 1]]
        lines.append(json.dumps(event))
    data = ("\n".join(lines) + "\n").encode()
    path = os.path.join(tmp, "ingest.h5")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "trmon_tui", "ingest", path], input=data,
                          capture_output=True)
    took = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    print(f"ingest from a pipe: {n} events in {took:.2f} s = {n / took:,.0f} events/s "
          f"(process start-up included)")


def bench_write_columns(tmp: str, n: int = 1_000_000) -> None:
    path = os.path.join(tmp, "columns.h5")
    chunks = [farm_columns(s, s + 100_000) for s in range(0, n, 100_000)]
    start = time.perf_counter()
    with EventWriter(path) as writer:
        for cols in chunks:
            writer.write_columns(cols)
    took = time.perf_counter() - start
    print(f"write_columns + commits: {n} events in {took:.2f} s = {n / took:,.0f} events/s")


def bench_latency(tmp: str, rate: int, seconds: float = 5.0) -> None:
    path = os.path.join(tmp, f"latency{rate}.h5")
    EventWriter(path).close()
    tail = subprocess.Popen([sys.executable, "-m", "trmon_tui", "tail", path, "--follow",
                             "--poll", "0.2"], stdout=subprocess.PIPE, text=True)
    arrivals: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in tail.stdout:
            arrivals.put((time.monotonic(), line))

    threading.Thread(target=pump, daemon=True).start()
    time.sleep(1.0)  # let tail start and catch up with the empty file
    tick, per_tick = 0.1, max(1, int(rate * 0.1))
    committed: dict[float, float] = {}  # emit of each batch's last event -> commit time
    with EventWriter(path, interval=10.0) as writer:  # commits driven by flush() below
        start = time.monotonic()
        for k in range(int(seconds / tick)):
            cols = farm_columns(k * per_tick, (k + 1) * per_tick)
            writer.write_columns(cols)
            writer.flush()
            committed[float(cols["emit"][-1])] = time.monotonic()
            time.sleep(max(0.0, start + (k + 1) * tick - time.monotonic()))
    latencies, seen = [], 0
    deadline = time.monotonic() + 30
    while len(latencies) < len(committed) and time.monotonic() < deadline:
        try:
            at, line = arrivals.get(timeout=1.0)
        except queue.Empty:
            continue
        seen += 1
        emit = json.loads(line)["emit"]
        if emit in committed:
            latencies.append(at - committed[emit])
    tail.terminate()
    tail.wait()
    ms = np.array(latencies) * 1000
    print(f"tail latency at {rate:,} events/s ({seen} events, {len(ms)} commits): "
          f"median {np.median(ms):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms")


def bench_poll(tmp: str, n: int) -> None:
    path = os.path.join(tmp, f"poll{n}.h5")
    with EventWriter(path, interval=60.0) as writer:
        for s in range(0, n, 500_000):
            writer.write_columns(farm_columns(s, min(n, s + 500_000)))
            writer.flush()
    reader = TailReader(path, max_rows=5_000_000)
    start = time.perf_counter()
    while reader.poll().more:
        pass
    catch_up = time.perf_counter() - start
    idle = []
    for _ in range(30):
        t = time.perf_counter()
        result = reader.poll()
        idle.append(time.perf_counter() - t)
        assert not result.items
    append, commit = [], []
    with EventWriter(path, interval=60.0) as writer:
        for k in range(20):
            writer.write_columns(farm_columns(n + k * 100, n + (k + 1) * 100))
            t = time.perf_counter()
            writer.flush()
            commit.append(time.perf_counter() - t)
            t = time.perf_counter()
            result = reader.poll()
            append.append(time.perf_counter() - t)
            assert sum(len(b) for b in result.items) == 100
    size = os.path.getsize(path) / 1e6
    print(f"poll on {n:>10,} events ({size:,.0f} MB): no new rows {np.median(idle) * 1e3:.2f} ms, "
          f"after a 100-event commit {np.median(append) * 1e3:.2f} ms; one small commit "
          f"(flush, fsync included) {np.median(commit) * 1e3:.1f} ms; first catch-up "
          f"{catch_up * 1e3:.0f} ms")
    os.remove(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10M-event file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_ingest(tmp)
        bench_write_columns(tmp)
        for rate in (1_000, 10_000):
            bench_latency(tmp, rate)
        for n in (10_000, 1_000_000) + (() if args.quick else (10_000_000,)):
            bench_poll(tmp, n)


if __name__ == "__main__":
    main()
