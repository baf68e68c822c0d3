"""Performance figures of the statistics engine and `trmon-tui report` (printed, not asserted).

    /work/venv/bin/python tests/benchmarks/bench_stats.py [--quick] [--cold]

Files of 10k, 100k and 1M testruns (10 events each, concurrent testruns interleaved) are built
once with direct PyTables appends and cached in $TMPDIR/trmon-bench-stats (see stats_files.py).
Prints:
- cold: wall time and peak RSS of the whole `trmon-tui report --json FILE` process per size
  (median of 3), and the 1M/100k time ratio;
- trend: `report --json` and `report --json --trend day` (both with the same --now) on the
  largest file, alternated 7 times each in the same run, and their time ratio (budget 1.3);
- monitor queries: median time of the monitor's ``summary(delivery_delay=False)`` on the
  largest state (5 calls), with and without a time window, and of the insight panes' queries
  (hosts, testruns by overdue, overdue, trend);
- seed layout, 1M testruns: `report`'s read path (read_file, reader thread) and a single-threaded
  TailReader + StatsEngine loop vs an idiomatic pandas pipeline (read the
  tables, categorical event names, groupby(testrun, event).last().unstack(), statistics), side by
  side, and whether their duration statistics agree;
- incremental: median time to apply a 1,000-event batch to a state of 1M and of 10k testruns.
--quick uses 10k/100k only (and 100k in place of 1M for the other figures); --cold stops after
the cold figures.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats_files  # noqa: E402

from store import schema  # noqa: E402
from store.batch import Batch  # noqa: E402
from store.stats import StatsEngine  # noqa: E402
from store.tail import TailReader  # noqa: E402
from trmon_tui.commands.report import read_file  # noqa: E402

TRMON = os.path.join(os.path.dirname(sys.executable), "trmon-tui")


def run_report(path: str, *options: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one `trmon-tui report --json` process."""
    start = time.perf_counter()
    proc = subprocess.Popen([TRMON, "report", "--json", path, *options],
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"report failed on {path} (status {proc.returncode})")
    return wall, usage.ru_maxrss / 1024


def compile_bytecode() -> None:
    """Byte-compile the project's modules, as a regular (not editable) pip install does.

    Otherwise a process started with PYTHONDONTWRITEBYTECODE set (this sandbox sets it) would
    compile every module of the project from source at each start, ~50 ms of `report`'s time
    that no installed copy pays.
    """
    import compileall

    import demo
    import store
    import trmon_tui
    for package in (store, trmon_tui, demo):
        compileall.compile_dir(os.path.dirname(package.__file__), quiet=1)


def cold(sizes: list[int], repeat: int = 3) -> dict[int, float]:
    """Median wall time of `trmon-tui report --json` per size (5 runs for the largest)."""
    compile_bytecode()
    times = {}
    for n in sizes:
        path = stats_files.product_file(n)
        runs = [run_report(path) for _ in range(5 if n == max(sizes) else repeat)]
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        times[n] = wall
        print(f"cold report --json, {n:>9,} testruns ({10 * n:,} events): "
              f"{wall:6.2f} s wall (runs: {', '.join(f'{r[0]:.2f}' for r in runs)}), "
              f"peak RSS {rss:5.0f} MB", flush=True)
    return times


def trend_cost(n: int, repeat: int = 7) -> float:
    """`report --json` vs `report --json --trend day` on the same file, alternated."""
    path = stats_files.product_file(n)
    now = ["--now", str(stats_files.T0 + 6.0 * n)]  # the end of the file: some are overdue
    plain, trend = [], []
    for _ in range(repeat):
        plain.append(run_report(path, *now))
        trend.append(run_report(path, *now, "--trend", "day"))
    a, b = (statistics.median(r[0] for r in runs) for runs in (plain, trend))
    fast_a, fast_b = (min(r[0] for r in runs) for runs in (plain, trend))
    print(f"cold report --json on {n:,} testruns: {a:.2f} s, with --trend day {b:.2f} s "
          f"(medians of {repeat}, alternated): ratio {b / a:.2f} (of the fastest runs: "
          f"{fast_b / fast_a:.2f}); peak RSS {max(r[1] for r in plain):.0f} / "
          f"{max(r[1] for r in trend):.0f} MB", flush=True)
    return b / a


