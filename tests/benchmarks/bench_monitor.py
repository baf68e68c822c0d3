"""What the live monitor costs, run as an operator runs it: the real app in a pseudo-terminal.

    .venv/bin/python tests/benchmarks/bench_monitor.py [--seconds 12] [--big-runs 1000000]
        [--big-file PATH] [--no-live] [--no-idle] [--no-multi] [--no-big]

Live (issue 11's table): `trmon-tui generate FILE --live --runs 2000 --speed 60` (~3 events/s)
or `--speed 2000` (~100 events/s) keeps writing; `trmon-tui FILE` runs in a 120x36 pty
(TERM=xterm-256color); the digit keys switch panes; per pane, after a settling pause, CPU = the
monitor process's utime+stime ticks (/proc/PID/stat, every thread) over --seconds, and bytes =
what it wrote to the terminal (what SSH carries).  Idle: the same on a static file.

Commit-to-screen: a probe writer commits `request` events of device group "probe" (testruns
probe-0, probe-1, ...) beside the live writer; latency = from its flush() returning until the
pty output shows the overview row "probe  K+1" (both rates) or the id on the events pane
(~3 events/s: at 100 events/s the row leaves the visible rows before a 1-2 Hz repaint).

Several files (issue 13): three files of --runs testruns, one of them written live at ~3 events/s
(`generate --live --speed 60`), the others static; the overview's CPU and bytes of
`trmon-tui a.h5 lab2=b.h5 c.h5` against `trmon-tui b.h5` alone, alternated twice (the mean).

Big file: `report --json` on a --big-runs file, then the monitor on it until the status bar says
LIVE with every testrun and the pane shows the totals (overview: the "all groups" row's counts;
statistics: the testrun row with report's n), and the monitor's peak RSS (VmHWM); the budget
is BIG_RATIO times report's time (issue 17).
Best of --repeat runs each, all in the same run, so the ratio survives a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pty_terminal import Terminal, cpu_ticks, peak_rss_mb  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PANES = (("1", "Overview"), ("2", "Testruns"), ("3", "Time+motion"), ("4", "Statistics"),
         ("5", "Events"), ("6", "Hosts"), ("7", "Trends"), ("8", "Failures"))
RATES = ((60.0, "~3 ev/s"), (2000.0, "~100 ev/s"))
BUDGET_CPU = {60.0: 5.0, 2000.0: 12.0, "idle": 1.0}
BIG_RATIO = 1.2  # the monitor LIVE on a big file within this many times `report --json`'s time
BUDGET_KIB = {"Events": 24.0}
BUDGET_KIB_DEFAULT = 12.0
SETTLE = 3.0
TICK = os.sysconf("SC_CLK_TCK")


def trmon(*args: str) -> list[str]:
    return [sys.executable, "-m", "trmon_tui", *args]


def env() -> dict[str, str]:
    out = dict(os.environ, PYTHONPATH=ROOT)
    out.pop("NO_COLOR", None)
    return out


# ---- writers ------------------------------------------------------------------------------
def start_live_writer(path: str, speed: float, runs: int) -> subprocess.Popen:
    """`generate --live`, returned once its history is written."""
    proc = subprocess.Popen(trmon("generate", path, "--live", "--runs", str(runs), "--speed",
                                  str(speed), "--seed", "3"),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env())
    for line in proc.stderr:
        if "now writing live" in line:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep it drained
            return proc
    raise RuntimeError("generate --live ended before writing live")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- measuring ----------------------------------------------------------------------------
def measure(term: Terminal, seconds: float) -> tuple[float, float]:
    """(% of a core, KiB/s to the terminal) of the monitor over ``seconds``."""
    ticks, sent, t0 = cpu_ticks(term.pid), term.bytes, time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    cpu = (cpu_ticks(term.pid) - ticks) / TICK / elapsed * 100
    return cpu, (term.bytes - sent) / 1024 / elapsed


def panes_cost(term: Terminal, seconds: float) -> dict[str, tuple[float, float]]:
    out = {}
    for key, name in PANES:
        term.write(key)
        time.sleep(SETTLE)
        out[name] = measure(term, seconds)
    return out


def start_monitor(path: str, *extra: str) -> Terminal:
    term = Terminal(trmon(path, *extra), env(), size=(120, 36))
    term.wait_for(r"LIVE .*runs", timeout=120)
    return term


def probe_latency(term: Terminal, path: str, pane: str, count: int) -> list[float]:
    """Seconds from each probe commit to the pane showing it."""
    sys.path.insert(0, ROOT)
    from store.writer import EventWriter

    term.write(pane)
    time.sleep(SETTLE)
    latencies = []
    with EventWriter(path, interval=3600) as writer:
        for k in range(count):
            t = time.time()
            writer.write({"testrun_id": f"probe-{k}", "event": "request", "emit": t,
                          "received": t, "device_group": "probe"})
            mark = term.mark()
            writer.flush()
            committed = time.monotonic()
            pattern = rf"probe\s+{k + 1}\b" if pane == "1" else rf"probe-{k}\b"
            seen = term.wait_for(pattern, timeout=10, since=mark)
            latencies.append(max(0.0, seen - committed) if seen else float("nan"))
            time.sleep(random.uniform(0.2, 1.2))  # never in step with the monitor's 1 Hz
    return latencies


def live(tmp: str, rate: float, runs: int, seconds: float, probes: int) -> dict:
    path = os.path.join(tmp, f"live-{rate:g}.h5")
    writer = start_live_writer(path, rate, runs)
    term = None
    try:
        term = start_monitor(path)
        time.sleep(SETTLE)
        result = {"panes": panes_cost(term, seconds)}
        events = "5" if rate < 500 else None
        result["latency"] = {"overview": probe_latency(term, path, "1", probes)}
        if events:
            result["latency"]["events"] = probe_latency(term, path, events, probes)
        return result
    finally:
        if term:
            term.close()
        stop(writer)


def idle(tmp: str, runs: int, seconds: float) -> dict:
    path = os.path.join(tmp, "static.h5")
    subprocess.run(trmon("generate", path, "--runs", str(runs)), check=True, env=env(),
                   stderr=subprocess.DEVNULL)
    term = start_monitor(path)
    try:
        time.sleep(SETTLE)
        return {"panes": panes_cost(term, seconds)}
    finally:
        term.close()


def several(tmp: str, runs: int, seconds: float) -> dict[str, tuple[float, float]]:
    """Overview cost of the monitor over three files, one live, against the live one alone."""
    a, b, c = (os.path.join(tmp, f"{name}.h5") for name in "abc")
    for path, seed in ((a, "1"), (c, "2")):
        subprocess.run(trmon("generate", path, "--runs", str(runs), "--seed", seed), check=True,
                       env=env(), stderr=subprocess.DEVNULL)
    writer = start_live_writer(b, 60.0, runs)
    costs: dict[str, list[tuple[float, float]]] = {"1 file": [], "3 files": []}
    try:
        for _ in range(2):
            for name, args in (("1 file", (b,)), ("3 files", (a, f"lab2={b}", c))):
                term = start_monitor(*args)
                try:
                    time.sleep(SETTLE)
                    costs[name].append(measure(term, seconds))
                finally:
                    term.close()
    finally:
        stop(writer)
    return {name: tuple(statistics.mean(v) for v in zip(*values, strict=True))
            for name, values in costs.items()}


# ---- big file -----------------------------------------------------------------------------
def big(path: str, repeat: int) -> dict:
    """Rounds of report, monitor on the overview, monitor on statistics (interleaved, so a
    change of the machine's load hits all three alike); the best of each."""
    times: dict[str, list[float]] = {"report": [], "overview": [], "statistics": []}
    rss: dict[str, list[float]] = {"overview": [], "statistics": []}
    report = None
    for _ in range(repeat):
        t = time.monotonic()
        out = subprocess.run(trmon("report", path, "--json"), check=True, env=env(),
                             capture_output=True, text=True).stdout
        times["report"].append(time.monotonic() - t)
        report = report or json.loads(out)
        every = report["all"]
        runs, n = every["testruns"], every["durations"]["testrun"]["n"]
        totals = r"\s+".join(f"{every[k]:,}" for k in ("queued", "ongoing", "finished", "errors"))
        for key, name, shows in (("1", "overview", rf"all groups\s+{totals}\b"),
                                 ("4", "statistics", rf"testrun\s+{n:,}\b")):
            seconds, peak = monitor_until_shown(path, key, runs, shows)
            times[name].append(seconds)
            rss[name].append(peak)
    out = {"runs": report["all"]["testruns"], "report": min(times["report"])}
    for name in ("overview", "statistics"):
        out[name] = (min(times[name]), max(rss[name]))
    return out


def monitor_until_shown(path: str, key: str, runs: int, shows: str) -> tuple[float, float]:
    """Seconds from starting the monitor (on pane ``key``) until the status bar says LIVE with
    ``runs`` testruns and the pane shows ``shows``; and its peak RSS in MB."""
    term = Terminal(trmon(path), env(), size=(120, 36))
    try:
        if key != "1":
            term.wait_for(r"Overview", timeout=60)
            term.write(key)
        if term.wait_for(rf"LIVE .*{runs:,} runs", timeout=600) is None or \
                (seen := term.wait_for(shows, timeout=600, since=0)) is None:
            raise RuntimeError(f"pane {key} never showed {runs:,} testruns")
        return seen - term.started, peak_rss_mb(term.pid)
    finally:
        term.close()


def big_file(tmp: str, runs: int, given: str | None) -> str:
    if given:
        return given
    path = os.path.join(tmp, "big.h5")
    subprocess.run(trmon("generate", path, "--runs", str(runs), "--seed", "1"), check=True,
                   env=env(), stderr=subprocess.DEVNULL)
    return path


# ---- report -------------------------------------------------------------------------------
def cell(cpu: float, kib: float, cpu_budget: float | None, kib_budget: float | None) -> str:
    def mark(value, budget):
        return "" if budget is None else (" ok" if value <= budget else " OVER")
    text = f"{cpu:4.1f} %{mark(cpu, cpu_budget)}, {kib:5.1f} KiB/s{mark(kib, kib_budget)}"
    return text


def print_table(results: dict) -> None:
    heads = [label for _, label in RATES] + (["static file"] if "idle" in results else [])
    print("\n| pane | " + " | ".join(heads) + " |")
    print("|---" * (len(heads) + 1) + "|")
    for _, name in PANES:
        cells = []
        for rate, _ in RATES:
            if rate in results:
                cpu, kib = results[rate]["panes"][name]
                kib_budget = BUDGET_KIB.get(name, BUDGET_KIB_DEFAULT) if rate == 60.0 else None
                cells.append(cell(cpu, kib, BUDGET_CPU[rate], kib_budget))
            else:
                cells.append("–")
        if "idle" in results:
            cpu, kib = results["idle"]["panes"][name]
            cells.append(cell(cpu, kib, BUDGET_CPU["idle"], None))
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nbudgets: ~3 ev/s <= 5 % and <= 12 KiB/s (events <= 24); ~100 ev/s <= 12 %; "
          "static <= 1 %")
    for rate, label in RATES:
        for pane, values in results.get(rate, {}).get("latency", {}).items():
            good = sorted(v for v in values if v == v)
            if not good:
                print(f"commit-to-screen {label} {pane}: never seen")
                continue
            print(f"commit-to-screen {label} {pane}: median {statistics.median(good) * 1000:.0f}"
                  f" ms, max {good[-1] * 1000:.0f} ms, seen {len(good)}/{len(values)} "
                  f"(budget median <= 1000 ms)")
    if "several" in results:
        print("\noverview, one file live at ~3 ev/s (mean of 2):")
        for name, (cpu, kib) in results["several"].items():
            print(f"  {name}: {cell(cpu, kib, BUDGET_CPU[60.0], BUDGET_KIB_DEFAULT)}")
    if "big" in results:
        b = results["big"]
        limit = BIG_RATIO * b["report"]
        print(f"\n{b['runs']:,} testruns: report --json {b['report']:.2f} s "
              f"(x{BIG_RATIO} = {limit:.2f} s)")
        for name in ("overview", "statistics"):
            seconds, rss = b[name]
            verdict = "ok" if seconds <= limit else "OVER"
            print(f"  monitor LIVE with every testrun, {name}: {seconds:.2f} s "
                  f"({seconds / b['report']:.2f}x report, {verdict}); peak RSS {rss:.0f} MB "
                  f"({'ok' if rss <= 700 else 'OVER'} <= 700)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--big-runs", type=int, default=1_000_000)
    parser.add_argument("--big-file", default=None, help="an existing file (skips generating)")
    parser.add_argument("--repeat", type=int, default=3, help="big-file rounds (best is kept)")
    parser.add_argument("--no-live", action="store_true")
    parser.add_argument("--no-idle", action="store_true")
    parser.add_argument("--no-multi", action="store_true")
    parser.add_argument("--no-big", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {open('/proc/loadavg').read().strip()}")
    results: dict = {}
    # Every file the benchmark writes goes here and is removed at the end (the big one is 1 GB).
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        if not args.no_live:
            for rate, label in RATES:
                results[rate] = live(tmp, rate, args.runs, args.seconds, args.probes)
                print(f"{label}: {results[rate]['panes']}", flush=True)
        if not args.no_idle:
            results["idle"] = idle(tmp, args.runs, args.seconds)
            print(f"static: {results['idle']['panes']}", flush=True)
        if not args.no_multi:
            results["several"] = several(tmp, args.runs, args.seconds)
            print(f"several files: {results['several']}", flush=True)
        if not args.no_big:
            results["big"] = big(big_file(tmp, args.big_runs, args.big_file), args.repeat)
    print_table(results)
    print(f"\nload average after: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
