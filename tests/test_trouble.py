"""store.trouble: real files in trouble, the reader's structured reason, and the one decision
per command (a one-shot command waits on a lock and a failed read, gives up on the rest; a
follower always waits)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import farm_events, write

from store.tail import TailReader
from store.trouble import LOCK_PATIENCE, RETRY_PATIENCE, Trouble, decide

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")


def _status(path):
    return TailReader(str(path)).poll().status


def test_missing_empty_foreign_and_a_directory_are_given_up_at_once(tmp_path):
    junk, empty, folder = tmp_path / "junk.h5", tmp_path / "empty.h5", tmp_path / "dir.h5"
    junk.write_bytes(b"not hdf5 at all\n" * 10)
    empty.write_bytes(b"")
    folder.mkdir()
    cases = {tmp_path / "gone.h5": (Trouble.MISSING, "does not exist", True),
             empty: (Trouble.EMPTY, "is empty", False),
             junk: (Trouble.FOREIGN, "is not an HDF5 file", True),
             folder: (Trouble.FOREIGN, "is a directory, not an event file", True)}
    for path, (reason, words, failed) in cases.items():
        status = _status(path)
        assert status.reason == reason and status.since is not None
        decision = decide(status, follow=False, path=str(path), now=status.since)
        assert not decision.wait and decision.failed == failed
        assert decision.give_up == f"{path} {words}"  # no "; waiting for ..." promise
        assert "waiting" in status.message  # what a follower shows
        assert decide(status, follow=True).wait


def test_a_lock_is_waited_for_30_s_then_given_up(tmp_path):
    path = tmp_path / "held.h5"
    write(path, farm_events(1))
    holder = subprocess.Popen([sys.executable, HELPER, "hold", str(path), "30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        status = _status(path)  # the first poll: not yet "locked" on screen
    finally:
        holder.kill()
        holder.wait()
    assert status.reason == Trouble.LOCKED and status.state != "locked"
    assert decide(status, follow=False, now=status.since + LOCK_PATIENCE - 1).wait
    late = decide(status, follow=False, now=status.since + LOCK_PATIENCE + 1)
    assert not late.wait and late.failed and "locked by another process" in late.give_up
    assert decide(status, follow=True, now=status.since + 3600).wait


def test_a_failed_read_is_retried_for_a_second(tmp_path):
    path = tmp_path / "cut.h5"
    write(path, farm_events(2))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # an HDF5 signature, then nothing that opens
    status = _status(path)
    assert status.reason in (Trouble.RETRYING, Trouble.DAMAGED)
    if status.reason == Trouble.RETRYING:
        assert decide(status, follow=False, now=status.since + RETRY_PATIENCE / 2).wait
    gave_up = decide(status, follow=False, now=status.since + RETRY_PATIENCE + 1)
    assert not gave_up.wait and gave_up.failed and str(path) in gave_up.give_up


def test_a_live_file_is_done_and_carries_no_reason(tmp_path):
    path = tmp_path / "ok.h5"
    write(path, farm_events(3))
    status = _status(path)
    assert status.state == "live" and status.reason == "" and status.since is None
    assert decide(status, follow=False) == decide(status, follow=False, now=0.0)
    assert not decide(status, follow=False).wait and not decide(status, follow=False).give_up
