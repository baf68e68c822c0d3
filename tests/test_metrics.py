"""The Prometheus metrics (trmon_tui.commands.metrics), parsed back with prometheus_client's own
parser: names, labels, zeros, buckets, and the host and overdue series."""

from __future__ import annotations

import numpy as np
from conftest import engine_of, farm_events, parse, write

from trmon_tui.commands import metrics

NOW = 1_790_100_000.0


def test_buckets_count_the_summary_samples(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(11, runs=60))
    engine = engine_of(path)
    bounds = np.array([1.0, 20.0, 90.0, 300.0, 1e9])
    buckets = engine.duration_buckets(bounds, now=NOW)
    summary = engine.summary(now=NOW)
    for group, per_phase in buckets.items():
        for phase, counts in per_phase.items():
            samples = engine.samples(phase, group=group, now=NOW)
            assert counts == np.searchsorted(samples, bounds, side="right").tolist()
            assert counts[-1] == summary["groups"][group]["durations"][phase]["n"]
    assert any(c[-1] > c[0] for per_phase in buckets.values() for c in per_phase.values())


def test_the_summary_counts_the_same_buckets_with_its_samples_at_hand(tmp_path, monkeypatch):
    """summary(buckets=...) (the exporter's and report --prometheus's one pass) gives
    duration_buckets' very counts, in the jobs' threads too, in a window and for one group."""
    from store.stats import summary as summary_module

    path = tmp_path / "farm.h5"
    write(path, farm_events(13, runs=80))
    engine = engine_of(path)
    bounds = np.array([1.0, 20.0, 90.0, 300.0, 1e9])
    group = engine.groups()[0]
    for threads in (False, True):
        monkeypatch.setattr(summary_module, "THREAD_RUNS", 0 if threads else 10**12)
        for query in ({}, {"since": NOW - 40_000}, {"group": group}):
            got = engine.summary(now=NOW, buckets=bounds, **query)["duration_buckets"]
            assert got == engine.duration_buckets(bounds, now=NOW, **query)
            assert set(got) == (set(engine.groups()) if "group" not in query else {group})
    assert "duration_buckets" not in engine.summary(now=NOW)


def test_families_of_a_summary_with_hosts_and_overdue(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(12, runs=40))
    engine = engine_of(path)
    summary = engine.summary(now=NOW)
    # The host and overdue parts of SUMMARY (DESIGN.md "Operator insight"), by hand.
    summary["all"]["hosts"] = {
        "worker1": {"health": "bad", "streak": 4},
        "worker2": {"health": "good", "streak": 0}}
    for s in summary["groups"].values():
        s["overdue"] = []
    summary["groups"]["lab-1"]["overdue"] = [
        {"testrun_id": "tr-001", "phase": "flash", "elapsed": 900.0, "p95": 300.0},
        {"testrun_id": "tr-004", "phase": "flash", "elapsed": 700.0, "p95": 300.0},
        {"testrun_id": "tr-007", "phase": "queue", "elapsed": 100.0, "p95": 60.0}]
    files = {"farm": {"path": str(path), "events": 123, "testruns": 40, "error": None},
             "other": {"path": "/x.h5", "events": 0, "testruns": 0, "error": "gone"}}
    got = parse(metrics.exposition(metrics.compute(engine, summary, files, now=NOW)))

    health = got["trmon_host_health"]
    assert {dict(k)["health"]: v for k, v in health.items() if dict(k)["host"] == "worker1"} \
        == {"good": 0, "suspect": 0, "bad": 1}
    assert len(health) == 2 * 3
    assert got["trmon_host_error_streak"][(("host", "worker1"),)] == 4
    overdue = got["trmon_overdue_testruns"]
    assert overdue[(("device_group", "lab-1"), ("phase", "flash"))] == 2
    assert overdue[(("device_group", "lab-1"), ("phase", "queue"))] == 1
    assert overdue[(("device_group", "lab-0"), ("phase", "publish"))] == 0
    assert len(overdue) == 3 * 5, "every group has every phase, zeros included"
    assert got["trmon_file_up"] == {(("file", "farm"),): 1, (("file", "other"),): 0}
    assert got["trmon_file_events"][(("file", "farm"),)] == 123

    for group, s in summary["groups"].items():
        assert got["trmon_testruns"][(("device_group", group), ("state", "queued"))] == \
            s["queued"]
        assert got["trmon_testruns_ended_total"][(("device_group", group),
                                                  ("result", "error"))] == s["errors"]
        stats = s["durations"]["flash"]
        key = (("device_group", group), ("phase", "flash"))
        assert got["trmon_phase_duration_seconds_count"][key] == stats["n"]
        assert got["trmon_phase_duration_seconds_sum"][key] == stats["n"] * stats["mean"]
        le = {dict(k)["le"]: v for k, v in got["trmon_phase_duration_seconds_bucket"].items()
              if (dict(k)["device_group"], dict(k)["phase"]) == (group, "flash")}
        assert list(le) == [*(f"{b:.1f}" for b in metrics.BUCKETS), "+Inf"]
        assert list(le.values()) == sorted(le.values()) and le["+Inf"] == stats["n"]


def test_without_hosts_or_overdue_those_series_are_left_out(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(13, runs=10))
    engine = engine_of(path)
    summary = engine.summary(now=NOW)
    summary["all"].pop("hosts", None)
    for s in summary["groups"].values():
        s.pop("overdue", None)
    got = parse(metrics.exposition(metrics.compute(engine, summary, {}, now=NOW)))
    assert "trmon_host_health" not in got and "trmon_overdue_testruns" not in got
    assert got["trmon_events_total"][(("device_group", "lab-0"), ("event", "boot_start"))] > 0
