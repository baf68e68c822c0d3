"""A local mirror of a remote file: `tail --follow --skip N SRC | ingest MIRROR` over a real pipe
that is cut and restarted, with N = `ingest MIRROR --count` (README, "Files on other servers")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import farm_events, write

import store.writer
from store.writer import EventWriter

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")
TRMON = [sys.executable, "-m", "trmon_tui"]


def tail(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*TRMON, "tail", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def count(path) -> int:
    done = subprocess.run([*TRMON, "ingest", str(path), "--count"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_skip_and_count(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(41, runs=30))
    whole = tail(path).stdout.splitlines()
    assert count(path) == len(whole)
    assert count(tmp_path / "not-yet.h5") == 0 and not (tmp_path / "not-yet.h5").exists()
    skipped = tail(path, "--skip", 137)
    assert skipped.returncode == 0 and skipped.stdout.splitlines() == whole[137:]
    beyond = tail(path, "--skip", len(whole) + 5)
    assert beyond.returncode == 0 and beyond.stdout == ""
    assert f"holds {len(whole)} events, fewer than the {len(whole) + 5} to skip" in beyond.stderr


class Killed(BaseException):
    """The writer process dying, in the middle of a commit."""


def test_count_finishes_a_commit_cut_short(tmp_path, monkeypatch):
    """A killed ingest may leave a journalled commit that the next ingest replays: the count
    must include it, or the resumed mirror would hold those events twice."""
    mirror = tmp_path / "mirror.h5"
    events = farm_events(43, runs=20)
    write(mirror, events[:100])
    writer = EventWriter(str(mirror))
    for event in events[100:150]:
        writer.write(event)

    def die(_h5, _entry):
        raise Killed  # after the journal was written and fsynced, before the append

    monkeypatch.setattr(store.writer, "_append", die)
    with pytest.raises(Killed):
        writer.flush()
    monkeypatch.undo()
    assert os.path.getsize(f"{mirror}.journal") > 0
    assert len(tail(mirror).stdout.splitlines()) == 100, "a reader sees the last commit only"
    assert count(mirror) == 150 and not os.path.exists(f"{mirror}.journal")
    assert [json.loads(line) for line in tail(mirror).stdout.splitlines()] == \
        [json.loads(line) for line in _tail_of(events[:150], tmp_path)]


def _tail_of(events: list[dict], tmp_path) -> list[str]:
    """`tail` of a file holding exactly these events."""
    path = tmp_path / "expected.h5"
    write(path, events)
    return tail(path).stdout.splitlines()


class Mirror:
    """`tail --follow --skip N SRC | ingest MIRROR`: two processes and a real pipe."""

    def __init__(self, source, mirror) -> None:
        self.mirror = mirror
        self.skip = count(mirror)
        read, write_end = os.pipe()
        self.tail = subprocess.Popen(
            [*TRMON, "tail", str(source), "--follow", "--poll", "0.05", "--skip",
             str(self.skip)], stdout=write_end, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.ingest = subprocess.Popen([*TRMON, "ingest", str(mirror)], stdin=read,
                                       stderr=subprocess.PIPE, text=True)
        os.close(read)
        os.close(write_end)

    def wait_for_events(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while count(self.mirror) < n:
            assert time.monotonic() < deadline, f"the mirror did not reach {n} events"
            assert self.ingest.poll() is None, self.ingest.stderr.read()
            time.sleep(0.1)

    def end(self) -> tuple[str, str]:
        """Wait for both ends to finish; their stderr."""
        self.tail.wait(timeout=60)
        self.ingest.wait(timeout=60)
        return self.tail.stderr.read(), self.ingest.stderr.read()


def test_a_cut_mirror_resumes_without_a_lost_or_repeated_event(tmp_path):
    source, mirror = tmp_path / "lab2.h5", tmp_path / "mirror" / "lab2.h5"
    mirror.parent.mkdir()
    write(source, farm_events(42, runs=60))  # requests with attributes, errors, unknown names
    history = count(source)
    writer = subprocess.Popen([sys.executable, HELPER, "write", str(source), "--count",
                               "16000", "--batch", "320", "--rate", "3200", "--interval",
                               "0.05"], stdout=subprocess.DEVNULL)
    try:
        # The link drops: the remote tail dies mid-stream; ingest commits what it read.
        first = Mirror(source, mirror)
        first.wait_for_events(history + 1500)
        first.tail.kill()
        tail_err, ingest_err = first.end()
        assert "Traceback" not in tail_err + ingest_err
        # The local ingest is killed: what it had not committed is sent again.
        second = Mirror(source, mirror)
        assert second.skip >= history + 1500
        second.wait_for_events(second.skip + 1500)
        second.ingest.kill()
        tail_err, _ = second.end()
        assert second.tail.returncode == 0 and "Traceback" not in tail_err, tail_err
        # Once more, to the end of what the writer writes.
        third = Mirror(source, mirror)
        assert writer.wait(timeout=120) == 0
        third.wait_for_events(count(source))
        third.tail.send_signal(signal.SIGINT)
        tail_err, ingest_err = third.end()
        assert third.tail.returncode == third.ingest.returncode == 0, tail_err + ingest_err
    finally:
        writer.kill()
        writer.wait()
    got, want = tail(mirror), tail(source)
    assert got.returncode == want.returncode == 0
    mirrored = [json.loads(line) for line in got.stdout.splitlines()]
    original = [json.loads(line) for line in want.stdout.splitlines()]
    assert len(mirrored) == len(original)
    differ = [i for i, (a, b) in enumerate(zip(mirrored, original, strict=True)) if a != b]
    assert not differ, (differ[0], mirrored[differ[0]], original[differ[0]])
    assert count(mirror) == history + 16000
