"""store.catalog.Catalog with testrun ids kept by the StatsEngine fed the same batches (the
monitor: one copy of the ids) answers exactly as one that keeps its own, batch by batch."""

from __future__ import annotations

from conftest import farm_events, write

from store.batch import Batch
from store.catalog import Catalog
from store.stats import StatsEngine
from store.tail import TailReader


def test_a_catalog_sharing_the_engines_ids_answers_as_one_keeping_its_own(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(3, runs=30))
    reader = TailReader(str(path), max_rows=17)  # many batches, runs arriving in each
    own, engine = Catalog(), StatsEngine()
    shared = Catalog(ids=lambda: engine.state.ids)
    unfed = StatsEngine()
    elsewhere = Catalog(ids=lambda: unfed.state.ids)  # its ids are where it is told, not kept
    batches = 0
    while True:
        result = reader.poll()  # a poll opens and closes the file
        for item in result.items:
            assert isinstance(item, Batch)
            own.apply(item)
            shared.apply(item)
            elsewhere.apply(item)
            engine.apply(item)
            assert shared.event_dicts(item) == own.event_dicts(item)
            batches += 1
        if not result.more:
            break
    assert batches > 5
    runs = engine.state.runs.n
    assert runs == 30 and shared.testrun_ids == own.testrun_ids
    assert [shared.testrun_id(r) for r in range(runs)] == [own.testrun_id(r) for r in range(runs)]
    assert all(own.testrun_id(r) for r in range(runs))
    assert [elsewhere.testrun_id(r) for r in range(runs)] == [""] * runs
