"""`trmon-tui exporter`: a real exporter process, scraped over HTTP and parsed with
prometheus_client's own parser, against `report --json` on the same files."""

from __future__ import annotations

import json
import math
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from conftest import farm_events, parse, report, write

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")
PHASES = ("testrun", "init", "queue", "flash", "boot", "test", "publish")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """A `trmon-tui exporter` subprocess on a free port."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trmon_tui", "exporter", *map(str, args), "--port",
             str(self.port), "--poll", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.messages: queue.Queue[str] = queue.Queue()
        self._pump = threading.Thread(target=lambda: [self.messages.put(line) for line
                                                       in self.proc.stderr], daemon=True)
        self._pump.start()
        first = self.messages.get(timeout=60)
        assert f"serving http://127.0.0.1:{self.port}/metrics" in first, first

    def scrape(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=30) as r:
            return parse(r.read().decode())

    def wait_for(self, ready, timeout: float = 60.0) -> dict:
        """The first scrape for which ready(metrics) is true."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.scrape()
            if ready(got):
                return got
            assert time.monotonic() < deadline, f"no such scrape in {timeout} s: {got}"
            time.sleep(0.1)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(signum)
        self.proc.wait(timeout=30)
        self._pump.join(timeout=30)
        rest = []
        while not self.messages.empty():
            rest.append(self.messages.get())
        return self.proc.returncode, "".join(rest)


def value(got: dict, name: str, **labels) -> float:
    return got[name][tuple(sorted(labels.items()))]


def test_every_metric_agrees_with_report_and_bad_files_are_down(tmp_path):
    north, south = tmp_path / "north.h5", tmp_path / "south.h5"
    gone, junk = tmp_path / "gone.h5", tmp_path / "junk.h5"
    write(north, farm_events(31))
    write(south, farm_events(32, runs=25))
    junk.write_bytes(b"not an event file\n" * 40)
    # One fixed reference time for both: ages and overdue testruns then agree exactly.
    now = max(e["received"] for e in farm_events(31) + farm_events(32, runs=25)) + 3600.0
    exporter = Exporter(north, south, gone, junk, "--now", now)
    try:
        got = exporter.wait_for(lambda m: "trmon_testruns" in m)
        done = report(north, south, gone, junk, "--json", "--now", now)
        assert done.returncode == 1
        want = json.loads(done.stdout)
    finally:
        code, err = exporter.stop()
    assert code == 0 and "Traceback" not in err, err
    for label, f in want["files"].items():
        assert value(got, "trmon_file_up", file=label) == (f["error"] is None)
        assert value(got, "trmon_file_events", file=label) == f["events"]
    assert value(got, "trmon_file_up", file="north") == 1
    assert value(got, "trmon_file_up", file="gone") == value(got, "trmon_file_up", file="junk") == 0
    assert sorted({dict(k)["device_group"] for k in got["trmon_testruns"]}) == \
        sorted(want["groups"]) == [f"{f}/lab-{k}" for f in ("north", "south") for k in range(3)]
    for group, s in want["groups"].items():
        g = {"device_group": group}
        assert value(got, "trmon_testruns", **g, state="queued") == s["queued"]
        assert value(got, "trmon_testruns", **g, state="ongoing") == s["ongoing"]
        assert value(got, "trmon_testruns_ended_total", **g, result="finished") == s["finished"]
        assert value(got, "trmon_testruns_ended_total", **g, result="error") == s["errors"]
        for name, n in s["event_counts"].items():
            assert value(got, "trmon_events_total", **g, event=name) == n
        assert value(got, "trmon_oldest_queued_wait_seconds", **g) == \
            (s["oldest_queued_wait"] or 0.0)
        for phase in PHASES:
            stats = s["durations"][phase]
            assert value(got, "trmon_phase_duration_seconds_count", **g, phase=phase) == \
                stats["n"]
            assert math.isclose(value(got, "trmon_phase_duration_seconds_sum", **g,
                                      phase=phase), stats["n"] * (stats["mean"] or 0.0))
            assert value(got, "trmon_phase_duration_seconds_bucket", **g, phase=phase,
                         le="+Inf") == stats["n"]
        for phase in ("queue", "flash", "boot", "test", "publish"):
            assert value(got, "trmon_overdue_testruns", **g, phase=phase) == sum(
                row["phase"] == phase for row in s["overdue"])
    assert want["all"]["hosts"]
    for host, h in want["all"]["hosts"].items():
        assert value(got, "trmon_host_error_streak", host=host) == h["streak"]
        for health in ("good", "suspect", "bad"):
            assert value(got, "trmon_host_health", host=host, health=health) == \
                (h["health"] == health)


def test_a_live_file_counters_grow_between_scrapes(tmp_path):
    path = tmp_path / "live.h5"
    writer = subprocess.Popen([sys.executable, HELPER, "write", str(path), "--count", "200000",
                               "--batch", "200", "--rate", "4000", "--interval", "0.1"],
                              stdout=subprocess.DEVNULL)
    exporter = Exporter(path)
    try:
        def events(m: dict) -> float:
            return sum(m.get("trmon_events_total", {}).values())

        first = exporter.wait_for(lambda m: events(m) > 0)
        second = exporter.wait_for(lambda m: events(m) > events(first))
        assert value(second, "trmon_file_events", file="live") > \
            value(first, "trmon_file_events", file="live")
        for key, n in first["trmon_events_total"].items():
            assert second["trmon_events_total"][key] >= n, "a counter never goes down"
        assert value(second, "trmon_file_up", file="live") == 1
    finally:
        writer.kill()
        writer.wait()
        code, err = exporter.stop(signal.SIGINT)
    assert code == 0 and "Traceback" not in err, err


def test_a_port_in_use_is_one_line_and_status_2(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(33, runs=3))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "trmon_tui", "exporter", str(path),
                               "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and f"port {port}" in done.stderr
    assert "in use" in done.stderr


@pytest.mark.parametrize("args", [["a.h5", "b/a.h5"], ["x.h5", "--bind", "not an address!"]])
def test_bad_arguments_are_one_line_and_status_2(tmp_path, args):
    done = subprocess.run([sys.executable, "-m", "trmon_tui", "exporter", *args, "--port",
                           str(free_port())], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_a_port_that_is_no_port_is_a_usage_error(tmp_path, port):
    done = subprocess.run([sys.executable, "-m", "trmon_tui", "exporter", str(tmp_path / "a.h5"),
                           "--port", port], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is not a TCP port" in done.stderr
