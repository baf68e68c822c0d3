"""Looking back (DESIGN.md): `report --at T` and `report --compare PERIOD` on real files.

`report --at T` of files must equal `report --now T` of files holding only the events received
by T: random testruns, written in an order the clock does not follow (a later row may have
been received earlier), in the product layout (store.writer) or the seed spike's (a table per
device group, times in minutes), one or two files, cut at a random T.  `--compare` is checked
against tests/stats_reference.py's reading of DESIGN's words.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime

import numpy as np
import pytest
import tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats_reference import (
    COMPARE_PARTS,
    SUMMARY_KEYS,
    reference_compare,
    reference_summary,
    same,
)

from store.batch import Batch, Reset
from store.catalog import Catalog
from store.multi import MultiTail
from store.sources import Source
from store.writer import EventWriter
from trmon_tui.cli import main

FLOW = ["request", "queue_start", "queue_end", "flash_start", "flash_end", "boot_start",
        "boot_end", "test_start", "test_end", "publish"]
T0 = 1_790_000_000.0
# The seed groups below are not Python identifiers: PyTables says so, harmlessly.
pytestmark = pytest.mark.filterwarnings("ignore::tables.NaturalNameWarning")


@st.composite
def farm_runs(draw, minutes: bool) -> list[dict]:
    """Up to 12 testruns of two groups, interleaved; steps forward and back (file order is not
    the clock's), flash/boot/test repeated, errors anywhere, some still running, an unknown
    event name; times in whole minutes (as seconds) for the seed layout."""
    scripts = []
    for i in range(draw(st.integers(1, 12))):
        names = list(FLOW)
        if draw(st.booleans()):
            at = draw(st.integers(3, 8))
            names[at:at] = names[at - 2 : at] if draw(st.booleans()) else []  # a retry
        if draw(st.integers(0, 3)) == 0:
            names = names[: draw(st.integers(1, len(names)))]  # still running
        if draw(st.integers(0, 4)) == 0:
            names.insert(draw(st.integers(1, len(names))), "error")
        if draw(st.integers(0, 6)) == 0:
            names.insert(draw(st.integers(1, len(names))), "power_cycle")
        scripts.append((f"tr-{i}", draw(st.sampled_from(["g1", "lab 2"])), names))
    cursors = [0] * len(scripts)
    events, t = [], T0
    step = st.sampled_from([60.0, 60.0, 300.0, 1800.0, 7200.0, -120.0, 0.0])
    while any(c < len(s[2]) for c, s in zip(cursors, scripts, strict=True)):
        i = draw(st.sampled_from([k for k, s in enumerate(scripts) if cursors[k] < len(s[2])]))
        tid, group, names = scripts[i]
        name = names[cursors[i]]
        cursors[i] += 1
        t += draw(step)
        lag = draw(st.sampled_from([0.0, 60.0])) if minutes else draw(
            st.sampled_from([0.0, 0.25, 3.5]))
        e = {"testrun_id": tid, "event": name, "emit": t - lag, "received": t,
             "device_group": group}
        if name == "request":
            e["requestor"] = draw(st.sampled_from(["ann@x", "bob@x"]))
            e["hosts"] = [[draw(st.sampled_from(["w1", "w2"])), 0]]
        if name == "error":
            e["error"] = "Boom: failed"
        events.append(e)
    return events


def write_product(path: str, events: list[dict]) -> None:
    with EventWriter(path) as writer:
        for e in events:
            writer.write(e)


def write_seed(path: str, events: list[dict]) -> None:
    """The seed spike's layout: a group per device group holding a table `events` (testrun_id,
    ev_name, emit, received; times in whole minutes), rows in the events' order."""
    desc = {"testrun_id": tables.StringCol(16, pos=0), "ev_name": tables.StringCol(16, pos=1),
            "emit": tables.Int64Col(pos=2), "received": tables.Int64Col(pos=3)}
    with tables.open_file(path, "w") as h5:
        for group in sorted({e["device_group"] for e in events} | {"g1"}):
            table = h5.create_table(h5.create_group("/", group), "events", desc)
            rows = [(e["testrun_id"].encode(), e["event"].encode(), int(e["emit"] // 60),
                     int(e["received"] // 60)) for e in events if e["device_group"] == group]
            if rows:
                table.append(rows)


WRITERS = {"product": write_product, "seed": write_seed}


def report_json(*args: str) -> dict:
    """`trmon-tui report ... --json` run in this process (written with --output)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "report.json")
        assert main(["report", *args, "--json", "--output", out]) == 0
        with open(out, encoding="utf-8") as handle:
            return json.load(handle)


def comparable(report: dict) -> dict:
    """The report with what differs between two files of the same events left out or put in a
    canonical order: a file's path; the order of testruns listed in file order (a testrun's
    place is that of its first row: in the cut file, its first row received by T)."""
    for part in [report["all"], *report["groups"].values()]:
        for key in ("queued_ids", "ongoing_ids"):
            part[key] = sorted(part[key])
        part["overdue"] = sorted(part["overdue"], key=lambda o: o["testrun_id"])
    for entry in report.get("files", {}).values():
        entry.pop("path")
    return report


@st.composite
def farms(draw) -> tuple[list[tuple[str, list[dict]]], float]:
    """One or two files (each of either layout) and a moment T among their events'."""
    files = []
    for _ in range(draw(st.integers(1, 2))):
        layout = draw(st.sampled_from(sorted(WRITERS)))
        files.append((layout, draw(farm_runs(minutes=layout == "seed"))))
    times = sorted(e["received"] for _, events in files for e in events)
    t = draw(st.sampled_from(times)) + draw(st.sampled_from([0.0, -30.0, 30.0, 0.5]))
    return files, t


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(farms())
def test_at_equals_now_of_a_file_of_the_events_received_by_then(farm):
    files, t = farm
    with tempfile.TemporaryDirectory() as tmp:
        whole, cut = [], []
        for k, (layout, events) in enumerate(files):
            path, part = os.path.join(tmp, f"whole{k}.h5"), os.path.join(tmp, f"cut{k}.h5")
            WRITERS[layout](path, events)
            WRITERS[layout](part, [e for e in events if e["received"] <= t])
            whole.append(f"f{k}={path}")
            cut.append(f"f{k}={part}")
        at = report_json(*whole, "--at", repr(t), "--trend", "day")
        now = report_json(*cut, "--now", repr(t), "--trend", "day")
    same(comparable(at), comparable(now))
    kept = sum(e["received"] <= t for _, events in files for e in events)
    assert sum(f["events"] for f in at["files"].values()) == kept


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(farm_runs(minutes=False), st.data())
def test_at_matches_the_reference_of_the_events_received_by_then(events, data):
    """DESIGN's definitions (tests/stats_reference.py) over the events received by T."""
    times = sorted(e["received"] for e in events)
    t = data.draw(st.sampled_from(times)) + data.draw(st.sampled_from([0.0, -30.0, 30.0]))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "farm.h5")
        write_product(path, events)
        got = report_json(path, "--at", repr(t))
    want = reference_summary([e for e in events if e["received"] <= t])
    assert sorted(got["groups"]) == sorted(want["groups"])
    for name in ["all", *want["groups"]]:
        g = got["all"] if name == "all" else got["groups"][name]
        w = want["all"] if name == "all" else want["groups"][name]
        for key in SUMMARY_KEYS:
            if key.endswith("_ids"):  # file order: a testrun's place is its first row's
                g[key], w[key] = sorted(g[key]), sorted(w[key])
            same(g[key], w[key], f"{name}.{key}")


def catalog_events(tail: MultiTail) -> list[dict]:
    """Every event a Catalog makes of the tail's batches (as the monitor's Events pane)."""
    catalog, events = Catalog(), []
    while True:
        result = tail.poll_all()
        for item in result.items:
            if isinstance(item, Reset):
                catalog.reset()
                events = []
            else:
                catalog.apply(item)
                events += catalog.event_dicts(item)
        if not result.more:
            return events


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(farms(), st.sampled_from([3, 7, 500_000]))
def test_the_catalog_at_t_sees_the_events_of_the_cut_file(farm, max_rows):
    """Each file on its own (with several, how the files' reads interleave depends on how
    many rows each read takes: the report test above covers the combining)."""
    files, t = farm
    for layout, events in files:
        with tempfile.TemporaryDirectory() as tmp:
            path, part = os.path.join(tmp, "whole.h5"), os.path.join(tmp, "cut.h5")
            WRITERS[layout](path, events)
            WRITERS[layout](part, [e for e in events if e["received"] <= t])
            got = catalog_events(MultiTail([Source("f", path)], at=t, max_rows=max_rows))
            want = catalog_events(MultiTail([Source("f", part)], max_rows=max_rows))
        if layout == "seed" and max_rows < 500_000:
            # The seed reader takes each read's rows group after group, so where one group's
            # events fall among another's depends on how many rows each read takes, and the
            # cut file's reads take other rows: each testrun's events keep their order.
            got, want = (sorted(x, key=lambda e: e["testrun_id"]) for x in (got, want))
        assert got == want


def test_received_by_keeps_the_request_and_error_rows_of_the_events_kept():
    from stats_reference import to_batches

    events = [{"testrun_id": "a", "event": "request", "emit": 1.0, "received": 1.0},
              {"testrun_id": "b", "event": "request", "emit": 9.0, "received": 9.0},
              {"testrun_id": "a", "event": "error", "emit": 2.0, "received": 2.0},
              {"testrun_id": "b", "event": "error", "emit": 3.0, "received": 3.0}]
    batch = to_batches(events)[0]
    cut = batch.received_by(5.0, first_event_row=10)
    assert isinstance(cut, Batch) and len(cut) == 3 and cut.first_event_row == 10
    assert cut.requests["event_row"].tolist() == [10] and cut.requests["run"].tolist() == [0]
    assert cut.errors["event_row"].tolist() == [11, 12]
    assert cut.errors["run"].tolist() == [0, 1]
    assert len(cut.runs) == 2 and cut.new_names == batch.new_names
    assert batch.received_by(100.0, first_event_row=0) is batch  # nothing cut: no copy


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(farm_runs(minutes=False), st.sampled_from([3600.0, 6 * 3600.0, 86400.0]),
       st.sampled_from([0.0, 3600.0, 86400.0, -7200.0]), st.booleans())
def test_compare_matches_the_reference(events, period, after, at_last):
    last = max(e["received"] for e in events)
    now = last + after
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "farm.h5")
        write_product(path, events)
        when = ["--at", repr(now)] if at_last else ["--now", repr(now)]
        got = report_json(path, "--compare", f"{period / 3600:g}h", *when)
    kept = [e for e in events if e["received"] <= now] if at_last else events
    same(got, reference_compare(kept, period, now))
    for one in [got["all"], *got["groups"].values()]:
        for p in one.values():  # the parts add up to the mean testrun time
            if p["testrun"]["mean"] is not None:
                assert math.isclose(sum(p["phase_means"][k] for k in COMPARE_PARTS),
                                    p["testrun"]["mean"], rel_tol=1e-9, abs_tol=1e-6)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trmon_tui", *args], capture_output=True,
                          text=True, timeout=120)


