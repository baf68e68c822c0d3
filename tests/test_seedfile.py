"""The seed spike's layout: read-only, minutes -> seconds, groups as device groups."""

from __future__ import annotations

import json
import subprocess
import sys

import tables

from store.batch import Batch
from store.catalog import Catalog
from store.tail import TailReader


class SpikeEvent(tables.IsDescription):
    testrun_id = tables.StringCol(16)
    ev_name = tables.StringCol(16)
    emit = tables.Int32Col()
    received = tables.Int32Col()


def _make_seed(path):
    with tables.open_file(str(path), "w", title="demo") as h5:
        for group, runs in (("device_group_1", ("0", "1")), ("device_group_2", ("0",))):
            table = h5.create_table(h5.create_group("/", group), "events", SpikeEvent)
            row = table.row
            for tid in runs:
                for k, name in enumerate(("request", "queue_start", "publish")):
                    row["testrun_id"], row["ev_name"] = tid, name
                    row["emit"], row["received"] = 10 + k, 11 + k
                    row.append()
            table.flush()


def test_seed_layout_batches(tmp_path):
    path = tmp_path / "spike.h5"
    _make_seed(path)
    reader = TailReader(str(path), max_rows=4)
    catalog, events, batches = Catalog(), [], []
    while True:
        result = reader.poll()
        for batch in result.items:
            assert isinstance(batch, Batch)
            catalog.apply(batch)
            batches.append(batch)
            events.extend(catalog.event_dicts(batch))
        if not result.more:
            break
    assert result.status.file_format == "seed" and result.status.rows_read == 9
    assert len(events) == 9
    assert events[0] == {"testrun_id": "0", "event": "request", "emit": 600.0,
                         "received": 660.0, "device_group": "device_group_1"}
    # testrun "0" of group 2 is a different testrun from "0" of group 1: dense runs 0, 1, 2
    assert catalog.testrun_ids == ["0", "1", "0"]
    assert [catalog.device_group(r) for r in range(3)] == ["device_group_1"] * 2 + \
        ["device_group_2"]
    requests = [r for b in batches for r in b.requests.tolist()]
    assert len(requests) == 3 and all(r[2:6] == (0, 0, 0, 0) for r in requests)
    assert catalog.strings[0] == ""
    with tables.open_file(str(path)) as h5:  # read-only: untouched
        assert h5.root.device_group_1.events.nrows == 6
        assert not hasattr(h5.root, "events")


def test_tail_prints_seed_file(tmp_path):
    path = tmp_path / "spike.h5"
    _make_seed(path)
    out = subprocess.run([sys.executable, "-m", "trmon_tui", "tail", str(path)],
                         capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and len(lines) == 9
    assert lines[-1]["event"] == "publish" and lines[-1]["emit"] == 720.0


def test_unique_bytes_matches_numpy(monkeypatch):
    import numpy as np

    from store import seedfile

    rng = np.random.default_rng(5)
    pool = np.array([b"", b"a", b"a\x00b", b"tr-0000001", b"tr-0000010", b"x" * 17, b"\xff\x80",
                     b"queue_end", b"queue_start"])
    for width in ("S16", "S17", "S3"):
        values = pool[rng.integers(0, len(pool), 500)].astype(width)
        got, want = seedfile.unique_bytes(values), np.unique(values, return_inverse=True)
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
    # A hash collision falls back to the exact path.
    monkeypatch.setattr(seedfile, "_hash", lambda v: np.zeros(len(v), np.uint64))
    values = pool[rng.integers(0, len(pool), 100)]
    got, want = seedfile.unique_bytes(values), np.unique(values, return_inverse=True)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


def test_seed_names_and_ids_across_batches(tmp_path):
    path = tmp_path / "spike.h5"
    names = ("request", "custom_step", "publish", "custom_step", "héllo")
    with tables.open_file(str(path), "w") as h5:
        table = h5.create_table(h5.create_group("/", "g"), "events", SpikeEvent)
        row = table.row
        for k, (tid, name) in enumerate(zip(("b", "a", "b", "c", "a"), names, strict=True)):
            row["testrun_id"], row["ev_name"] = tid, name.encode()
            row["emit"] = row["received"] = k
            row.append()
        table.flush()
    reader, catalog, events = TailReader(str(path), max_rows=2), Catalog(), []
    while True:
        result = reader.poll()
        for batch in result.items:
            catalog.apply(batch)
            events.extend(catalog.event_dicts(batch))
        if not result.more:
            break
    assert [e["event"] for e in events] == list(names)
    assert [e["testrun_id"] for e in events] == ["b", "a", "b", "c", "a"]
    # Within one batch new testruns take runs in the byte order of their ids.
    assert catalog.testrun_ids == ["a", "b", "c"]


def _read_all(path, max_rows):
    reader, batches = TailReader(str(path), max_rows=max_rows), []
    while True:
        result = reader.poll()
        batches.extend(result.items)
        if not result.more:
            return batches


def test_seed_conversion_split_between_threads_is_the_same(tmp_path, monkeypatch):
    """A large span's ids are made unique in two halves (one in a helper thread) and merged:
    the runs, codes and run rows are those of converting it whole, for ids met in either or
    both halves, non-ASCII and undecodable ones, and unknown event names."""
    import numpy as np

    from store import seedfile

    rng = np.random.default_rng(7)
    ids = np.array([b"a", b"tr-0001", b"tr-0002", b"\xff\xfe", "é".encode(), b"x" * 16,
                    b"tr-0003"], dtype="S16")
    names = np.array([b"request", b"queue_start", b"test_end", b"reboot", b"\xc3("],
                     dtype="S16")
    path = tmp_path / "spike.h5"
    with tables.open_file(str(path), "w") as h5:
        for group in ("g1", "g2"):
            rows = np.zeros(301, dtype=[("testrun_id", "S16"), ("ev_name", "S16"),
                                        ("emit", "<i4"), ("received", "<i4")])
            rows["testrun_id"] = ids[rng.integers(0, len(ids), len(rows))]
            rows["testrun_id"][:150] = ids[rng.integers(0, 3, 150)]  # some only in one half
            rows["ev_name"] = names[rng.integers(0, len(names), len(rows))]
            rows["emit"] = rows["received"] = np.arange(len(rows))
            h5.create_table(h5.create_group("/", group), "events", obj=rows)
    whole = _read_all(path, 120)
    monkeypatch.setattr(seedfile, "SPLIT_ROWS", 2)
    split = _read_all(path, 120)
    assert len(whole) == len(split) > 2
    for a, b in zip(whole, split, strict=True):
        assert a.new_strings == b.new_strings and a.new_names == b.new_names
        assert np.array_equal(a.events, b.events) and np.array_equal(a.runs, b.runs)
        assert np.array_equal(a.requests, b.requests)
