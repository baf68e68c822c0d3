"""`trmon-tui tail --follow` against a real writer process at full speed, and across a replace."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from conftest import Follower
from writer_proc import columns

from store.writer import EventWriter

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")


def _expected(gen: int, count: int) -> list[tuple]:
    cols = columns(gen, 0, count)
    return list(zip(cols["testrun_id"].tolist(), cols["event"].tolist(),
                    cols["emit"].tolist(), strict=True))


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


def test_follow_says_when_a_bad_file_becomes_readable(tmp_path):
    path = tmp_path / "events.h5"
    path.write_bytes(b"not an event file\n")
    follower = Follower(str(path))
    try:
        follower.said("is not an HDF5 file; waiting for it to be replaced")
        good = str(tmp_path / "good.h5")
        with EventWriter(good) as w:
            w.write_columns(columns(0, 0, 50))
        os.replace(good, path)
        assert _keys(follower.take(50)) == _expected(0, 50)
        follower.said("is readable now; following it")
    finally:
        code, err = follower.stop()
    assert code == 0 and "Traceback" not in err, err


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
