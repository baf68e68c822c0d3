"""TailReader on every bad or changing file: a clear Status, a Reset, never an exception."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import tables
from writer_proc import columns, read_events

from store import journal, schema
from store.batch import Batch, Reset
from store.tail import TailReader
from store.writer import EventWriter

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")


def _write(path, gen=0, count=50):
    with EventWriter(str(path)) as writer:
        writer.write_columns(columns(gen, 0, count))


def _drain(reader):
    """Poll until caught up; returns (items, last status)."""
    items = []
    while True:
        result = reader.poll()
        items.extend(result.items)
        if not result.more:
            return items, result.status


def _events(items):
    return sum(len(i) for i in items if isinstance(i, Batch))


def test_reads_only_new_rows_each_exactly_once(tmp_path):
    path = tmp_path / "f.h5"
    _write(path, count=30)
    reader = TailReader(str(path), max_rows=7)
    items, status = _drain(reader)
    assert _events(items) == 30 and status.state == "live" and status.file_format == "trmon"
    assert reader.poll().items == []
    with EventWriter(str(path)) as writer:
        writer.write_columns(columns(0, 30, 45))
    items, status = _drain(reader)
    assert [i.first_event_row for i in items if isinstance(i, Batch) and len(i)][0] == 30
    assert _events(items) == 15 and status.rows_read == 45 == status.rows_total


def test_missing_file_waits_then_reads(tmp_path):
    path = tmp_path / "later.h5"
    reader = TailReader(str(path))
    result = reader.poll()
    assert result.status.state == "waiting"
    assert "does not exist yet; waiting" in result.status.message
    _write(path)
    assert _events(_drain(reader)[0]) == 50


def test_empty_file(tmp_path):
    path = tmp_path / "empty.h5"
    path.write_bytes(b"")
    result = TailReader(str(path)).poll()
    assert result.status.state == "waiting" and "is empty" in result.status.message


def test_not_hdf5(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(os.urandom(5000))
    result = TailReader(str(path)).poll()
    assert result.status.state == "error"
    assert "is not an HDF5 file" in result.status.message


def test_foreign_hdf5_and_hdf5_without_tables(tmp_path):
    path = tmp_path / "other.h5"
    with tables.open_file(str(path), "w") as h5:
        pass
    result = TailReader(str(path)).poll()
    assert result.status.state == "waiting" and "has no tables yet" in result.status.message
    with tables.open_file(str(path), "w") as h5:
        h5.create_array("/", "measurements", np.arange(10))
    result = TailReader(str(path)).poll()
    assert result.status.state == "error"
    assert "holds other HDF5 data" in result.status.message


def test_locked_by_a_writer_that_keeps_it_open(tmp_path):
    path = tmp_path / "held.h5"
    _write(path)
    holder = subprocess.Popen([sys.executable, HELPER, "hold", str(path), "30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        reader = TailReader(str(path), locked_patience=0.5)
        deadline = time.monotonic() + 10
        status = reader.poll().status
        while status.state != "locked" and time.monotonic() < deadline:
            time.sleep(0.05)
            status = reader.poll().status
        assert status.state == "locked"
        assert "locked by another process" in status.message and "still trying" in status.message
    finally:
        holder.kill()
        holder.wait()
    assert _events(_drain(reader)[0]) == 50


def test_replaced_by_rename(tmp_path):
    path = tmp_path / "f.h5"
    _write(path, gen=0, count=40)
    reader = TailReader(str(path))
    assert _events(_drain(reader)[0]) == 40
    other = tmp_path / "new.h5"
    _write(other, gen=1, count=60)  # longer: only the file id can tell
    os.replace(other, path)
    items, status = _drain(reader)
    assert isinstance(items[0], Reset) and "was replaced" in items[0].reason
    assert items[1].first_event_row == 0 and _events(items) == 60


def test_deleted_and_recreated(tmp_path):
    path = tmp_path / "f.h5"
    _write(path, gen=0, count=40)
    reader = TailReader(str(path))
    _drain(reader)
    os.remove(path)
    result = reader.poll()
    assert isinstance(result.items[0], Reset) and "was deleted" in result.items[0].reason
    assert result.status.state == "waiting"
    _write(path, gen=1, count=10)
    assert _events(_drain(reader)[0]) == 10
    os.remove(path)  # recreated between two polls: the file id tells
    _write(path, gen=2, count=70)
    items, _ = _drain(reader)
    assert isinstance(items[0], Reset) and _events(items) == 70


def test_truncated(tmp_path):
    path = tmp_path / "f.h5"
    _write(path, count=50)
    reader = TailReader(str(path))
    _drain(reader)
    with tables.open_file(str(path), "a") as h5:
        h5.root.events.truncate(20)
    items, _ = _drain(reader)
    assert isinstance(items[0], Reset) and "truncated" in items[0].reason
    assert _events(items) == 20


def test_never_advances_past_an_invalid_row(tmp_path):
    path = tmp_path / "f.h5"
    _write(path, count=10)
    with tables.open_file(str(path), "a") as h5:
        bad = np.zeros(3, dtype=schema.EVENT_DTYPE)
        bad["run"] = 999  # refers to a run that does not exist
        h5.root.events.append(bad)
        h5.root._v_attrs.trmon_commit = json.dumps(schema.row_counts(h5))
    reader = TailReader(str(path), invalid_patience=0.2)
    assert _events(_drain(reader)[0]) == 10
    time.sleep(0.3)
    result = reader.poll()
    assert result.items == [] and result.status.state == "error"
    assert "row 10" in result.status.message and "stayed invalid" in result.status.message
    with tables.open_file(str(path), "a") as h5:  # repaired: reading resumes at that row
        h5.root.events.modify_column(10, 13, column=[0, 0, 0], colname="run")
    assert _events(_drain(reader)[0]) == 3


def test_rows_of_an_unfinished_commit_are_held_back(tmp_path):
    path = tmp_path / "f.h5"
    _write(path, count=10)
    with tables.open_file(str(path), "a") as h5:
        pre = schema.row_counts(h5)
        file_id = h5.root._v_attrs.trmon_file_id
        extra = np.zeros(5, dtype=schema.EVENT_DTYPE)
        h5.root.events.append(extra)  # a crashed writer's half commit
        h5.root._v_attrs.trmon_commit = json.dumps(schema.row_counts(h5))
    rows = {name: np.zeros(0, dtype) for name, dtype in schema.TABLES.items()}
    rows["events"] = np.zeros(5, schema.EVENT_DTYPE)
    with journal.JournalLock(str(path)) as lock:
        lock.write(journal.Entry(file_id=file_id, pre=pre, rows=rows))
    assert _events(_drain(TailReader(str(path)))[0]) == 10
    EventWriter(str(path)).close()  # recovery: truncate to pre, replay the 5 rows once
    assert len(read_events(str(path))) == 15


def test_an_invalid_request_row_holds_back_its_event(tmp_path):
    path = tmp_path / "f.h5"
    _write(path, count=10)
    with tables.open_file(str(path), "a") as h5:
        first = h5.root.events.nrows
        events = np.zeros(2, dtype=schema.EVENT_DTYPE)  # two more requests of run 0
        events["code"] = schema.CODE["request"]
        h5.root.events.append(events)
        requests = np.zeros(2, dtype=schema.REQUEST_DTYPE)
        requests["event_row"] = [first, first + 1]
        requests["requestor"] = [0, 10**6]  # the second names a string that does not exist
        h5.root.requests.append(requests)
        h5.root._v_attrs.trmon_commit = json.dumps(schema.row_counts(h5))
    items, _ = _drain(TailReader(str(path)))
    assert _events(items) == first + 1  # up to the event whose request row is bad


def _locked_for_others(path) -> bool:
    """Whether another process finds the file locked (a reader holds it open)."""
    probe = "import sys; from store import h5io; h = h5io.try_open(sys.argv[1], 'a'); " \
            "print(h is None); h is None or h.close()"
    out = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True,
                         text=True, check=True, cwd=os.path.dirname(HELPER) + "/..")
    return out.stdout.strip() == "True"


def test_polls_with_hold_keep_the_file_open_only_while_catching_up(tmp_path):
    path = tmp_path / "f.h5"
    _write(path, count=50)
    reader = TailReader(str(path), max_rows=7)
    polls = reader.polls(hold=60.0)
    result = next(polls)
    items = list(result.items)
    assert result.more and _locked_for_others(path)  # reading on through the open file
    while result.more:
        result = next(polls)
        items.extend(result.items)
    assert not _locked_for_others(path)  # caught up: closed
    got = np.concatenate([i.events for i in items if isinstance(i, Batch)])
    with tables.open_file(str(path)) as h5:
        assert got.tolist() == h5.root.events.read().tolist()  # every row once, in order
    polls.close()
