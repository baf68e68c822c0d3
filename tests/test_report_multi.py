"""`trmon-tui report [LABEL=]FILE ...` as a user runs it: several real files, a subprocess."""

from __future__ import annotations

import json
import os

from conftest import farm_events, parse, report, write


def test_two_files_report_each_group_as_its_file_alone(tmp_path):
    north, south = tmp_path / "north.h5", tmp_path / "south.h5"
    write(north, farm_events(21))
    write(south, farm_events(22, runs=25))
    # A fixed reference time, so that ages and overdue testruns compare too.
    now = str(max(e["received"] for e in farm_events(21) + farm_events(22, runs=25)) + 3600)
    done = report(north, f"s={south}", "--json", "--now", now)
    assert done.returncode == 0, done.stderr
    both = json.loads(done.stdout)
    testruns = 0
    for label, path in (("north", north), ("s", south)):
        one = json.loads(report(path, "--json", "--now", now).stdout)
        assert one["files"] == {path.stem: {"path": str(path), "events": len(
            farm_events(21 if label == "north" else 22, 40 if label == "north" else 25)),
            "testruns": one["all"]["testruns"], "error": None, "checksums": True,
            "last_event": max(e["received"] for e in farm_events(
                21 if label == "north" else 22, 40 if label == "north" else 25))}}
        assert both["files"][label] == {**one["files"][path.stem]}
        for group, summary in one["groups"].items():
            assert both["groups"][f"{label}/{group}"] == summary
        testruns += one["all"]["testruns"]
    assert both["all"]["testruns"] == testruns  # the same testrun ids, scoped by file
    table = report(north, f"s={south}")
    assert table.returncode == 0 and table.stdout.startswith("2 files: ")
    assert f"  s: {south}: 25 testruns" in table.stdout
    assert "== device group north/lab-0 " in table.stdout


def test_a_missing_or_damaged_file_is_said_and_the_others_reported(tmp_path):
    good, junk, gone = tmp_path / "good.h5", tmp_path / "junk.h5", tmp_path / "gone.h5"
    write(good, farm_events(23, runs=15))
    junk.write_bytes(b"testrun_id,event\n" * 40)
    done = report(gone, good, junk, "--json", "--now", "1790000000")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and "Traceback" not in done.stderr
    assert lines[0] == f"trmon-tui report: {gone} does not exist"
    assert lines[1].startswith(f"trmon-tui report: {junk} ")
    got = json.loads(done.stdout)
    assert got["files"]["gone"]["error"] == f"{gone} does not exist"
    assert got["files"]["junk"]["error"] and got["files"]["junk"]["events"] == 0
    assert got["files"]["good"]["error"] is None
    alone = json.loads(report(good, "--json", "--now", "1790000000").stdout)
    assert sorted(got["groups"]) == [f"good/{g}" for g in sorted(alone["groups"])]
    for group, summary in alone["groups"].items():
        assert got["groups"][f"good/{group}"] == summary


def test_two_files_with_the_same_name_need_labels(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        write(tmp_path / d / "farm.h5", farm_events(24, runs=3))
    done = report(tmp_path / "a" / "farm.h5", tmp_path / "b" / "farm.h5")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "LABEL=FILE" in done.stderr
    labelled = report(f"a={tmp_path / 'a' / 'farm.h5'}", f"b={tmp_path / 'b' / 'farm.h5'}")
    assert labelled.returncode == 0 and "== device group b/lab-0 " in labelled.stdout


def test_prometheus_output_replaces_the_file_atomically(tmp_path):
    farm, gone = tmp_path / "farm.h5", tmp_path / "gone.h5"
    write(farm, farm_events(25, runs=20))
    out = tmp_path / "trmon.prom"
    out.write_text("old\n")
    os.link(out, tmp_path / "before.prom")  # the old inode, as a reader that opened it sees it
    done = report(farm, gone, "--prometheus", "--output", out)
    assert done.returncode == 1 and f"{gone} does not exist" in done.stderr
    assert (tmp_path / "before.prom").read_text() == "old\n", "renamed into place, not rewritten"
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["before.prom", "farm.h5", "trmon.prom"], "no temporary file left"
    got = parse(out.read_text())
    assert got["trmon_file_up"] == {(("file", "farm"),): 1, (("file", "gone"),): 0}
    alone = json.loads(report(farm, "--json").stdout)
    assert got["trmon_file_events"][(("file", "farm"),)] == alone["files"]["farm"]["events"]
    for group, s in alone["groups"].items():
        key = (("device_group", f"farm/{group}"), ("result", "finished"))
        assert got["trmon_testruns_ended_total"][key] == s["finished"]
    printed = report(gone, "--prometheus")  # one unreadable file: the metrics say so
    assert printed.returncode == 1 and parse(printed.stdout)["trmon_file_up"] == {
        (("file", "gone"),): 0}
