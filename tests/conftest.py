"""Helpers shared by the test modules (they import them with `from conftest import ...`).

The monitor's farm (NOW, app_farm_events, write_farm) is hand-rolled, not demo.generator, so the
app's snapshots depend only on this file: a seeded RNG, fixed times ending at NOW, and hostile
strings (markup, an escape sequence) to prove that file strings are shown literally.  The report's
farm (farm_events, write) has retries, errors in any phase, gaps and unknown events.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from store.stats import StatsEngine
from store.writer import EventWriter
from trmon_tui.commands.report import read_file


@pytest.fixture(autouse=True, scope="session")
def no_operator_config(tmp_path_factory):
    """No test reads the developer's own ~/.config/trmon-tui/config.toml, $TRMON_CONFIG or
    $TRMON_FILE (subprocesses inherit this environment): HOME is an empty directory."""
    saved = {name: os.environ.get(name) for name in ("HOME", "TRMON_CONFIG", "TRMON_FILE")}
    os.environ["HOME"] = str(tmp_path_factory.mktemp("home"))
    os.environ.pop("TRMON_CONFIG", None)
    os.environ.pop("TRMON_FILE", None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# The monitor's farm and the Pilot helpers (the app's tests and snapshots).

NOW = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: the fixed clock of the tests
GROUPS = ("aava", "n900", "tablet")
REQUESTORS = ("anna@farm.example", "[red]x[/]", "bob@farm.example", "esc\x1b[2Jape@farm")


def app_farm_events(n_runs: int = 40, seed: int = 7, end: float = NOW) -> list[dict]:
    """Events of ``n_runs`` testruns requested over the 6 hours before ``end``.

    The last runs are still running or queued at ``end``; every 7th run ends in an error."""
    rng = np.random.default_rng(seed)
    events: list[dict] = []
    start = end - 6 * 3600
    for i in range(n_runs):
        tid = f"tr-{i:04d}"
        t = start + i * (6 * 3600 - 900) / n_runs
        group = GROUPS[i % len(GROUPS)]
        request = {"testrun_id": tid, "event": "request", "emit": t, "received": t + 0.2,
                   "device_group": group, "queue": "release", "configuration": f"img-{i % 4}",
                   "requestor": REQUESTORS[i % len(REQUESTORS)], "request_id": f"req-{i}",
                   "hosts": [[f"{group}-worker{i % 3 + 1}", i % 2 + 1]]}
        wait = rng.integers(60, 900) if i < n_runs - 2 else 7200  # the last two stay queued
        steps = [("queue_start", 60 + rng.integers(0, 60)), ("queue_end", wait)]
        for _ in range(1 + (i % 5 == 0)):
            steps += [("flash_start", 5), ("flash_end", rng.integers(400, 900))]
        steps += [("boot_start", 5), ("boot_end", rng.integers(200, 500)),
                  ("test_start", 5), ("test_end", rng.integers(900, 1800))]
        steps += [("error", 30)] if i % 7 == 3 else [("publish", rng.integers(180, 400))]
        events.append(request)
        for name, gap in steps:
            t += float(gap)
            if t > end:
                break  # still running (or queued) at the end of the history
            event = {"testrun_id": tid, "event": name, "emit": t, "received": t + 0.2}
            if name == "error":
                event["error"] = "FlashError: [bold]device[/] did not answer"
            events.append(event)
    events.sort(key=lambda e: e["received"])
    return events


def write_farm(path, n_runs: int = 40, seed: int = 7, end: float = NOW) -> int:
    """Write the farm to ``path`` with the real EventWriter; returns the number of events."""
    events = app_farm_events(n_runs, seed, end)
    with EventWriter(str(path)) as writer:
        for event in events:
            writer.write(event)
    return len(events)


async def wait_for(pilot, condition, timeout: float = 15.0, step: float = 0.05) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(step)


def loaded(app, events: int):
    """Condition: the app's latest snapshot counts ``events`` events."""
    return lambda: app.snapshot is not None and app.snapshot.counts.get("events") == events


WRITER = textwrap.dedent("""
    import sys, time
    from store.writer import EventWriter
    path, n = sys.argv[1], int(sys.argv[2])
    with EventWriter(path, interval=0.1) as w:
        for i in range(n):
            t = time.time()
            w.write({"testrun_id": f"live-{i}", "event": "request", "emit": t, "received": t,
                     "device_group": "livegroup", "requestor": "[b]live[/b]"})
            time.sleep(0.02)
""")
"""A writer process (argv: path, n): n requests of "livegroup", one every 20 ms."""


