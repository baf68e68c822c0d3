"""store.catalog.Catalog with testrun ids kept by the StatsEngine fed the same batches (the
monitor: one copy of the ids) answers exactly as one that keeps its own, batch by batch; each
testrun's first row is its first row however the rows come in batches."""

from __future__ import annotations

import numpy as np
from conftest import farm_events, write
from hypothesis import given
from hypothesis import strategies as st

from store.batch import Batch
from store.catalog import _NO_ROW, Catalog, _first_rows
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


@given(runs=st.lists(st.one_of(st.integers(0, 40), st.integers(0, 50_000)), max_size=300),
       cuts=st.lists(st.integers(0, 300), max_size=4))
def test_first_rows_are_each_runs_first_row_however_the_rows_are_cut(runs, cuts):
    """Narrow spans of runs (a file's batches) and spread ones (a few runs far apart) alike."""
    expected: dict[int, int] = {}
    for row, run in enumerate(runs):
        expected.setdefault(run, row)
    first_row = np.full(50_001, _NO_ROW, np.int64)
    bounds = sorted({0, len(runs), *(c for c in cuts if c < len(runs))})
    for start, stop in zip(bounds, bounds[1:], strict=False):
        _first_rows(first_row, np.array(runs[start:stop], np.int32), start)
    assert {r: int(v) for r, v in enumerate(first_row) if v != _NO_ROW} == expected
