"""StatsEngine fed by the real TailReader while a file grows: equal to a cold read."""

from __future__ import annotations

from conftest import farm_events

from store.stats import StatsEngine
from store.tail import TailReader
from store.writer import EventWriter

NOW = 1_790_100_000.0


def read_all(reader: TailReader, engine: StatsEngine) -> None:
    while True:
        result = reader.poll()
        for item in result.items:
            engine.apply(item)
        if not result.more:
            return


def test_growing_file_tiny_polls_equal_cold(tmp_path):
    path = str(tmp_path / "grow.h5")
    events = farm_events(7, runs=30)
    live, reader = StatsEngine(), TailReader(path, max_rows=7)
    with EventWriter(path) as writer:
        for k in range(0, len(events), 23):
            for e in events[k : k + 23]:
                writer.write(e)
            writer.flush()
            read_all(reader, live)
    read_all(reader, live)
    cold = StatsEngine()
    read_all(TailReader(path), cold)
    assert live.counts() == cold.counts() == {"events": len(events), "testruns": 30}
    assert live.summary(now=NOW) == cold.summary(now=NOW)
    a, b = live.segments(now=NOW, limit=30), cold.segments(now=NOW, limit=30)
    assert a.pop("matrix").tolist() == b.pop("matrix").tolist() and a == b
    for status in ("queued", "ongoing", "finished", "error"):
        assert live.testruns(status, now=NOW) == cold.testruns(status, now=NOW)


def test_replaced_file_resets(tmp_path):
    path = str(tmp_path / "f.h5")
    engine, reader = StatsEngine(), TailReader(path)
    with EventWriter(path) as writer:
        for e in farm_events(8, runs=5):
            writer.write(e)
    read_all(reader, engine)
    (tmp_path / "f.h5").unlink()
    with EventWriter(path) as writer:
        for e in farm_events(9, runs=2):
            writer.write(e)
    read_all(reader, engine)
    assert engine.counts()["testruns"] == 2


def test_report_reader_thread_equals_inline(tmp_path, monkeypatch):
    from store import catchup
    from trmon_tui.commands import report

    path = str(tmp_path / "f.h5")
    with EventWriter(path) as writer:
        for e in farm_events(10, runs=40):
            writer.write(e)
    inline, fmt = report.read_file(path)
    monkeypatch.setattr(report, "THREAD_BYTES", 0)  # the large-file path: a reader thread
    monkeypatch.setattr(catchup, "READ_ROWS", 13)  # many polls, so the queue fills up
    monkeypatch.setattr(catchup, "FIRST_ROWS", 5)
    threaded, fmt2 = report.read_file(path)
    assert fmt == fmt2 == "trmon"
    assert threaded.summary(now=NOW) == inline.summary(now=NOW)
    try:
        report.read_file(str(tmp_path / "missing.h5"))
    except report.ReportError as exc:
        assert "does not exist" in str(exc)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5" * 100)
    try:
        report.read_file(str(tmp_path / "junk.h5"))
        raise AssertionError("junk file read")
    except report.ReportError as exc:
        assert "not an HDF5 file" in str(exc)