# `trmon-tui report` and its farm (report, metrics, exporter, multi-file tests).


def report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trmon_tui", "report", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def farm_events(seed: int, runs: int = 40) -> list[dict]:
    """Interleaved testruns with retries, errors in any phase, gaps and unknown events."""
    rng = random.Random(seed)
    scripts = []
    for _ in range(runs):
        names = ["request", "queue_start", "queue_end"]
        for phase in ("flash", "boot", "test"):
            names += [f"{phase}_start", f"{phase}_end"] * rng.choice([1, 1, 2, 3])
        names.append("publish")
        if rng.random() < 0.2:
            names = names[: rng.randrange(1, len(names))] + ["error"]
        if rng.random() < 0.15:
            names = names[: rng.randrange(1, len(names))]  # still running
        if rng.random() < 0.1:
            names.insert(rng.randrange(1, len(names) + 1), "power_cycle")
        scripts.append(names)
    events, cursors, t = [], [0] * runs, 1_790_000_000.0
    while True:
        live = [i for i in range(runs) if cursors[i] < len(scripts[i])]
        if not live:
            return events
        i = rng.choice(live[:6])  # a handful of testruns in flight at once
        name = scripts[i][cursors[i]]
        cursors[i] += 1
        t += rng.choice([0.5, 3.0, 20.0, 90.0])
        e = {"testrun_id": f"tr-{i:03d}", "event": name, "emit": t - rng.random(),
             "received": t}
        if name == "request":
            hosts = [[f"worker{i % 4}", 1]] + ([[f"worker{(i + 1) % 4}", 2]] if i % 5 == 0 else [])
            e.update(device_group=f"lab-{i % 3}", requestor=f"dev{i % 4}@example.com",
                     queue="nightly", configuration="full", hosts=hosts)
        if name == "error":
            e["error"] = "RuntimeError: board did not answer"
        events.append(e)


def write(path, events) -> None:
    with EventWriter(str(path)) as writer:
        for e in events:
            writer.write(e)


def parse(text: str) -> dict[str, dict[tuple, float]]:
    """{sample name: {sorted label items: value}} of an exposition."""
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def engine_of(path) -> StatsEngine:
    """The statistics of the whole file, read as `report` reads it."""
    return read_file(str(path))[0]


# `trmon-tui tail --follow` as a subprocess.


class Follower:
    """A `trmon-tui tail --follow` subprocess whose output lines are collected by threads."""

    def __init__(self, path: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trmon_tui", "tail", path, "--follow", "--poll", "0.1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # Ctrl-C must reach it even when the test runs in a background job (which ignores it).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.lines: queue.Queue[str] = queue.Queue()
        self.messages: queue.Queue[str] = queue.Queue()
        self._pumps = [threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
                       for stream, sink in ((self.proc.stdout, self.lines),
                                            (self.proc.stderr, self.messages))]
        for pump in self._pumps:
            pump.start()

    @staticmethod
    def _pump(stream, sink: queue.Queue) -> None:
        for line in stream:
            sink.put(line)

    def take(self, n: int, timeout: float = 60.0) -> list[dict]:
        """The next n events printed (fails if they do not come in time)."""
        out, deadline = [], time.monotonic() + timeout
        while len(out) < n:
            out.append(json.loads(self.lines.get(timeout=max(0.01, deadline - time.monotonic()))))
        return out

    def message(self, timeout: float = 60.0) -> str:
        """The next line printed on stderr (fails if none comes in time)."""
        return self.messages.get(timeout=timeout)

    def said(self, text: str, timeout: float = 60.0) -> str:
        """The first line printed on stderr from now on that contains ``text`` (fails, with
        the lines seen, if none comes in time: other lines may come first on a busy machine)."""
        seen, deadline = [], time.monotonic() + timeout
        while True:
            try:
                line = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} on stderr; saw {seen}") from None
            if text in line:
                return line
            seen.append(line)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C it; returns (exit status, the rest of its stderr)."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=20)
        for pump in self._pumps:
            pump.join(timeout=20)
        rest = []
        while not self.messages.empty():
            rest.append(self.messages.get())
        return self.proc.returncode, "".join(rest)