def monitor_summary(n: int, repeat: int = 5) -> None:
    """The monitor's queries on a state of n testruns (plus a few live ones in every group):
    its summary (no delivery delays) and those of the insight panes."""
    engine = read_engine(stats_files.product_file(n))
    now = stats_files.T0 + 6.0 * n
    engine.apply(live_batch(engine.state.runs.n, engine.state.n_events, now))
    week = now - 7 * 86400
    queries = {
        "summary (delivery_delay=False), all history":
            lambda: engine.summary(now=now, delivery_delay=False),
        "summary (delivery_delay=False), last 7 days":
            lambda: engine.summary(since=week, now=now, delivery_delay=False),
        "summary (delivery_delay=False, hosts=False), all history":
            lambda: engine.summary(now=now, delivery_delay=False, hosts=False),
        "hosts(), all history": lambda: engine.hosts(now=now),
        "testruns('ongoing', limit=50, order='overdue'), new state version":
            lambda: _fresh(engine).testruns("ongoing", now=now, limit=50, order="overdue"),
        "overdue(), new state version": lambda: _fresh(engine).overdue(now=now),
        "trend('day'), all history": lambda: engine.trend("day", now=now),
        "trend('hour'), last 7 days": lambda: engine.trend("hour", since=week, now=now),
    }
    for label, query in queries.items():
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            query()
            times.append(time.perf_counter() - start)
        print(f"monitor query on {n:,} testruns, {label}: median "
              f"{statistics.median(times) * 1e3:.0f} ms (min {min(times) * 1e3:.0f})",
              flush=True)


def live_batch(first_run: int, first_row: int, now: float, runs: int = 160) -> Batch:
    """Testruns still running in every group (queued, pulled, flashing, testing, publishing),
    started in the last hour before ``now``: what the overdue rule judges."""
    codes = [schema.CODE[c] for c in ("request", "queue_start", "queue_end", "flash_start",
                                      "flash_end", "boot_start", "boot_end", "test_start",
                                      "test_end")]
    events = []
    for i in range(runs):
        t = now - 3600 + 20 * i
        for k, code in enumerate(codes[: 2 + i % (len(codes) - 1)]):
            events.append((first_run + i, code, t + 60 * k, t + 60 * k))
    ev = np.array(events, dtype=schema.EVENT_DTYPE)
    run_rows = np.zeros(runs, dtype=schema.RUN_DTYPE)
    run_rows["testrun_id"] = [f"live-{i}".encode() for i in range(runs)]
    run_rows["group"] = 1 + np.arange(runs) % len(stats_files.GROUPS)
    return Batch(first_event_row=first_row, events=ev, first_run=first_run, runs=run_rows)


def _fresh(engine: StatsEngine) -> StatsEngine:
    """The engine with its kept p95s dropped, as after a live batch (a new state version)."""
    engine.state.version += 1
    return engine


def read_engine(path: str) -> StatsEngine:
    reader, engine = TailReader(path), StatsEngine()
    while True:
        result = reader.poll()
        for item in result.items:
            engine.apply(item)
        if not result.more:
            return engine


def pandas_pipeline(path: str) -> dict:
    """The idiomatic pandas way: per-testrun event times, then describe the durations."""
    import pandas as pd
    import tables

    frames = []
    with tables.open_file(path) as h5:
        for group in h5.root._f_iter_nodes("Group"):
            df = pd.DataFrame(group.events.read())
            df["group"] = group._v_name
            frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["ev_name"] = df["ev_name"].str.decode("utf-8").astype("category")
    df["received"] = df["received"] * 60.0
    wide = df.groupby(["group", "testrun_id", "ev_name"], observed=True)["received"].last()
    wide = wide.unstack("ev_name")
    durations = {
        "testrun": wide["publish"] - wide["request"],
        "init": wide["queue_start"] - wide["request"],
        "queue": wide["queue_end"] - wide["queue_start"],
        "flash": wide["flash_end"] - wide["flash_start"],
        "boot": wide["boot_end"] - wide["boot_start"],
        "test": wide["test_end"] - wide["test_start"],
        "publish": wide["publish"] - wide["test_end"],
    }
    out = {}
    for name, values in durations.items():
        v = values.dropna()
        v = v[v >= 0]
        out[name] = {"n": int(v.count()), "min": v.min(), "max": v.max(), "mean": v.mean(),
                     "std": v.std(ddof=0), "p50": v.quantile(0.5), "p95": v.quantile(0.95)}
    return out


def agree(ours: dict, theirs: dict) -> bool:
    ok = True
    for name, want in theirs.items():
        got = ours[name]
        for key, value in want.items():
            if not np.isclose(got[key], value, rtol=1e-9, atol=1e-9):
                print(f"  differ: {name}.{key}: ours {got[key]!r} pandas {value!r}")
                ok = False
    return ok


