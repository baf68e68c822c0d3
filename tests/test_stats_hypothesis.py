"""Random event streams: incremental == cold == reference, exactly.

Streams interleave concurrent testruns at random, repeat flash/boot/test iterations (nested too),
drop events, end in errors in any phase, add unknown names, and let the clock run backwards.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats_reference import reference_summary, same, to_batches

from store.stats import StatsEngine, helper

STEPS = ["request", "queue_start", "queue_end", "flash", "boot", "test", "publish"]
NOW = 10_000.0


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
        if draw(st.integers(0, 12)) == 0:
            names.append(draw(st.sampled_from(["reboot", "power_cycle", "test_end"])))
        if draw(st.integers(0, 15)) == 0:
            names.append("error")
            break
    return [(group, n) for n in names]


@st.composite
def streams(draw) -> list[dict]:
    k = draw(st.integers(1, 6))
    scripts = [draw(one_script()) for i in range(k)]
    cursors = [0] * k
    events, t = [], 100.0
    while any(c < len(s) for c, s in zip(cursors, scripts, strict=True)):
        live = [i for i in range(k) if cursors[i] < len(scripts[i])]
        i = draw(st.sampled_from(live))
        group, name = scripts[i][cursors[i]]
        cursors[i] += 1
        t += draw(st.sampled_from([0.5, 1.0, 2.25, 7.0, -3.0]))  # sometimes backwards
        lag = draw(st.sampled_from([0.0, 0.125, 1.5, -0.25]))
        e = {"testrun_id": f"tr-{i}", "event": name, "emit": t - lag, "received": t,
             "device_group": group}
        if name == "request":
            e["requestor"] = draw(st.sampled_from(["ann@x", "bob@x", "cy@x"]))
        if name == "error":
            e["error"] = "Boom: failed"
        events.append(e)
    return events


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


def views(engine: StatsEngine, since=None) -> dict:
    seg = engine.segments(since=since, now=NOW, limit=50)
    seg["matrix"] = seg["matrix"].tolist()
    return {
        "summary": engine.summary(since=since, now=NOW),
        "segments": seg,
        "testruns": [engine.testruns(s, since=since, now=NOW)
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
    since = data.draw(st.sampled_from([None, 90.0, 120.0]))
    want = views(cold, since)
    assert views(incremental, since) == want
    assert views(one_by_one, since) == want
    assert views(threaded, since) == want
    ref = reference_summary(events, clock, since)
    got = want["summary"]
    assert sorted(got["groups"]) == sorted(ref["groups"])
    for name, summary in [("all", got["all"])] + list(got["groups"].items()):
        expected = ref["all"] if name == "all" else ref["groups"][name]
        for key in REFERENCE_KEYS:
            same(summary[key], expected[key], f"{name}.{key}")


@settings(max_examples=40, deadline=None)
@given(events=streams(), data=st.data())
def test_segments_consistent_with_durations(events, data):
    """Finished testruns' bars: flash/boot/test sums equal the sum of their iterations."""
    engine = engine_over(events, data.draw(st.lists(st.integers(0, len(events)), max_size=4)))
    seg = engine.segments(now=NOW, limit=100)
    assert seg["total"] == engine.counts()["testruns"]
    assert np.all(seg["matrix"] >= 0)
    total_flash = sum(engine.samples("flash"))
    assert np.isclose(seg["matrix"][:, 2].sum() - _open_part(seg, 2, engine), total_flash)


def _open_part(seg, col, engine) -> float:
    """The growing part of running flash bars (not closed iterations)."""
    rows = [i for i, r in enumerate(seg["running"]) if r == "flash"]
    if not rows:
        return 0.0
    ongoing = {r["testrun_id"]: r for r in engine.testruns("ongoing", now=NOW)
               + engine.testruns("queued", now=NOW)}
    return sum(NOW - ongoing[seg["testrun_ids"][i]]["phase_since"] for i in rows)
