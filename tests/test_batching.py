"""Batching is a property: whatever the group sizes, the read size and the growth between polls,
every event is delivered exactly once, in file order within its group (issue 10).

In process the readers run with small ``max_rows`` so that every boundary (a group or a commit
exactly as long as the budget, one row less or more, empty groups) is hit cheaply: TailReader
(what `report` and `tail` use) and the monitor's TailLoop.  `report` and `tail` run as
subprocesses on files whose groups end exactly where their real read sizes do.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections import Counter, defaultdict

import numpy as np
import tables
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from store import catchup
from store.batch import Batch, Reset
from store.catalog import Catalog
from store.catchup import FIRST_ROWS
from store.tail import TailReader
from store.writer import EventWriter

SEED_NAMES = np.array([b"request", b"queue_start", b"queue_end", b"flash_start", b"flash_end",
                       b"boot_start", b"boot_end", b"test_start", b"test_end", b"publish"])
SEED_ROW = [("testrun_id", "S16"), ("ev_name", "S16"), ("emit", "<i8"), ("received", "<i8")]
TAIL_ROWS = TailReader("").max_rows  # its default: what `tail` reads per poll
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                     HealthCheck.too_slow])


# ------------------------------------------------------------------ seed layout

def seed_rows(group: str, start: int, stop: int) -> np.ndarray:
    """Rows start..stop-1 of a seed group: row k is event k % 10 of testrun GROUP-k // 10, at
    minute k (so a row's emit names it within its group)."""
    k = np.arange(start, stop)
    rows = np.zeros(len(k), dtype=SEED_ROW)
    rows["testrun_id"] = np.char.add(f"{group}-".encode(), (k // 10).astype("S10"))
    rows["ev_name"] = SEED_NAMES[k % 10]
    rows["emit"] = rows["received"] = k
    return rows


def grow_seed(path, sizes: dict[str, int]) -> None:
    """Append rows to seed groups (created when missing) until each has ``sizes[group]``."""
    with tables.open_file(str(path), "a") as h5:
        for group, size in sizes.items():
            if group not in h5.root:
                h5.create_table(h5.create_group("/", group), "events",
                                np.zeros(0, dtype=SEED_ROW))
            table = h5.root[group].events
            if size > table.nrows:
                table.append(seed_rows(group, table.nrows, size))


def _sizes(max_rows: int):
    """Group sizes around the read size: 0, ±1, equal, multiples, anything."""
    return st.one_of(st.sampled_from([0, 1, max_rows - 1, max_rows, max_rows + 1, 2 * max_rows,
                                      3 * max_rows]), st.integers(0, 4 * max_rows))


@st.composite
def seed_cases(draw):
    """(max_rows, steps): each step the size of every group, and polls to make before it."""
    max_rows = draw(st.integers(1, 6))
    names = [f"g{k}" for k in range(draw(st.integers(1, 4)))]
    steps, sizes = [], dict.fromkeys(names, 0)
    for _ in range(draw(st.integers(1, 3))):
        for name in draw(st.lists(st.sampled_from(names), min_size=1, unique=True)):
            sizes[name] += draw(_sizes(max_rows))
        steps.append((draw(st.integers(0, 3)), dict(sizes)))
    return max_rows, steps


class Collector:
    """A TailReader and what it delivered: device group -> emits, in delivery order."""

    def __init__(self, path, max_rows: int) -> None:
        self.reader = TailReader(str(path), max_rows=max_rows)
        self.catalog = Catalog()
        self.got: dict[str, list[float]] = defaultdict(list)

    def collect(self, polls: int | None = None) -> None:
        """Poll ``polls`` times (None: until caught up), checking each poll's size."""
        done = 0
        while polls is None or done < polls:
            result = self.reader.poll()
            done += 1
            for item in result.items:
                assert not isinstance(item, Reset), item.reason
                assert isinstance(item, Batch) and len(item) <= self.reader.max_rows
                self.catalog.apply(item)
                groups = [self.catalog.device_group(r) for r in item.column("run").tolist()]
                for group, emit in zip(groups, item.column("emit").tolist(), strict=True):
                    self.got[group].append(emit)
            if polls is None and not result.more:
                assert result.status.state == "live", result.status
                return

    def delivered(self) -> dict[str, list[float]]:
        """Once caught up: what was delivered (a further poll delivers nothing)."""
        self.collect()
        assert self.reader.poll().items == []
        return {group: emits for group, emits in self.got.items() if emits}


def seed_expected(sizes: dict[str, int]) -> dict[str, list[float]]:
    return {group: [60.0 * k for k in range(n)] for group, n in sizes.items() if n}


@settings(SLOW, max_examples=40)
@given(case=seed_cases())
@example(case=(3, [(0, {"a": 3, "b": 3, "c": 3})]))   # the budget ends with a group (issue 10)
@example(case=(2, [(0, {"a": 2, "b": 0, "c": 1}), (1, {"a": 5, "b": 2, "c": 1})]))
def test_seed_reader_delivers_every_row_once_in_group_order(tmp_path_factory, case):
    max_rows, steps = case
    path = tmp_path_factory.mktemp("seed") / "spike.h5"
    reader = Collector(path, max_rows)
    for polls, sizes in steps:
        if path.exists():
            reader.collect(polls)  # the file grows while the reader is mid-way
        grow_seed(path, sizes)
    assert reader.delivered() == seed_expected(steps[-1][1])


# ------------------------------------------------------------------ product layout

def product_columns(start: int, stop: int) -> dict:
    """Events start..stop-1: testrun k // 4 goes request, queue_start, test_start, then error
    (odd testruns) or publish; every request names a new requestor and every error a new
    message, so the strings, runs, requests and errors tables grow as fast as the events."""
    i = np.arange(start, stop)
    run, step = i // 4, i % 4
    names = np.array(["request", "queue_start", "test_start", "publish"])[step]
    names = np.where((step == 3) & (run % 2 == 1), "error", names)
    return {"testrun_id": np.char.add("t", run.astype(str)), "event": names,
            "emit": i.astype(np.float64), "received": i.astype(np.float64),
            "device_group": np.where(step == 0, np.char.add("grp", (run % 3).astype(str)), ""),
            "requestor": np.where(step == 0, np.char.add("u", run.astype(str)), ""),
            "error": np.where(names == "error", np.char.add("E: ", run.astype(str)), "")}


@st.composite
def product_cases(draw):
    """(max_rows, commits): each commit's size and the polls to make before it."""
    max_rows = draw(st.integers(1, 6))
    commits = draw(st.lists(st.tuples(st.integers(0, 3), _sizes(max_rows)), min_size=1,
                            max_size=4))
    return max_rows, commits


def _product_file(path, commits, reader: Collector | None = None) -> int:
    """Write the commits (polling the reader before each); returns the events written."""
    written = 0
    with EventWriter(str(path)) as writer:
        for polls, size in commits:
            if reader is not None:
                reader.collect(polls)
            writer.write_columns(product_columns(written, written + size))
            writer.flush()
            written += size
    return written


def expected_product(count: int) -> dict:
    cols = product_columns(0, count)
    out = defaultdict(list)
    groups = {}
    for tid, group, emit in zip(cols["testrun_id"].tolist(), cols["device_group"].tolist(),
                                cols["emit"].tolist(), strict=True):
        groups[tid] = groups.get(tid) or group
        out[groups[tid]].append(emit)
    return dict(out)


@settings(SLOW, max_examples=25)
@given(case=product_cases())
@example(case=(4, [(0, 4), (1, 4), (2, 3)]))
@example(case=(1, [(0, 1), (0, 0), (2, 5)]))
def test_product_reader_delivers_every_row_once_in_order(tmp_path_factory, case):
    max_rows, commits = case
    path = tmp_path_factory.mktemp("product") / "events.h5"
    reader = Collector(path, max_rows)
    written = _product_file(path, commits, reader)
    assert reader.delivered() == expected_product(written)


# ------------------------------------------------------------------ the monitor's reader

@settings(SLOW, max_examples=8)
@given(case=seed_cases(), product=product_cases())
def test_monitor_tail_loop_reads_everything(tmp_path_factory, case, product):
    from trmon_tui.feed import TailLoop
    from trmon_tui.model import ViewState

    directory = tmp_path_factory.mktemp("monitor")
    grow_seed(directory / "spike.h5", case[1][-1][1])
    written = _product_file(directory / "events.h5", product[1])
    for path, max_rows, expected in (
            (directory / "spike.h5", case[0], seed_expected(case[1][-1][1])),
            (directory / "events.h5", product[0], expected_product(written))):
        loop = TailLoop(str(path), post=lambda _message: None, max_rows=max_rows,
                        view=ViewState(tab="events"))
        # What the worker thread does on start: poll, then catch up with the history in
        # store.catchup's batches (here as small as the drawn max_rows, to hit boundaries).
        with _catchup_rows(max_rows):
            loop.follow.open()
            loop.follow.catch_up()
        rows = list(reversed(loop.snapshot().events))
        got = defaultdict(list)
        for row in rows:
            got[row.group].append(row.event["emit"])
        assert [row.row for row in rows] == list(range(len(rows)))
        assert dict(got) == expected


@contextlib.contextmanager
def _catchup_rows(rows: int):
    saved = catchup.FIRST_ROWS, catchup.READ_ROWS
    catchup.FIRST_ROWS = catchup.READ_ROWS = rows
    try:
        yield
    finally:
        catchup.FIRST_ROWS, catchup.READ_ROWS = saved


# ------------------------------------------------------------------ report and tail

def _report(path) -> dict:
    out = subprocess.run([sys.executable, "-m", "trmon_tui", "report", str(path), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def seed_event_counts(n: int) -> dict[str, int]:
    """event_counts of a seed group of n rows (row k is event name k % 10)."""
    return dict(Counter(name.decode() for name in SEED_NAMES[np.arange(n) % 10]))


BOUNDARY = [0, 1, FIRST_ROWS - 1, FIRST_ROWS, FIRST_ROWS + 1]


@settings(SLOW, max_examples=6)
@given(sizes=st.lists(st.sampled_from(BOUNDARY), min_size=2, max_size=3))
@example(sizes=[FIRST_ROWS, FIRST_ROWS, FIRST_ROWS])  # issue 10: only the first group listed
def test_report_counts_every_group_at_its_read_boundaries(tmp_path_factory, sizes):
    path = tmp_path_factory.mktemp("report") / "spike.h5"
    grow_seed(path, {f"g{k}": n for k, n in enumerate(sizes)})
    report = _report(path)
    for k, n in enumerate(sizes):
        if not n:  # a group without events has no testruns to list
            assert f"g{k}" not in report["groups"]
            continue
        summary = report["groups"][f"g{k}"]
        counts = summary["event_counts"]
        assert {name: k for name, k in counts.items() if k} == seed_event_counts(n)
        assert summary["testruns"] == -(-n // 10)
    assert sum(report["all"]["event_counts"].values()) == sum(sizes)


def test_report_reads_a_product_file_across_its_first_read(tmp_path):
    path = tmp_path / "events.h5"
    _product_file(path, [(0, FIRST_ROWS), (0, 1)])
    counts = _report(path)["all"]["event_counts"]
    assert sum(counts.values()) == FIRST_ROWS + 1


def _tail(path) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "trmon_tui", "tail", str(path)],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def _by_group(events: list[dict]) -> dict:
    """Device group -> emits in print order (a testrun's group is on its first event)."""
    got, group_of = defaultdict(list), {}
    for event in events:
        group = group_of.setdefault(event["testrun_id"], event.get("device_group"))
        got[group].append(event["emit"])
    return dict(got)


def test_tail_prints_every_group_when_a_read_ends_with_one(tmp_path):
    # The first group fills tail's read exactly: the groups after it used to be dropped.
    path = tmp_path / "spike.h5"
    grow_seed(path, {"a": TAIL_ROWS, "b": 3, "c": 0, "d": 2})
    got = _by_group(_tail(path))
    assert got == seed_expected({"a": TAIL_ROWS, "b": 3, "d": 2})


@settings(SLOW, max_examples=3)
@given(seed=seed_cases(), product=product_cases())
def test_tail_prints_drawn_files(tmp_path_factory, seed, product):
    directory = tmp_path_factory.mktemp("tail")
    sizes = seed[1][-1][1]
    grow_seed(directory / "spike.h5", sizes)
    assert _by_group(_tail(directory / "spike.h5")) == seed_expected(sizes)
    written = _product_file(directory / "events.h5", product[1])
    assert _by_group(_tail(directory / "events.h5")) == expected_product(written)
