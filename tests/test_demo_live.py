"""The live generator in real subprocesses: commits keep up with the farm clock, a signal stops
it with everything committed, and live_demo leaves no directory or process behind."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from demo.live import DemoClock, demo_clock, live_demo
from store import h5io

SPEED = 600.0      # ten farm minutes a second: tens of events a second to observe
LATENCY = 1.0      # generous bound on "written within the writer's 0.25 s interval"


def committed(path) -> tuple[int, np.ndarray | None]:
    """Events of the last complete commit (count, and their receive times when asked)."""
    h5 = h5io.open_with_retry(str(path), "r", patience=10)
    try:
        count = json.loads(h5.root._v_attrs.trmon_commit)["events"]
        return count, h5.root.events.read(0, count)["received"]
    finally:
        h5.close()


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_live_commits_keep_up_with_the_clock_and_sigterm_commits_all(tmp_path):
    out, ready = tmp_path / "live.h5", tmp_path / "ready"
    origin = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo.live_proc", str(out), "--speed", str(SPEED), "--runs", "40",
         "--seed", "5", "--origin", repr(origin), "--ready-file", str(ready)],
        stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read()
        ready_at = time.time()
        observed = []
        end = time.time() + 3.0
        while time.time() < end:
            count, _ = committed(out)
            observed.append((time.time(), count))
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    total, received = committed(out)
    assert "Traceback" not in proc.stderr.read()
    assert (np.diff(received) >= 0).all()            # file order = receive order
    due = DemoClock(origin, SPEED).wall(received)    # when each event was due on the wall clock
    assert observed[-1][1] > observed[0][1] + 20     # the farm moved while we watched
    checked = [(seen_at, count) for seen_at, count in observed if seen_at > ready_at + LATENCY]
    assert len(checked) > 20
    for seen_at, count in checked:
        # Everything due more than LATENCY before an observation was already committed (the
        # backlog of the start-up, due before the ready file appeared, included).
        assert count >= np.searchsorted(due, seen_at - LATENCY, side="right"), (seen_at, count)
    # Nothing was left uncommitted when it stopped: the file holds exactly the committed rows.
    h5 = h5io.open_with_retry(str(out), "r", patience=10)
    try:
        assert h5.root.events.nrows == total
    finally:
        h5.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_live_stops_cleanly_with_everything_committed(tmp_path, sig):
    out = tmp_path / "live.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "trmon_tui", "generate", str(out), "--live", "--runs", "30",
         "--speed", str(SPEED), "--seed", "1"], stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
        assert "now writing live" in first, first
        history = int(re.search(r"\(([\d,]+) events\)", first).group(1).replace(",", ""))
        time.sleep(1.0)
        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    last = proc.stderr.read()
    total = int(re.search(r"stopped; ([\d,]+) events committed", last).group(1).replace(",", ""))
    assert "Traceback" not in last
    assert total > history
    assert committed(out)[0] == total


def generator_pids(path: Path) -> list[int]:
    """Processes whose command line names `path` (the demo's generator)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(path).encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def gone(pid: int) -> bool:
    """True when the process no longer exists (reaped: not even a zombie)."""
    return not Path(f"/proc/{pid}").exists()


def test_live_demo_yields_a_live_file_and_cleans_up():
    with live_demo(speed=SPEED, seed=2, history=30) as path:
        assert path.exists()
        pids = generator_pids(path)
        assert len(pids) == 1
        count, _ = committed(path)
        assert count > 0                                   # the history is there at once
        wait_for(lambda: committed(path)[0] > count, timeout=10)  # and it grows
        clock = demo_clock(path)
        assert clock is not None and clock.speed == SPEED
        assert clock.now() > time.time()                   # the farm runs ahead of the wall
    assert not path.parent.exists()
    assert gone(pids[0])
    assert demo_clock(path) is None


def test_live_demo_cleans_up_when_the_body_raises():
    with pytest.raises(ZeroDivisionError):
        with live_demo(speed=SPEED, seed=3, history=10) as path:
            pids = generator_pids(path)
            raise ZeroDivisionError("the body fails")
    assert not path.parent.exists()
    assert pids and all(gone(p) for p in pids)


def test_generator_does_not_outlive_a_killed_parent(tmp_path):
    (tmp_path / "demo").mkdir()
    out, ready = tmp_path / "demo" / "orphan.h5", tmp_path / "ready"
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import os, subprocess, sys, time\n"
         "p = subprocess.Popen([sys.executable, '-m', 'demo.live_proc', sys.argv[1], '--runs',"
         " '5', '--ready-file', sys.argv[2], '--parent', str(os.getpid()),"
         " '--cleanup-dir', sys.argv[3]])\n"
         "print(p.pid, flush=True)\n"
         "time.sleep(120)\n", str(out), str(ready), str(tmp_path / "demo")],
        stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    wait_for(lambda: ready.exists())
    parent.kill()
    parent.wait()
    # Orphaned, the generator notices its new parent and exits (reaped by init or a subreaper).
    wait_for(lambda: gone(child) or _state(child) == "Z", timeout=10)
    assert not (tmp_path / "demo").exists()  # and removes the directory its parent left


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def test_live_demo_refuses_a_bad_speed_before_starting_anything():
    with pytest.raises(ValueError, match="speed"):
        with live_demo(speed=0):
            pass


def test_a_window_without_requests_models_nothing():
    """Live windows with no new request happen (often at high speed); they once stopped the
    generator: numpy 2.4 cannot zero-fill an empty array of testrun ids."""
    from demo.model import FarmModel

    block = FarmModel(1).runs(np.array([]))
    assert len(block.testrun_id) == 0 and len(block.received) == 0

