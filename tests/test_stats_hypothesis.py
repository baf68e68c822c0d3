"""Random event streams: incremental == cold == reference, exactly.

Streams interleave concurrent testruns at random, repeat flash/boot/test iterations (nested too),
drop events, end in errors in any phase (before or after test_start), add unknown names, let
the clock run backwards and jump by hours, give requests zero, one or several worker hosts
(a host twice with different instances too), and repeat requests with other hosts (only the
first counts).
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats_reference import reference_insight, reference_summary, same, to_batches

from store.stats import StatsEngine, helper, overdue

STEPS = ["request", "queue_start", "queue_end", "flash", "boot", "test", "publish"]
NOW = 10_000.0
HOSTS = ["w1", "w2", "lab host 3"]
BUCKETS = {"hour": 3600.0, "day": 86400.0}


@st.composite
def one_script(draw) -> list[tuple[str, str]]:
    """The event names of one testrun, in its own order."""
    group = draw(st.sampled_from(["g1", "g2", "lab 3"]))
    names: list[str] = []
    for step in STEPS:
        if draw(st.integers(0, 9)) == 0:  # a missing step
            continue
        if step in ("flash", "boot", "test"):
            for _ in range(draw(st.integers(0, 3))):
                opens = draw(st.integers(1, 2))  # 2 = nested / retried start
                names += [f"{step}_start"] * opens
                names += [f"{step}_end"] * draw(st.integers(0, opens + 1))
        else:
            names.append(step)
            if step == "request" and draw(st.integers(0, 5)) == 0:
                names.append("request")  # repeated, maybe with other hosts: ignored
        if draw(st.integers(0, 12)) == 0:
            names.append(draw(st.sampled_from(["reboot", "power_cycle", "test_end"])))
        if draw(st.integers(0, 15)) == 0:
            names.append("error")
            break
    return [(group, n) for n in names]


@st.composite
def streams(draw) -> list[dict]:
    k = draw(st.integers(1, 6))
    return interleave(draw, [draw(one_script()) for i in range(k)],
                      [0.5, 1.0, 2.25, 7.0, -3.0, 1800.0])  # backwards, by hours


def interleave(draw, scripts: list[list[tuple]], steps: list[float]) -> list[dict]:
    """The scripts' events interleaved at random; each script item is (group, name) or
    (group, name, hosts) (hosts of a request: drawn when not given)."""
    cursors = [0] * len(scripts)
    events, t = [], 100.0
    while any(c < len(s) for c, s in zip(cursors, scripts, strict=True)):
        live = [i for i in range(len(scripts)) if cursors[i] < len(scripts[i])]
        i = draw(st.sampled_from(live))
        group, name, *given_hosts = scripts[i][cursors[i]]
        cursors[i] += 1
        t += draw(st.sampled_from(steps))
        lag = draw(st.sampled_from([0.0, 0.125, 1.5, -0.25]))
        e = {"testrun_id": f"tr-{i}", "event": name, "emit": t - lag, "received": t,
             "device_group": group}
        if name == "request":
            e["requestor"] = draw(st.sampled_from(["ann@x", "bob@x", "cy@x"]))
            hosts = given_hosts[0] if given_hosts else draw(st.lists(
                st.tuples(st.sampled_from(HOSTS), st.integers(0, 2)), max_size=3))
            if hosts or draw(st.booleans()):
                e["hosts"] = json.dumps([list(pair) for pair in hosts])
        if name == "error":
            e["error"] = "Boom: failed"
        events.append(e)
    return events


FLOW = ["request", "queue_start", "queue_end", "flash_start", "flash_end", "boot_start",
        "boot_end", "test_start", "test_end", "publish"]


@st.composite
def farm_script(draw, groups: list[str]) -> list[tuple]:
    """A short testrun on 0-2 hosts, flaky when on w1: stops anywhere (still running), fails
    at any step (before test_start: an infrastructure error) or publishes."""
    group = draw(st.sampled_from(groups))
    pool = ["w1", "w2", "w2", "w2", "lab host 3", "lab host 3", "lab host 3"]  # w1 is rarer
    hosts = draw(st.lists(st.tuples(st.sampled_from(pool), st.integers(0, 1)), max_size=2))
    flaky = any(h == "w1" for h, _ in hosts)
    names = FLOW[: len(FLOW) if draw(st.booleans()) else draw(st.integers(1, len(FLOW)))]
    if draw(st.integers(0, 1 if flaky else 11)) == 0:
        names.insert(draw(st.integers(1, len(names))), "error")
    return [(group, name, hosts) for name in names]


@st.composite
def farm_streams(draw) -> list[dict]:
    """Up to 40 short testruns in one or two groups: enough samples for DESIGN's 20, hosts
    with streaks and suspect error rates, requests hours apart (empty trend buckets)."""
    groups = draw(st.sampled_from([["g1"], ["g1", "g2"]]))
    scripts = [draw(farm_script(groups)) for _ in range(draw(st.integers(3, 40)))]
    return interleave(draw, scripts, [0.0, 0.0, 1.0, 5.0, 60.0, 60.0, 600.0, -3.0, 7200.0])


def engine_over(events, cuts, clock="received", threaded=False):
    """An engine fed the events cut into batches; ``threaded``: every batch's delay logs and
    matching go to the helper thread (as a large batch's do), each overlapping the next."""
    engine = StatsEngine(clock=clock)
    saved = helper.PARALLEL_EVENTS
    helper.PARALLEL_EVENTS = 1 if threaded else saved
    try:
        for batch in to_batches(events, cuts):
            engine.apply(batch)
    finally:
        helper.PARALLEL_EVENTS = saved
    return engine


@contextmanager
def min_samples(n: int):
    """Overdue judged from n samples on (the streams are too short for DESIGN's 20)."""
    saved = overdue.MIN_SAMPLES
    overdue.MIN_SAMPLES = n
    try:
        yield
    finally:
        overdue.MIN_SAMPLES = saved


def views(engine: StatsEngine, since=None, now=NOW, bucket="hour") -> dict:
    seg = engine.segments(since=since, now=now, limit=50)
    seg["matrix"] = seg["matrix"].tolist()
    hosts = engine.hosts(since=since, now=now)
    # Before the summary: their p95s come from the samples, not from the summary's durations.
    by_overdue = [engine.testruns(s, since=since, now=now, order="overdue", limit=4)
                  for s in ("queued", "ongoing")]
    overdue_rows = engine.overdue(since=since, now=now)
    return {
        "by_overdue": by_overdue,
        "overdue": overdue_rows,
        "summary": engine.summary(since=since, now=now, trend=bucket),
        "hosts": hosts,
        "host_testruns": [engine.host_testruns(h["host"], since=since, now=now) for h in hosts],
        "trend": engine.trend(bucket, since=since, now=now),
        "segments": seg,
        "testruns": [engine.testruns(s, since=since, now=now)
                     for s in ("queued", "ongoing", "finished", "error")],
        "samples": [engine.samples(p, since=since).tolist()
                    for p in ("testrun", "init", "queue", "flash", "boot", "test", "publish")],
        "counts": engine.counts(),
    }


REFERENCE_KEYS = ("testruns", "queued", "ongoing", "finished", "errors", "error_pct",
                  "queued_ids", "ongoing_ids", "requestors", "event_counts", "durations",
                  "iterations", "anomalies")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=streams(), data=st.data(), clock=st.sampled_from(["received", "emit"]))
