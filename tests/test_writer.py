"""EventWriter: columns validation, threads, two writer processes, lookup of one testrun."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tables
from writer_proc import columns, generation_prefix, read_events

from store import lookup
from store.validate import InvalidEvent
from store.writer import EventWriter

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")


def test_write_columns_rejects_naming_the_first_bad_row(tmp_path):
    path = str(tmp_path / "f.h5")
    with EventWriter(path) as writer:
        cols = columns(0, 0, 20)
        cols["received"] = cols["received"].copy()
        cols["received"][7] = np.nan
        with pytest.raises(InvalidEvent, match="row 7: received must be a finite number"):
            writer.write_columns(cols)
        cols = columns(0, 0, 20)
        cols["device_group"] = cols["device_group"].astype("U20")
        cols["device_group"][11] = "elsewhere"
        with pytest.raises(InvalidEvent, match="row 11: testrun 'g0-2' names device group "
                                               "'elsewhere', but 'grp' at row 10"):
            writer.write_columns(cols)
        cols = columns(0, 6, 10)  # testrun g0-1 without its request
        with pytest.raises(InvalidEvent, match="row 0: testrun 'g0-1' has no known device"):
            writer.write_columns(cols)
        cols = columns(0, 0, 10)
        cols["testrun_id"] = cols["testrun_id"].astype("U80")
        cols["testrun_id"][3] = "y" * 70
        with pytest.raises(InvalidEvent, match="row 3: testrun_id is 70 bytes"):
            writer.write_columns(cols)
        cols = columns(0, 0, 10)
        cols["hosts"] = np.where(cols["event"] == "request", '[["w1", 1]]', "")
        cols["hosts"][5] = "not json"
        with pytest.raises(InvalidEvent, match="row 5: hosts is not JSON"):
            writer.write_columns(cols)
        cols["hosts"][5] = '[["w1", 1]]'
        writer.write_columns(cols)
    events = read_events(path)
    assert len(events) == 10 and events[0]["hosts"] == [["w1", 1]]
    assert events[1].get("device_group") is None


def test_threads_write_concurrently(tmp_path):
    path = str(tmp_path / "f.h5")
    with EventWriter(path, interval=0.01) as writer:
        def worker(gen):
            for start in range(0, 2000, 100):
                writer.write_columns(columns(gen, start, start + 100))
        threads = [threading.Thread(target=worker, args=(g,)) for g in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    events = read_events(path)
    assert [generation_prefix(events, g) for g in range(4)] == [2000] * 4


def test_two_writer_processes_share_the_file(tmp_path):
    path = str(tmp_path / "f.h5")
    EventWriter(path).close()
    procs = [subprocess.Popen([sys.executable, HELPER, "write", path, "--gen", str(g),
                               "--count", "5000", "--batch", "250", "--interval", "0.01",
                               "--flush-each"], stdout=subprocess.DEVNULL) for g in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    events = read_events(path)
    assert generation_prefix(events, 1) == generation_prefix(events, 2) == 5000
    assert all(e["device_group"] == "grp" for e in events if e["event"] == "request")


def test_unknown_names_and_lookup(tmp_path):
    path = str(tmp_path / "f.h5")
    with EventWriter(path) as writer:
        writer.write_columns(columns(0, 0, 50))
        writer.write({"testrun_id": "g0-3", "event": "coffee_break", "emit": 1.5})
        writer.write({"testrun_id": "g0-3", "event": "error", "emit": 2.5, "error": "E: boom"})
    events = lookup.testrun_events(path, "g0-3")
    assert [e["event"] for e in events] == ["request", "queue_start", "queue_end", "test_start",
                                            "publish", "coffee_break", "error"]
    assert events[0]["device_group"] == "grp" and events[-1]["error"] == "E: boom"
    assert lookup.testrun_events(path, "nope") == []


HOLDER = """
import sys, time
from store import h5io
h5 = h5io.open_with_retry(sys.argv[1], "r")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
h5.close()
"""


def test_lock_contention_prints_no_hdf5_error_stacks(tmp_path):
    """The commit thread retries a locked file silently: no HDF5-DIAG stack on stderr."""
    path = str(tmp_path / "f.h5")
    EventWriter(path).close()
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(HELPER)))
    writer = subprocess.Popen([sys.executable, HELPER, "write", path, "--count", "4000",
                               "--batch", "100", "--rate", "4000", "--interval", "0.01"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert writer.stdout.readline().strip() == "ready"
    for _ in range(3):  # readers take the lock while the background thread commits
        holder = subprocess.run([sys.executable, "-c", HOLDER, path, "0.2"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert holder.returncode == 0, holder.stderr
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert "done 4000" in out
    assert not [line for line in err.splitlines() if line.startswith("HDF5-DIAG")], err
    assert len(read_events(path)) == 4000


@pytest.mark.parametrize("n", [10, 200])  # below and above the hashing threshold of unique()
def test_columns_fast_and_exact_paths_agree(tmp_path, n):
    """ASCII columns take a vectorised path, others the per-value one: same rules, same rows."""
    path = str(tmp_path / "f.h5")
    bad = n // 2 // 5 * 5 + 1  # a non-request row of a testrun whose request came earlier
    cases = [("testrun_id", "a\x00b", "testrun_id contains a NUL character"),
             ("testrun_id", "\x00ab", "testrun_id contains a NUL character"),
             ("testrun_id", "x" * 65, "testrun_id is 65 bytes long in UTF-8; the limit is 64"),
             ("testrun_id", "ä" * 33, "testrun_id is 66 bytes long in UTF-8; the limit is 64"),
             ("testrun_id", "\ud800", r"testrun_id is not valid Unicode text \(lone surrogate\)"),
             ("event", "", "event is empty"),
             ("device_group", "g\x00h", "device_group contains a NUL character"),
             ("error", "\x00boom", "error contains a NUL character"),
             ("error", "é" * 129, "error is 258 bytes long in UTF-8; the limit is 256")]
    with EventWriter(path) as writer:
        for key, value, message in cases:
            cols = columns(0, 0, n)
            cols.setdefault(key, np.full(n, ""))
            cols[key] = cols[key].astype("U200")
            cols[key][bad] = value
            with pytest.raises(InvalidEvent, match=f"^row {bad}: {message}"):
                writer.write_columns(cols)
        cols = columns(0, 0, n)
        cols["testrun_id"] = np.char.add(cols["testrun_id"], "-ä")  # UTF-8: the exact path
        cols["device_group"] = np.where(cols["event"] == "request", "grüppe", "")
        writer.write_columns(cols)
        writer.write_columns(columns(1, 0, n))
    events = read_events(path)
    assert len(events) == 2 * n
    assert events[0]["testrun_id"] == "g0-0-ä" and events[0]["device_group"] == "grüppe"
    assert events[n]["testrun_id"] == "g1-0" and events[n]["device_group"] == "grp"


def test_writer_waits_for_a_reader_handle_of_its_own_process(tmp_path):
    """A reader thread between HDF5's open and PyTables' registry (a real window: CI once failed
    a writer there) holds the file like a lock: the writer retries instead of giving up."""
    path = str(tmp_path / "f.h5")
    with EventWriter(path) as writer:
        writer.write_columns(columns(0, 0, 10))
    reader = tables.open_file(path, "r")
    tables.file._open_files.remove(reader)  # the state just before PyTables registers it

    def close_soon():
        time.sleep(0.3)
        tables.file._open_files.add(reader)
        reader.close()

    closer = threading.Thread(target=close_soon)
    closer.start()
    try:
        with EventWriter(path) as writer:
            writer.write_columns(columns(0, 10, 20))
    finally:
        closer.join()
    assert len(read_events(path)) == 20
