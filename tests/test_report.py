"""`trmon-tui report` as a user runs it: real files, a real subprocess."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tables
from conftest import farm_events, report, write
from stats_reference import reference_insight, reference_summary, same

from store import catchup
from trmon_tui.commands import report as report_module

REFERENCE_KEYS = ("testruns", "queued", "ongoing", "finished", "errors", "error_pct",
                  "queued_ids", "ongoing_ids", "requestors", "event_counts", "durations",
                  "iterations", "anomalies")


def test_json_equals_reference_on_a_product_file(tmp_path):
    path = tmp_path / "farm.h5"
    events = farm_events(1)
    write(path, events)
    done = report(path, "--json")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    want = reference_summary(events)
    assert sorted(got["groups"]) == sorted(want["groups"]) == ["lab-0", "lab-1", "lab-2"]
    for name in ["all", *want["groups"]]:
        g = got["all"] if name == "all" else got["groups"][name]
        w = want["all"] if name == "all" else want["groups"][name]
        for key in REFERENCE_KEYS:
            same(g[key], w[key], f"{name}.{key}")
    assert got["all"]["event_counts"]["power_cycle"] >= 1 or "power_cycle" not in {
        e["event"] for e in events}


def test_clock_since_and_group(tmp_path):
    path = tmp_path / "farm.h5"
    events = farm_events(2)
    write(path, events)
    emit = json.loads(report(path, "--json", "--clock", "emit").stdout)
    same({k: emit["all"][k] for k in REFERENCE_KEYS},
         {k: reference_summary(events, "emit")["all"][k] for k in REFERENCE_KEYS})
    since = events[len(events) // 2]["received"]
    iso = np.datetime64(int(since), "s").astype(str)
    windowed = json.loads(report(path, "--json", "--since", iso).stdout)
    want = reference_summary(events, since=float(int(since)))
    assert windowed["all"]["testruns"] == want["all"]["testruns"] < len({e["testrun_id"]
                                                                         for e in events})
    one = json.loads(report(path, "--json", "--group", "lab-1").stdout)
    assert list(one["groups"]) == ["lab-1"] and one["all"] == one["groups"]["lab-1"]


def test_table_is_readable_and_escapes_strings(tmp_path):
    path = tmp_path / "farm.h5"
    events = farm_events(3, runs=10)
    evil = {"testrun_id": "tr-\x1b[2Jevil", "event": "request", "emit": 1_790_000_100.0,
            "received": 1_790_000_100.0, "device_group": "lab\x1b[31m", "requestor": "x\ny@z"}
    write(path, [*events, evil])
    done = report(path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "\x1b" not in out and "lab\\x1b[31m" in out and "x\\ny@z" in out
    assert "== device group lab-0 " in out and "== all device groups " in out
    assert "testrun" in out and "p95" in out and "requestors:" in out


def test_now_and_trend_give_the_same_bytes_and_match_the_reference(tmp_path, monkeypatch):
    path = tmp_path / "farm.h5"
    events = farm_events(6, runs=90)
    write(path, events)
    now = max(e["received"] for e in events) + 3 * 3600.0
    first = report(path, "--json", "--now", now, "--trend", "day")
    again = report(path, "--json", "--now", now, "--trend", "day")
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    got = json.loads(first.stdout, parse_constant=_no_constant)
    want = reference_insight(events, now=now, bucket=86400.0)
    assert want["all"]["overdue"] and want["all"]["hosts"]["worker0"]["errors"]
    for name in ["all", *want["groups"]]:
        g = got["all"] if name == "all" else got["groups"][name]
        w = want["all"] if name == "all" else want["groups"][name]
        for key in ("hosts", "overdue", "trend"):
            same(g[key], w[key], f"{name}.{key}")
    # The reader's batches do not matter: a few rows at a time give the very same bytes.
    monkeypatch.setattr(catchup, "FIRST_ROWS", 5)
    monkeypatch.setattr(catchup, "READ_ROWS", 7)
    engine, _ = report_module.read_file(str(path))
    assert engine.version > 50
    without_files = first.stdout.split(', "files": ')[0] + "}\n"  # "files" comes last
    assert json.dumps(engine.summary(now=now, trend="day"), ensure_ascii=False) + "\n" == \
        without_files
    # --since counts back from --now.
    windowed = json.loads(report(path, "--json", "--now", now, "--since", "5h").stdout)
    assert windowed["all"]["testruns"] == reference_summary(
        events, since=now - 5 * 3600)["all"]["testruns"] < len(got["all"]["queued_ids"]) + \
        got["all"]["testruns"]


def _no_constant(name: str):
    raise AssertionError(f"{name} is not JSON")


def test_table_shows_hosts_overdue_and_trend(tmp_path):
    path = tmp_path / "farm.h5"
    t = 1_790_000_000.0
    events = []
    for i in range(30):  # 30 testruns that waited a minute in the queue, on healthy hosts
        tid = f"ok-{i}"
        events += [_e(tid, "request", t, hosts=[[f"good{i % 3}", 1]]),
                   _e(tid, "queue_start", t), _e(tid, "queue_end", t + 60),
                   _e(tid, "publish", t + 600)]
        t += 100
    for i, outcome in enumerate(["publish", "error", "error", "error"]):
        events += [_e(f"bad-{i}", "request", t, hosts=[["flaky", 1]]),
                   _e(f"bad-{i}", outcome, t + 60)]
        t += 100
    for i, outcome in enumerate(["error", "publish", "error", "publish", "error", "publish"]):
        events += [_e(f"sus-{i}", "request", t, hosts=[["odd\x1b[31m", 1]]),
                   _e(f"sus-{i}", outcome, t + 60)]
        t += 100
    events += [_e("stuck", "request", t, hosts=[["good1", 1]]), _e("stuck", "queue_start", t)]
    write(path, events)
    done = report(path, "--now", t + 3600, "--trend", "hour")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("health    host")))
    assert lines[at + 1].split() == ["!!", "bad", "flaky", "3", "3/4", "75.0", "%", "3",
                                     "1h15m", "ago"]
    assert lines[at + 2].startswith("! suspect odd\\x1b[31m ")
    assert lines[at + 3].startswith("   good   good")
    assert "overdue 1 (most first): stuck (queue 1h00m, p95 1m00s)" in done.stdout
    trend = lines.index(next(line for line in lines if line.startswith("by hour (UTC)")))
    assert lines[trend + 1].startswith("2026-09-21 14:00")
    assert "\x1b" not in done.stdout
    assert all(len(line) <= 80 for line in lines[at : trend + 3])


def _e(tid: str, name: str, t: float, **extra) -> dict:
    return {"testrun_id": tid, "event": name, "emit": t, "received": t, "device_group": "lab",
            **({"error": "RuntimeError: no boot"} if name == "error" else {}), **extra}


def test_bad_now_and_a_trend_too_long(tmp_path):
    path = tmp_path / "farm.h5"
    t = 1_790_000_000.0
    write(path, [_e("old", "request", t - 3 * 365 * 86400), _e("new", "request", t)])
    bad_now = report(path, "--now", "yesterday")
    assert bad_now.returncode == 2 and "seconds since the Unix epoch" in bad_now.stderr
    too_long = report(path, "--json", "--trend", "hour")
    assert too_long.returncode == 2 and too_long.stdout == ""
    assert too_long.stderr.startswith("trmon-tui report: a trend by hour of these testruns")
    assert "--trend day" in too_long.stderr and len(too_long.stderr.splitlines()) == 1
    by_day = report(path, "--json", "--trend", "day")
    assert by_day.returncode == 0 and len(json.loads(by_day.stdout)["all"]["trend"]) == 1096
    assert "Traceback" not in bad_now.stderr + too_long.stderr


def test_seed_layout(tmp_path):
    """The spike's layout: a group per device group, times in integer minutes."""
    path = tmp_path / "seed.h5"
    desc = {"testrun_id": tables.StringCol(16, pos=0), "ev_name": tables.StringCol(16, pos=1),
            "emit": tables.Int64Col(pos=2), "received": tables.Int64Col(pos=3)}
    rows = {
        "alpha": [("a1", "request", 0, 0), ("a1", "queue_start", 1, 1), ("a1", "queue_end", 3, 3),
                  ("a1", "flash_start", 3, 4), ("a1", "flash_end", 6, 7),
                  ("a1", "flash_start", 7, 8), ("a1", "flash_end", 9, 9),
                  ("a1", "publish", 12, 12), ("a2", "request", 5, 5), ("a2", "zap", 6, 6)],
        "beta": [("b1", "request", 2, 2), ("b1", "queue_start", 3, 3), ("b1", "queue_end", 4, 4),
                 ("b1", "error", 9, 9), ("a1", "boot_end", 9, 9)],
    }
    with tables.open_file(str(path), "w") as h5:
        for group, events in rows.items():
            table = h5.create_table(h5.create_group("/", group), "events", desc)
            table.append([tuple(x.encode() if isinstance(x, str) else x for x in row)
                          for row in events])
    done = report(path, "--json")
    assert done.returncode == 0, done.stderr
    s = json.loads(done.stdout)
    alpha, beta, every = s["groups"]["alpha"], s["groups"]["beta"], s["all"]
    assert (alpha["finished"], alpha["queued"], alpha["queued_ids"]) == (1, 1, ["a2"])
    assert alpha["durations"]["testrun"]["max"] == 720.0
    assert alpha["durations"]["flash"]["n"] == 2 and alpha["durations"]["flash"]["mean"] == 120.0
    assert alpha["iterations"]["flash"]["max"] == 2.0
    assert alpha["event_counts"]["zap"] == 1 and alpha["anomalies"]["unknown_events"] == 1
    # b1 and the "a1" of beta are different testruns: a testrun id is scoped by its group.
    assert beta["errors"] == 1 and beta["anomalies"]["ends_without_start"] == 1
    assert beta["anomalies"]["unrequested_events"] == 1
    assert every["testruns"] == 4 and every["error_pct"] == 50.0
    assert every["requestors"] == [{"requestor": "", "requests": 3, "errors": 1}]
    table = report(path)
    assert table.returncode == 0 and "(seed layout)" in table.stdout


@pytest.mark.parametrize("kind", ["missing", "text", "empty", "foreign", "directory"])
def test_bad_files_give_a_clear_message(tmp_path, kind):
    path = tmp_path / "f.h5"
    if kind == "text":
        path.write_text("testrun_id,event\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign":
        with tables.open_file(str(path), "w") as h5:
            h5.create_array("/", "x", np.arange(3))
    elif kind == "directory":
        path.mkdir()
    done = report(path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and str(path) in done.stderr
    assert done.stderr.startswith("trmon-tui report: ") and done.stdout == ""


def test_bad_arguments(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(4, runs=3))
    bad_since = report(path, "--since", "last tuesday")
    assert bad_since.returncode == 2 and "24h" in bad_since.stderr
    bad_group = report(path, "--group", "nope")
    assert bad_group.returncode == 1 and "lab-0" in bad_group.stderr
    assert "Traceback" not in bad_since.stderr + bad_group.stderr