def test_incremental_equals_cold_equals_reference(events, data, clock):
    cuts = data.draw(st.lists(st.integers(0, len(events)), max_size=6))
    cold = engine_over(events, [], clock)
    incremental = engine_over(events, cuts, clock)
    one_by_one = engine_over(events, list(range(len(events))), clock)
    threaded = engine_over(events, cuts, clock, threaded=True)
    since = data.draw(st.sampled_from([None, 90.0, 120.0, 1900.0]))
    latest = max((e[clock] for e in events), default=NOW)
    now = data.draw(st.sampled_from([NOW, latest + 1.0, latest + 30.0, latest - 5.0]))
    bucket = data.draw(st.sampled_from(sorted(BUCKETS)))
    with min_samples(data.draw(st.sampled_from([1, 2, 3, 20]))):
        want = views(cold, since, now, bucket)
        assert views(incremental, since, now, bucket) == want
        assert views(one_by_one, since, now, bucket) == want
        assert views(threaded, since, now, bucket) == want
        insight = reference_insight(events, clock, since, now, BUCKETS[bucket],
                                    overdue.MIN_SAMPLES)
    ref = reference_summary(events, clock, since)
    got = want["summary"]
    assert sorted(got["groups"]) == sorted(ref["groups"])
    for name, summary in [("all", got["all"])] + list(got["groups"].items()):
        expected = ref["all"] if name == "all" else ref["groups"][name]
        for key in REFERENCE_KEYS:
            same(summary[key], expected[key], f"{name}.{key}")
        expected = insight["all"] if name == "all" else insight["groups"][name]
        for key in ("hosts", "overdue", "trend"):
            same(summary[key], expected[key], f"{name}.{key}")
    same(want["trend"], insight["all"]["trend"], "trend()")
    assert [{k: v for k, v in row.items() if k != "device_group"}
            for row in want["overdue"]] == got["all"]["overdue"]
    assert [len(s) for s in want["by_overdue"]] == [
        min(4, got["all"][k]) for k in ("queued", "ongoing")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=farm_streams(), data=st.data())
