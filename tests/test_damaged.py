"""Damaged event files (issue 10): never a crash, never a traceback, one clear line.

A fixed seed makes a few dozen damaged copies of a product and a seed-layout file (damaged_files.py;
without store.vet a few of them kill the reading process by SIGSEGV).  Each goes through `report`
and, in one subprocess for all of them, through the monitor's reader, the detail look-up and a
writer.  Then the lifecycle: `tail --follow` and the monitor wait for a damaged file to be
replaced and resume; `ingest` refuses a damaged file and leaves it byte for byte as it was.
The long run (400+ copies, with counts) is tests/benchmarks/fuzz_damaged.py.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tables
from conftest import Follower
from damaged_files import damaged_copies
from writer_proc import columns, read_events

from store.writer import EventWriter

HELPER = os.path.join(os.path.dirname(__file__), "damaged_files.py")
HANG_GUARD = 20  # seconds: an answer slower than this is a hang (report answers in < 2 s)
COPIES = 30


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> list[str]:
    return damaged_copies(str(tmp_path_factory.mktemp("damaged")), COPIES, seed=1,
                          kinds=("bytes",) * 4 + ("truncate", "flip"))


def _report(path: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trmon_tui", "report", path, "--json"],
                          capture_output=True, text=True, timeout=HANG_GUARD)


def test_report_answers_every_damaged_copy_in_one_line(copies):
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(_report, copies))
    for path, result in zip(copies, results, strict=True):
        assert result.returncode in (0, 1), (path, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, (path, result.stderr)
        if result.returncode:
            (line,) = result.stderr.splitlines()
            assert line.startswith("trmon-tui report: ") and path in line, line
    damaged = [r for r in results if "is damaged" in r.stderr]
    assert len(damaged) >= COPIES // 3  # the copies are damaged where it shows


def test_the_monitors_reader_survives_every_damaged_copy(copies):
    out = subprocess.run([sys.executable, HELPER, "read", *copies], capture_output=True,
                         text=True, timeout=HANG_GUARD * 4)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["path"] for a in answers] == copies
    for answer in answers:
        assert not answer["failed"], answer  # no unexpected exception reached the worker
        if answer["state"] != "live":
            assert answer["path"] in answer["message"] and "\n" not in answer["message"]
        if "is damaged" in answer["message"]:
            assert "waiting for it to be repaired or replaced" in answer["message"]
            if "fail their checksum" not in answer["message"]:  # (rows: the others are read)
                assert "Damaged" in answer["lookup"] and "refusing to touch it" in \
                    answer["writer"]


@pytest.fixture(scope="module")
def damaged(copies) -> str:
    """A copy HDF5 crashes on, if the set has one (else one it fails on): the vetting child
    tells, without risk to this process."""
    from store import vet

    verdicts = {path: vet.vet(path) for path in copies}
    refused = [path for path, verdict in verdicts.items() if verdict not in ("ok", "locked")]
    crashed = [path for path in refused if verdicts[path].startswith("HDF5 crashed")]
    return (crashed or refused)[0]


class MonitorReader:
    """damaged_files.py follow: the monitor's tail loop, its status changes on a queue."""

    def __init__(self, path: str) -> None:
        self.proc = subprocess.Popen([sys.executable, HELPER, "follow", path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.changes: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=lambda: [self.changes.put(json.loads(line))
                                         for line in self.proc.stdout], daemon=True).start()

    def wait_for(self, state: str) -> dict:
        while True:
            change = self.changes.get(timeout=60)
            if change["state"] == state:
                return change

    def stop(self) -> tuple[int, str]:
        self.proc.stdin.close()
        return self.proc.wait(timeout=30), self.proc.stderr.read()


def test_follow_and_the_monitor_wait_for_a_damaged_file_to_be_replaced(tmp_path, copies,
                                                                       damaged):
    good = os.path.join(os.path.dirname(copies[0]), "product.h5")  # what they are copies of
    events = len(read_events(good))
    path = str(tmp_path / "events.h5")
    shutil.copyfile(damaged, path)
    follower, monitor = Follower(path), MonitorReader(path)
    message = follower.message()
    assert message.startswith(f"trmon-tui tail: {path} is damaged (")
    assert message.rstrip().endswith("waiting for it to be repaired or replaced")
    waiting = monitor.wait_for("error")
    assert "is damaged" in waiting["message"]
    shutil.copyfile(good, path + ".tmp")
    os.replace(path + ".tmp", path)  # the operator puts a good file in its place
    assert follower.message() == f"trmon-tui tail: {path} is readable now; following it\n"
    assert len(follower.take(events)) == events  # the good file's events, each once
    assert monitor.wait_for("live")["rows"] == events
    code, err = follower.stop()
    assert code == 0 and "Traceback" not in err
    code, err = monitor.stop()
    assert code == 0 and "Traceback" not in err


def _rewrite_in_place(path: str, data: bytes) -> None:
    """What `cp SOURCE path` does to an existing file: same inode, new bytes."""
    inode = os.stat(path).st_ino
    with open(path, "r+b") as handle:
        handle.truncate(0)
        handle.write(data)
    assert os.stat(path).st_ino == inode


def test_a_followed_file_rewritten_in_place_with_damage_crashes_no_reader(tmp_path, copies,
                                                                         damaged):
    # The copy is as long as the file and written later: size and mtime only grow, as they
    # do when a writer appends.  Only the ctime-based check catches it (issue 19).
    good = os.path.join(os.path.dirname(copies[0]), "product.h5")
    with open(good, "rb") as handle:
        good_bytes = handle.read()
    with open(damaged, "rb") as handle:
        damaged_bytes = handle.read()
    assert len(damaged_bytes) == len(good_bytes)
    events = len(read_events(good))
    path = str(tmp_path / "events.h5")
    shutil.copyfile(good, path)
    follower, monitor = Follower(path), MonitorReader(path)
    assert len(follower.take(events)) == events
    assert monitor.wait_for("live")["rows"] == events
    _rewrite_in_place(path, damaged_bytes)
    assert "is damaged" in follower.said("is damaged")
    assert "is damaged" in monitor.wait_for("error")["message"]
    assert follower.proc.poll() is None and monitor.proc.poll() is None
    _rewrite_in_place(path, good_bytes)  # repaired in place
    assert follower.said("readable now") == f"trmon-tui tail: {path} is readable now; " \
        "following it\n"
    assert monitor.wait_for("live")["rows"] == events
    code, err = follower.stop()
    assert code == 0 and "Traceback" not in err
    code, err = monitor.stop()
    assert code == 0 and "Traceback" not in err


def test_ingest_refuses_a_damaged_file_and_leaves_it_untouched(tmp_path, damaged):
    path = tmp_path / "events.h5"
    shutil.copyfile(damaged, path)
    before = path.read_bytes()
    line = '{"testrun_id": "x", "event": "request", "emit": 1, "device_group": "g"}\n'
    result = subprocess.run([sys.executable, "-m", "trmon_tui", "ingest", str(path)],
                            input=line, capture_output=True, text=True, timeout=HANG_GUARD)
    assert result.returncode == 2
    assert result.stderr.startswith(f"trmon-tui ingest: {path} is damaged (")
    assert "refusing to touch it" in result.stderr and len(result.stderr.splitlines()) == 1
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["events.h5"]  # no journal or temporary file left


def test_a_product_table_with_other_columns_is_damaged(tmp_path):
    # Damage can leave a readable table with other columns under a product table's name:
    # delivered as is, its rows broke the statistics (a traceback from `report`).
    path = str(tmp_path / "events.h5")
    with EventWriter(path) as writer:
        writer.write_columns(columns(0, 0, 10))
    with tables.open_file(path, "a") as h5:
        h5.remove_node("/runs")
        h5.create_table("/", "runs", np.zeros(2, dtype=[("testrun_jd", "S64"), ("group", "<i4")]))
    result = _report(path)
    assert result.returncode == 1
    assert result.stderr == f"trmon-tui report: {path} is damaged (/runs is not a trmon-tui runs " \
        "table)\n"
