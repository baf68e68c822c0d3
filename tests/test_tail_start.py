"""TailReader's start row (`tail --skip N`, a mirror resuming): reading starts at event row N
instead of reading and dropping N rows, in both layouts; what follows is what a full read gives
from row N on."""

from __future__ import annotations

import io
import json
import sys

import pytest
from test_report import farm_events, write
from test_seedfile import _make_seed

from store.batch import Batch, Reset
from store.catalog import Catalog
from store.tail import TailReader
from trmon_tui.commands import tail as tail_command


def read(path, **options) -> tuple[list[dict], list[Batch | Reset]]:
    """Every event (as `tail` prints it) and item a reader delivers until it has caught up."""
    reader, catalog, events, items = TailReader(str(path), **options), Catalog(), [], []
    while True:
        result = reader.poll()
        for item in result.items:
            items.append(item)
            if isinstance(item, Reset):
                catalog.reset()
                events.clear()
            else:
                catalog.apply(item)
                events.extend(catalog.event_dicts(item))
        if not result.more:
            assert result.status.state == "live", result.status
            return events, items


def without_group(events: list[dict]) -> list[dict]:
    """The events less their device_group: a run's first event names it, and a reader that
    started later sees another first event of the runs that began before its start."""
    return [{k: v for k, v in e.items() if k != "device_group"} for e in events]


@pytest.mark.parametrize("start", [1, 137, 299])
def test_product_layout_starts_at_the_row(tmp_path, start):
    path = tmp_path / "farm.h5"
    write(path, farm_events(41, runs=30))
    whole, _ = read(path)
    assert len(whole) > 300
    got, items = read(path, start_row=start, max_rows=50)
    batches = [item for item in items if isinstance(item, Batch) and len(item)]
    assert batches[0].first_event_row == start  # rows before it were never delivered
    # Requests and errors (their attributes) start with the events: none of an earlier row.
    assert all((b.requests["event_row"] >= start).all() and (b.errors["event_row"] >= start).all()
               for b in batches)
    assert without_group(got) == without_group(whole[start:])
    groups = {e["testrun_id"]: e["device_group"] for e in whole if "device_group" in e}
    assert all(e["device_group"] == groups[e["testrun_id"]] for e in got if "device_group" in e)


def test_start_beyond_the_end_reads_what_arrives_later(tmp_path):
    path = tmp_path / "farm.h5"
    events = farm_events(42, runs=20)
    write(path, events[:100])
    reader = TailReader(str(path), start_row=150)
    result = reader.poll()
    assert [len(i) for i in result.items if isinstance(i, Batch)] in ([], [0])
    write(path, events[100:])
    result = reader.poll()
    batch = next(i for i in result.items if isinstance(i, Batch) and len(i))
    # The seek happened once, at the end of the 100 committed events: later rows are read.
    assert batch.first_event_row == 100


def test_a_replaced_file_is_read_from_the_start_row_again(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(43, runs=20))
    reader = TailReader(str(path), start_row=40)
    while reader.poll().more:
        pass
    replacement = tmp_path / "new.h5"
    write(replacement, farm_events(44, runs=25))
    whole, _ = read(replacement)
    replacement.replace(path)
    result = reader.poll()
    assert isinstance(result.items[0], Reset)
    batch = next(i for i in result.items if isinstance(i, Batch) and len(i))
    assert batch.first_event_row == 40
    assert len(batch) == len(whole) - 40


@pytest.mark.parametrize("start", [1, 4, 6, 9])
def test_seed_layout_starts_at_the_row(tmp_path, start):
    path = tmp_path / "spike.h5"
    _make_seed(path)
    whole, _ = read(path)
    got, items = read(path, start_row=start, max_rows=2)
    assert [i.first_event_row for i in items if isinstance(i, Batch) and len(i)][:1] == \
        ([start] if start < len(whole) else [])
    assert without_group(got) == without_group(whole[start:])


def test_tail_skip_beyond_its_context_feeds_a_mirror(tmp_path, monkeypatch):
    """`tail --skip N` with N past SKIP_CONTEXT: the lines are those from row N on; a testrun
    whose earlier events lie before the context may name its device group again, which the
    mirror's `ingest` accepts: the mirror then holds the source's events."""
    source, mirror = tmp_path / "source.h5", tmp_path / "mirror.h5"
    write(source, farm_events(45, runs=40))
    whole = [json.loads(line) for line in run_tail(source, 0).splitlines()]
    skip = 250
    monkeypatch.setattr(tail_command, "SKIP_CONTEXT", 0)
    got = [json.loads(line) for line in run_tail(source, skip).splitlines()]
    assert without_group(got) == without_group(whole[skip:])
    assert any("device_group" in e and "device_group" not in w
               for e, w in zip(got, whole[skip:], strict=True))  # no context: it shows
    write(mirror, whole[:skip])
    write(mirror, got)
    mirrored = [json.loads(line) for line in run_tail(mirror, 0).splitlines()]
    assert mirrored == whole


def run_tail(path, skip: int) -> str:
    out, saved = io.StringIO(), sys.stdout
    sys.stdout = out
    try:
        assert tail_command._tail(str(path), follow=False, poll=0.05, skip=skip) == 0
    finally:
        sys.stdout = saved
    return out.getvalue()
