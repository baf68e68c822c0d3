"""`trmon-tui tail --follow` against a real writer process at full speed, and across a replace."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from writer_proc import columns

from store.writer import EventWriter

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")


def _expected(gen: int, count: int) -> list[tuple]:
    cols = columns(gen, 0, count)
    return list(zip(cols["testrun_id"].tolist(), cols["event"].tolist(),
                    cols["emit"].tolist(), strict=True))


class Follower:
    """A `trmon-tui tail --follow` subprocess whose stdout lines are collected by a thread."""

    def __init__(self, path: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trmon_tui", "tail", path, "--follow", "--poll", "0.1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # Ctrl-C must reach it even when the test runs in a background job (which ignores it).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def take(self, n: int, timeout: float = 60.0) -> list[dict]:
        """The next n events printed (fails if they do not come in time)."""
        out, deadline = [], time.monotonic() + timeout
        while len(out) < n:
            out.append(json.loads(self.lines.get(timeout=max(0.01, deadline - time.monotonic()))))
        return out

    def stop(self) -> tuple[int, str]:
        """Ctrl-C it; returns (exit status, stderr)."""
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, err


def _keys(events: list[dict]) -> list[tuple]:
    return [(e["testrun_id"], e["event"], e["emit"]) for e in events]


def test_follow_sees_every_row_once_in_order_and_across_a_replacement(tmp_path):
    path = str(tmp_path / "events.h5")
    follower = Follower(path)  # started before the file exists: it waits for it
    try:
        count = 60_000
        writer = subprocess.run(
            [sys.executable, HELPER, "write", path, "--gen", "1", "--count", str(count),
             "--batch", "700", "--interval", "0.05"], capture_output=True, text=True, timeout=120)
        assert writer.returncode == 0, writer.stderr
        got = follower.take(count)
        assert _keys(got) == _expected(1, count)
        assert got[0]["device_group"] == "grp" and got[0]["received"] == 1.0

        # Replace the file by rename with a longer one: a Reset, then the new file from row 0.
        other = str(tmp_path / "next.h5")
        with EventWriter(other) as w:
            w.write_columns(columns(2, 0, count + 500))
        os.replace(other, path)
        assert _keys(follower.take(count + 500)) == _expected(2, count + 500)

        # And keep following the new file as it grows.
        with EventWriter(path) as w:
            w.write_columns(columns(2, count + 500, count + 800))
        assert _keys(follower.take(300)) == _expected(2, count + 800)[-300:]
        time.sleep(0.5)
        assert follower.lines.empty(), "no duplicate or extra line"
    finally:
        code, err = follower.stop()
    assert code == 0
    assert "Traceback" not in err, err
    assert "was replaced" in err
    lines = err.splitlines()  # it waited for the file, then said when it could read it
    assert "does not exist yet" in lines[0] and "is readable now; following it" in lines[1]


def test_one_shot_tail_and_broken_pipe(tmp_path):
    path = str(tmp_path / "events.h5")
    with EventWriter(path) as w:
        w.write_columns(columns(0, 0, 20_000))
    out = subprocess.run([sys.executable, "-m", "trmon_tui", "tail", path],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 20_000
    piped = subprocess.run(f"'{sys.executable}' -m trmon_tui tail '{path}' | head -n 3",
                           shell=True, capture_output=True, text=True, timeout=60)
    assert len(piped.stdout.splitlines()) == 3 and "Traceback" not in piped.stderr
