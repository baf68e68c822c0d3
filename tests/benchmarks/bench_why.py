"""What DESIGN.md's "Why it waits, and why it fails" costs (printed, not asserted).

    .venv/bin/python tests/benchmarks/bench_why.py [FILE] [--base PATH/TO/OLD/trmon-tui]

FILE: an own-layout file (default /work/bench/own-1M.h5, else `trmon-tui generate FILE --runs
1000000 --seed 1` makes one).  Prints:
- report: `trmon-tui report --json FILE --now T` of this tree (with the new keys, also with a
  config of two failure rules) against the same command of a tree without them (--base, default
  /work/base/t2cc36d3/.venv/bin/trmon-tui), alternated 5 times each in the same run: medians and
  the ratio (budget 1.15);
- queries on the file's state: summary(delivery_delay=False) with and without "failures", and
  failures(), hosts(), configuration_hosts() of the largest configuration (median of 5);
- incremental: median time to apply a 1,000-event batch to the file's state (budget 5 ms).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_stats  # noqa: E402
import numpy as np  # noqa: E402

from store.stats import Rule  # noqa: E402
from trmon_tui.commands.report import read_file  # noqa: E402

NEW = os.path.join(os.path.dirname(sys.executable), "trmon-tui")
BASE = "/work/base/t2cc36d3/.venv/bin/trmon-tui"
RULES = '[[failures.rule]]\nmatch = "^(Flash|USB)"\ncategory = "flash"\n' \
        '[[failures.rule]]\nmatch = "Timeout"\ncategory = "timeout"\n'


def timed(command: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one process (CPU time is the steadier
    figure on a machine that others load)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def report_cost(path: str, base: str, now: float, repeat: int = 5) -> None:
    home = tempfile.mkdtemp(prefix="bench-why-")  # no user config file
    config = os.path.join(home, "rules.toml")
    with open(config, "w") as handle:
        handle.write(RULES)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRMON_")},
           "HOME": home}
    runs = {"without (base tree)": [base, "report", "--json", path, "--now", str(now)],
            "with the new keys": [NEW, "report", "--json", path, "--now", str(now)],
            "with keys and 2 rules": [NEW, "report", "--json", path, "--now", str(now),
                                      "--config", config]}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for command in runs.values():  # warm the page cache and the bytecode
        timed(command, env)
    for _ in range(repeat):
        for name, command in runs.items():
            times[name].append(timed(command, env))
    for k, what in ((0, "wall"), (1, "CPU")):
        medians = {name: statistics.median(t[k] for t in ts) for name, ts in times.items()}
        for name, ts in times.items():
            print(f"report --json {what}: {name:<22} median {medians[name]:.2f} s "
                  f"(runs {', '.join(f'{t[k]:.2f}' for t in ts)})", flush=True)
        base_time = medians["without (base tree)"]
        print(f"report --json {what} ratio with / without: "
              f"{medians['with the new keys'] / base_time:.3f} (with 2 rules: "
              f"{medians['with keys and 2 rules'] / base_time:.3f}; budget 1.15)", flush=True)


def median_time(call, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def queries(path: str, now: float) -> None:
    engine = read_file(path)[0]
    engine.set_rules([Rule("^(Flash|USB)", "flash"), Rule("Timeout", "timeout")])
    engine.failures(now=now)  # the first query classifies every error string once
    n = engine.state.runs.n
    plain = median_time(lambda: engine.summary(now=now, delivery_delay=False, failures=False))
    full = median_time(lambda: engine.summary(now=now, delivery_delay=False))
    print(f"queries on {n:,} testruns: summary(delivery_delay=False) {plain * 1e3:.0f} ms "
          f"without failures, {full * 1e3:.0f} ms with ({full / plain:.2f}x)", flush=True)
    configs = engine.failures(now=now)["configurations"]
    largest = max(configs, key=lambda c: c["ended"])["configuration"] if configs else "(none)"
    for name, call in (("failures()", lambda: engine.failures(now=now)),
                       ("hosts()", lambda: engine.hosts(now=now)),
                       (f"configuration_hosts({largest!r})",
                        lambda: engine.configuration_hosts(largest, now=now)),
                       ("error_testruns(limit=50)", lambda: engine.error_testruns(now=now))):
        print(f"  {name}: {median_time(call) * 1e3:.0f} ms", flush=True)
    return engine


def incremental(engine, count: int = 100) -> None:
    batches = bench_stats.extra_batches(engine.state.runs.n, engine.state.n_events, count)
    times = []
    for batch in batches:
        start = time.perf_counter()
        engine.apply(batch)
        times.append(time.perf_counter() - start)
    engine.state.drain()
    print(f"incremental: 1,000-event batch on a state of {engine.state.runs.n - count * 100:,}"
          f" testruns: median {statistics.median(times[5:]) * 1e3:.2f} ms "
          f"(min {min(times) * 1e3:.2f}, over {count - 5}; budget 5 ms)", flush=True)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = args[0] if args else "/work/bench/own-1M.h5"
    base = sys.argv[sys.argv.index("--base") + 1] if "--base" in sys.argv else BASE
    if not os.path.exists(path):
        subprocess.run([NEW, "generate", path, "--runs", "1000000", "--seed", "1"], check=True)
    print(f"load average {os.getloadavg()[0]:.2f}, file {path}", flush=True)
    engine = read_file(path)[0]
    st = engine.state
    now = float(np.nanmax(st.runs.last_t[: st.runs.n])) + 60.0  # just after the last event
    del engine, st
    report_cost(path, base, now)
    engine = queries(path, now)
    incremental(engine)


if __name__ == "__main__":
    main()
