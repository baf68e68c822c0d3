"""store.multi: several real event files read as one, against each file read alone."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import tables
from conftest import farm_events, write

from store.batch import Batch, Reset
from store.catalog import Catalog
from store.multi import MultiTail
from store.sources import Source, file_summaries, parse_sources
from store.stats import StatsEngine
from store.tail import TailReader

NOW = 1_790_100_000.0
# The seed file's group "lab-0" is not a Python identifier: PyTables says so, harmlessly.
pytestmark = pytest.mark.filterwarnings("ignore::tables.NaturalNameWarning")
HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")


def seed_file(path) -> None:
    """A small file of the seed spike's layout (times in minutes, a group per device group)."""
    desc = {"testrun_id": tables.StringCol(16, pos=0), "ev_name": tables.StringCol(16, pos=1),
            "emit": tables.Int64Col(pos=2), "received": tables.Int64Col(pos=3)}
    rows = {"lab-0": [("tr-000", "request", 0, 0), ("tr-000", "queue_start", 1, 1),
                      ("tr-000", "queue_end", 3, 3), ("tr-000", "publish", 9, 9),
                      ("s1", "request", 4, 4), ("s1", "zap", 5, 5)],
            "beta": [("b1", "request", 2, 2), ("b1", "error", 7, 7)]}
    with tables.open_file(str(path), "w") as h5:
        for group, events in rows.items():
            table = h5.create_table(h5.create_group("/", group), "events", desc)
            table.append([tuple(x.encode() if isinstance(x, str) else x for x in row)
                          for row in events])


def read_all(poll, engine: StatsEngine, catalog: Catalog | None = None) -> list[dict]:
    """Poll until nothing is left; every event as a dict (when a catalog is given)."""
    events: list[dict] = []
    while True:
        result = poll()
        for item in result.items:
            engine.apply(item)
            if catalog is not None and isinstance(item, Reset):
                catalog.reset()
                events = []
            elif catalog is not None:
                catalog.apply(item)
                events += catalog.event_dicts(item)
        if not result.more:
            return events


def alone(path, **options) -> tuple[StatsEngine, list[dict]]:
    engine, catalog = StatsEngine(), Catalog()
    events = read_all(TailReader(str(path), **options).poll, engine, catalog)
    return engine, events


@pytest.fixture
def three(tmp_path):
    """Two product files whose testrun ids, groups and requestors coincide, and a seed file."""
    paths = [tmp_path / "north.h5", tmp_path / "south.h5", tmp_path / "spike.h5"]
    write(paths[0], farm_events(1))
    write(paths[1], farm_events(2, runs=30))
    seed_file(paths[2])
    return paths


@pytest.mark.parametrize("max_rows", [29, 500_000])
def test_each_group_equals_its_file_read_alone(three, max_rows):
    tail = MultiTail([Source(p.stem, str(p)) for p in three], max_rows=max_rows)
    engine, catalog = StatsEngine(), Catalog()
    per_file: list[list[dict]] = [[] for _ in three]
    while True:  # file by file, to know where each event came from
        for index in range(len(three)):
            for item in tail.poll(index).items:
                engine.apply(item)
                catalog.apply(item)
                per_file[index] += catalog.event_dicts(item)
        if not tail.more:
            break
    combined = engine.summary(now=NOW)
    groups, testruns = [], 0
    for path, events in zip(three, per_file, strict=True):
        single, single_events = alone(path)
        want = single.summary(now=NOW)
        for group, summary in want["groups"].items():
            assert combined["groups"][f"{path.stem}/{group}"] == summary, (path.stem, group)
            groups.append(f"{path.stem}/{group}")
        testruns += single.counts()["testruns"]
        # The events as `tail` prints them: the file's own, device groups named LABEL/GROUP.
        assert events == [{**e, "device_group": f"{path.stem}/{e['device_group']}"}
                          if "device_group" in e else e for e in single_events]
        assert file_summaries(tail, engine)[path.stem] == {
            "path": str(path), "events": len(single_events),
            "testruns": single.counts()["testruns"], "error": None,
            "checksums": path.stem != "spike",  # the seed layout has none
            "last_event": max(e["received"] for e in single_events)}
    assert sorted(combined["groups"]) == sorted(groups)
    # tr-000 of each file is its own testrun: the files' testruns add up.
    assert combined["all"]["testruns"] == testruns
    assert len(catalog.strings) == len(set(catalog.strings)), "strings deduplicated by value"
    assert "dev0@example.com" in catalog.strings and "north/dev0@example.com" not in \
        catalog.strings, "only device groups are renamed"


def test_one_file_passes_through_unchanged(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(3))
    tail = MultiTail([Source("farm", str(path))], max_rows=60)
    reader = TailReader(str(path), max_rows=60)
    while True:
        got, want = tail.poll(0), reader.poll()
        assert [repr(b) for b in got.items] == [repr(b) for b in want.items]
        for a, b in zip(got.items, want.items, strict=True):
            assert isinstance(a, Batch) and np.array_equal(a.events, b.events)
            assert np.array_equal(a.runs, b.runs) and a.new_strings == b.new_strings
        if not want.more:
            break
    engine = StatsEngine()
    read_all(MultiTail([Source("farm", str(path))]).poll_all, engine)
    assert sorted(engine.summary(now=NOW)["groups"]) == ["lab-0", "lab-1", "lab-2"]