def test_bad_at_and_clashing_options_are_one_line_and_exit_2(tmp_path):
    path = str(tmp_path / "farm.h5")
    write_product(path, [{"testrun_id": "a", "event": "request", "emit": T0, "received": T0,
                          "device_group": "g"}])
    for args, words in [(["--at", "yesterday"], "cannot read --at 'yesterday'"),
                        (["--at", "-2h", "--now", "5"], "--at T or --now EPOCH, not both"),
                        (["--compare", "week"], "cannot read --compare 'week'"),
                        (["--compare", "7d", "--since", "1d"], "give it no --since"),
                        (["--compare", "7d", "--prometheus"], "give it no --prometheus")]:
        done = cli("report", path, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    done = cli(path, "--at", "nonsense")  # the monitor refuses before it starts
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


def test_at_before_now_and_compare_table(tmp_path):
    """`--at -1d` (a value starting with "-") reads as a time before now; the comparison
    table lists the figures and the phases, the one that moved most first."""
    path = str(tmp_path / "farm.h5")
    day_s = 86400.0
    events = []
    for k, (start, wait) in enumerate([(T0 - 1.5 * day_s, 60.0), (T0 - 0.5 * day_s, 3600.0)]):
        for name, dt in zip(FLOW, [0, 10, 10 + wait, 20 + wait, 80 + wait, 90 + wait,
                                   100 + wait, 110 + wait, 170 + wait, 175 + wait],
                            strict=True):
            events.append({"testrun_id": f"t{k}", "event": name, "emit": start + dt,
                           "received": start + dt, "device_group": "g"})
    write_product(path, events)
    assert report_json(path, "--at", "-1d")["all"]["testruns"] <= 2  # parsed, not an option
    done = cli("report", path, "--compare", "24h", "--now", repr(T0))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    def day(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")

    assert lines[:2] == [f"testruns requested in the last 24h: {day(T0 - day_s)} to {day(T0)}",
                         f"against the 24h before: {day(T0 - 2 * day_s)} to {day(T0 - day_s)}"]
    assert any(line.split()[:3] == ["testruns", "1", "1"] for line in lines), done.stdout
    phases = lines[lines.index(next(x for x in lines if x.startswith("change of the mean"))) + 1:]
    assert phases[0].split()[0] == "queue" and phases[0].split()[1] == "+59m00s", done.stdout
    got = report_json(path, "--compare", "24h", "--now", repr(T0))
    assert np.isclose(got["all"]["current"]["phase_means"]["queue"] -
                      got["all"]["previous"]["phase_means"]["queue"], 3540.0)