def seed_vs_pandas(n: int) -> None:
    """Ours two ways, pandas, interleaved in one run: `report`'s read path (read_file: a reader
    thread converts the next batch while the engine applies the previous one) and the plain
    single-threaded poll/apply loop (split into the seed conversion and the engine)."""
    path = stats_files.seed_file(n)
    threaded, ours, reads, theirs = [], [], [], []
    for _ in range(2):
        start = time.perf_counter()
        engine, _ = read_file(path)
        summary = engine.summary(now=stats_files.T0)
        threaded.append(time.perf_counter() - start)
        start = time.perf_counter()
        reader, engine, read = TailReader(path), StatsEngine(), 0.0
        while True:
            tick = time.perf_counter()
            result = reader.poll()
            read += time.perf_counter() - tick
            for item in result.items:
                engine.apply(item)
            if not result.more:
                break
        single = engine.summary(now=stats_files.T0)
        ours.append(time.perf_counter() - start)
        reads.append(read)
        start = time.perf_counter()
        result = pandas_pipeline(path)
        theirs.append(time.perf_counter() - start)
    same = agree(summary["all"]["durations"], result) and \
        agree(single["all"]["durations"], result)
    best = min(range(2), key=lambda i: ours[i])
    pandas = min(theirs)
    print(f"seed layout, {n:,} testruns (best of 2, same run): pandas {pandas:.2f} s; report's "
          f"read path (reader thread) + summary {min(threaded):.2f} s = "
          f"{pandas / min(threaded):.1f}x faster; single-threaded TailReader + engine "
          f"{ours[best]:.2f} s = {pandas / ours[best]:.1f}x (seed conversion {reads[best]:.2f} s, "
          f"engine + summary {ours[best] - reads[best]:.2f} s = "
          f"{pandas / (ours[best] - reads[best]):.1f}x counting the engine alone); "
          f"duration statistics {'equal' if same else 'DIFFER'}", flush=True)


def extra_batches(start_run: int, start_row: int, count: int, per_batch: int = 1000):
    """Batches of 1,000 events: 100 new testruns each, interleaved, in the product's form."""
    batches = []
    cols = stats_files.events(count * per_batch // 10, seed=11)
    runs_per = per_batch // 10
    for b in range(count):
        sl = slice(b * per_batch, (b + 1) * per_batch)
        ev = np.zeros(per_batch, dtype=schema.EVENT_DTYPE)
        # Runs local to this batch so every batch is self-contained (10 events per run).
        local = np.argsort(cols["run"][sl], kind="stable")
        ev["run"] = start_run + b * runs_per + np.repeat(np.arange(runs_per), 10)[np.argsort(local)]
        ev["code"] = np.tile(np.arange(10, dtype=np.int16), runs_per)[np.argsort(local)]
        ev["received"] = cols["received"][sl]
        ev["emit"] = cols["emit"][sl]
        runs = np.zeros(runs_per, dtype=schema.RUN_DTYPE)
        runs["testrun_id"] = [f"x-{start_run + b * runs_per + i}".encode() for i in range(runs_per)]
        runs["group"] = 1
        req = np.zeros(runs_per, dtype=schema.REQUEST_DTYPE)
        req["run"] = start_run + b * runs_per + np.arange(runs_per)
        req["requestor"] = 9
        first_hosts = stats_files.STRINGS.index(stats_files.hosts_texts()[0])
        req["hosts"] = first_hosts + np.arange(runs_per) % len(stats_files.hosts_texts())
        batches.append(Batch(first_event_row=start_row + b * per_batch, events=ev,
                             first_run=start_run + b * runs_per, runs=runs, requests=req))
    return batches


def incremental(sizes: tuple[int, int], count: int = 100) -> dict[int, float]:
    """Median time to apply a 1,000-event batch to each state, the two states' batches
    applied alternately (so both see the same moments of a noisy machine)."""
    engines = {n: read_engine(stats_files.product_file(n)) for n in sizes}
    batches = {n: extra_batches(e.state.runs.n, e.state.n_events, count)
               for n, e in engines.items()}
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for i in range(count):
        for n, engine in engines.items():
            start = time.perf_counter()
            engine.apply(batches[n][i])
            times[n].append(time.perf_counter() - start)
    medians = {}
    for n in sizes:
        medians[n] = statistics.median(times[n][5:])
        print(f"incremental: 1,000-event batch on a state of {n:>9,} testruns: "
              f"median {medians[n] * 1e3:.2f} ms (min {min(times[n]) * 1e3:.2f}, "
              f"over {count - 5}, alternating with the other state)", flush=True)
    return medians


def main() -> None:
    quick = "--quick" in sys.argv
    big = 100_000 if quick else 1_000_000
    sizes = [10_000, 100_000] + ([] if quick else [1_000_000])
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    for n in sizes:
        stats_files.product_file(n)
    times = cold(sizes)
    if not quick:
        print(f"cold 1M / 100k time ratio: {times[1_000_000] / times[100_000]:.1f} "
              f"(10x the data)", flush=True)
    if "--cold" in sys.argv:
        return
    trend_cost(big)
    monitor_summary(big)
    seed_vs_pandas(big)
    medians = incremental((10_000, big))
    print(f"incremental ratio {big:,} / 10,000 state: {medians[big] / medians[10_000]:.2f}",
          flush=True)


if __name__ == "__main__":
    main()