def test_a_reset_of_one_file_reads_every_file_again(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    write(a, farm_events(4, runs=20))
    write(b, farm_events(5, runs=20))
    tail = MultiTail([Source("a", str(a)), Source("b", str(b))], max_rows=50)
    engine = StatsEngine()
    read_all(tail.poll_all, engine)
    replacement = tmp_path / "new.h5"
    write(replacement, farm_events(6, runs=25))
    os.replace(replacement, a)
    result = tail.poll_all()
    resets = [item for item in result.items if isinstance(item, Reset)]
    assert len(resets) == 1 and resets[0].reason.startswith("a: ") and \
        "every file is read again" in resets[0].reason
    assert result.more, "b must be read again"
    for item in result.items:
        engine.apply(item)
    read_all(tail.poll_all, engine)
    fresh = StatsEngine()
    read_all(MultiTail([Source("a", str(a)), Source("b", str(b))]).poll_all, fresh)
    got, want = engine.summary(now=NOW), fresh.summary(now=NOW)
    assert got["groups"] == want["groups"] and engine.counts() == fresh.counts()
    # "all" lists the ids of several files in the order they were delivered.
    for key in ("queued_ids", "ongoing_ids"):
        assert sorted(got["all"].pop(key)) == sorted(want["all"].pop(key))
    assert got["all"] == want["all"]


def test_bad_files_never_stop_the_others(tmp_path):
    good, missing, junk, locked = (tmp_path / f"{n}.h5" for n in ("good", "gone", "junk", "held"))
    write(good, farm_events(7, runs=15))
    junk.write_bytes(b"not an event file\n" * 50)
    write(locked, farm_events(8, runs=3))
    holder = subprocess.Popen([sys.executable, HELPER, "hold", str(locked), "60"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        sources = [Source(p.stem, str(p)) for p in (missing, junk, locked, good)]
        tail = MultiTail(sources, locked_patience=0.0)
        engine = StatsEngine()
        read_all(tail.poll_all, engine)
        files = file_summaries(tail, engine)
    finally:
        holder.kill()
        holder.wait()
    assert [s.state for s in tail.statuses] == ["waiting", "error", "locked", "live"]
    assert files["good"]["error"] is None and files["good"]["events"] == len(farm_events(7, 15))
    for label in ("gone", "junk", "held"):
        assert files[label]["error"] and files[label]["events"] == 0
    alone_engine, _ = alone(good)
    want = alone_engine.summary(now=NOW)["groups"]
    got = engine.summary(now=NOW)["groups"]
    assert {g: got[f"good/{g}"] for g in want} == want
    read_all(tail.poll_all, engine)  # the lock is gone: the held file is read too
    assert tail.statuses[2].state == "live" and engine.counts()["testruns"] == 18


def test_labels(tmp_path):
    (tmp_path / "x=y.h5").write_bytes(b"")
    os.chdir(tmp_path)
    assert parse_sources(["/data/lab2.h5", "eu=/data/lab2.h5", "x=y.h5", "lab3=x=y.h5",
                          "/srv/a=b.h5", "new=z.h5"]) == [
        Source("lab2", "/data/lab2.h5"), Source("eu", "/data/lab2.h5"),
        Source("x=y", "x=y.h5"), Source("lab3", "x=y.h5"), Source("a=b", "/srv/a=b.h5"),
        Source("new", "z.h5")]
    with pytest.raises(ValueError, match="two files have the label 'farm'.*LABEL=FILE"):
        parse_sources(["/a/farm.h5", "/b/farm.h5"])
    with pytest.raises(ValueError, match="given twice"):
        parse_sources(["farm.h5", "./farm.h5"])


def test_a_quiet_file_is_not_opened_until_its_stat_changes(tmp_path):
    """skip_quiet (the monitor's and the exporter's timer polls): a file unchanged since a
    poll that found nothing, settled, is not opened; a write, even one that leaves the size
    alone, opens it again; a file written just now is polled however still it looks."""
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    write(a, farm_events(4, runs=10))
    write(b, farm_events(5, runs=10))
    old = os.stat(a).st_mtime - 60
    os.utime(a, (old, old))  # a settled file
    soon = os.stat(b).st_mtime + 3600
    os.utime(b, (soon, soon))  # b: as if written just now, however slow this test runs
    tail = MultiTail([Source("a", str(a)), Source("b", str(b))])
    opens = [0, 0]
    for index, reader in enumerate(tail._readers):  # count the polls that open the file
        def counted(hold, _polls=reader.polls, _index=index):
            opens[_index] += 1
            return _polls(hold)
        reader.polls = counted
    engine = StatsEngine()
    read_all(lambda: tail.poll_all(skip_quiet=True), engine)
    first = engine.state.n_events
    assert first > 0 and opens == [1, 1]
    tail.poll_all(skip_quiet=True)  # found nothing: a's stat is remembered (b is too new)
    assert opens == [2, 2]
    for _ in range(3):
        result = tail.poll_all(skip_quiet=True)
        assert result.items == [] and tail.statuses[0].state == "live"
    assert opens == [2, 5]  # a is not opened again; b, not settled, is
    assert tail.poll_all().items == [] and opens == [3, 6]  # without skip_quiet: opened
    os.utime(a, (old + 1, old + 1))  # the stat moved: a is polled again
    tail.poll_all(skip_quiet=True)
    assert opens == [4, 7]
    write(a, farm_events(9, runs=2))  # rows appended: read, then the file is new (not settled)
    read_all(lambda: tail.poll_all(skip_quiet=True), engine)
    assert engine.state.n_events > first