def test_hosts_overdue_trend_on_farm_streams(events, data):
    """Many short testruns: incremental == cold == reference for the operator insight (overdue
    from DESIGN's 20 samples, or from 5)."""
    cuts = data.draw(st.lists(st.integers(0, len(events)), max_size=6))
    cold, incremental = engine_over(events, []), engine_over(events, cuts)
    since = data.draw(st.sampled_from([None, 5000.0]))
    latest = max(e["received"] for e in events)
    now = data.draw(st.sampled_from([latest + 1.0, latest + 300.0, latest + 3000.0]))
    bucket = data.draw(st.sampled_from(sorted(BUCKETS)))
    with min_samples(data.draw(st.sampled_from([5, 20]))):
        want = views(cold, since, now, bucket)
        assert views(incremental, since, now, bucket) == want
        insight = reference_insight(events, "received", since, now, BUCKETS[bucket],
                                    overdue.MIN_SAMPLES)
    got = want["summary"]
    for name, summary in [("all", got["all"])] + list(got["groups"].items()):
        expected = insight["all"] if name == "all" else insight["groups"][name]
        for key in ("hosts", "overdue", "trend"):
            same(summary[key], expected[key], f"{name}.{key}")
    assert [{k: v for k, v in row.items() if k != "device_group"}
            for row in want["overdue"]] == got["all"]["overdue"]
    late = [r["testrun_id"] for rows in want["by_overdue"] for r in rows if r["overdue"]]
    assert set(late) <= {row["testrun_id"] for row in got["all"]["overdue"]}


@settings(max_examples=40, deadline=None)
@given(events=streams(), data=st.data())
def test_segments_consistent_with_durations(events, data):
    """Finished testruns' bars: flash/boot/test sums equal the sum of their iterations."""
    engine = engine_over(events, data.draw(st.lists(st.integers(0, len(events)), max_size=4)))
    # After every event: a running bar never starts in the future (the streams' hour jumps
    # can take events past NOW, and such a bar is drawn as 0, not negative).
    now = max([NOW] + [e["received"] for e in events]) + 1.0
    seg = engine.segments(now=now, limit=100)
    assert seg["total"] == engine.counts()["testruns"]
    assert np.all(seg["matrix"] >= 0)
    total_flash = sum(engine.samples("flash"))
    assert np.isclose(seg["matrix"][:, 2].sum() - _open_part(seg, engine, now), total_flash)


def _open_part(seg, engine, now: float) -> float:
    """The growing part of running flash bars (not closed iterations)."""
    rows = [i for i, r in enumerate(seg["running"]) if r == "flash"]
    if not rows:
        return 0.0
    ongoing = {r["testrun_id"]: r for r in engine.testruns("ongoing", now=now)
               + engine.testruns("queued", now=now)}
    return sum(now - ongoing[seg["testrun_ids"][i]]["phase_since"] for i in rows)
