"""StatsEngine against hand-checked numbers and the reference of stats_reference.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from stats_reference import reference_summary, same, to_batches

from store import schema
from store.batch import Batch, Reset
from store.stats import StatsEngine, describe
from store.stats.describe import FEW_VALUES, _few_values, describe_histogram


def ev(tid, name, t, lag=0.5, **kw):
    return dict(testrun_id=tid, event=name, emit=t - lag, received=t, **kw)


def story() -> list[dict]:
    """Two groups, a finished run with two flashes, an error, a queued one, anomalies."""
    return [
        ev("a", "request", 0, device_group="g1", requestor="x@y"),
        ev("b", "request", 1, device_group="g2", requestor="z@y"),
        ev("a", "queue_start", 2), ev("a", "queue_end", 5), ev("b", "queue_start", 6),
        ev("a", "flash_start", 7), ev("a", "flash_end", 9),
        ev("a", "flash_start", 10), ev("a", "flash_end", 14),
        ev("a", "boot_start", 15), ev("a", "boot_end", 16),
        ev("a", "test_start", 17), ev("a", "weird", 17.5), ev("a", "test_end", 20),
        ev("a", "publish", 22),
        ev("b", "queue_end", 25), ev("b", "flash_end", 26), ev("b", "error", 27, error="X: y"),
        ev("c", "queue_start", 28, device_group="g1"),
    ]


def run_engine(events, cuts=(), clock="received"):
    engine = StatsEngine(clock=clock)
    for batch in to_batches(events, list(cuts)):
        engine.apply(batch)
    return engine


def test_hand_checked_story():
    s = run_engine(story(), [3, 8]).summary(now=30)["all"]
    assert (s["testruns"], s["queued"], s["ongoing"], s["finished"], s["errors"]) == (3, 1, 0, 1, 1)
    assert s["error_pct"] == 50.0
    assert s["queued_ids"] == ["c"]
    assert s["durations"]["flash"]["n"] == 2 and s["durations"]["flash"]["mean"] == 3.0
    assert s["durations"]["testrun"]["max"] == 22.0
    assert s["durations"]["queue"]["min"] == 3.0
    assert s["iterations"]["flash"]["max"] == 2.0
    assert s["event_counts"]["weird"] == 1
    assert s["anomalies"] == {"unknown_events": 1, "ends_without_start": 1,
                              "negative_durations": 0, "unrequested_events": 1}
    assert s["oldest_queued_wait"] == 2.0
    assert s["requestors"][0] == {"requestor": "x@y", "requests": 1, "errors": 0}
    assert s["delivery_delay"]["request"]["mean"] == 0.5


def test_matches_reference_and_every_split():
    events = story()
    want = reference_summary(events)
    cold = run_engine(events).summary(now=30)
    for key, value in want["all"].items():
        same(cold["all"][key], value, key)
    assert sorted(cold["groups"]) == sorted(want["groups"])
    for cut in range(len(events) + 1):
        assert run_engine(events, [cut]).summary(now=30) == cold


def test_group_filter_and_since():
    engine = run_engine(story())
    g1 = engine.summary(group="g1", now=30)
    assert list(g1["groups"]) == ["g1"] and g1["all"] == g1["groups"]["g1"]
    assert g1["all"]["testruns"] == 2
    late = engine.summary(since=0.5, now=30)["all"]
    assert late["testruns"] == 1 and late["errors"] == 1
    missing = engine.summary(group="nope", now=30)
    assert missing["all"]["testruns"] == 0 and missing["all"]["error_pct"] is None
    assert engine.groups() == ["g1", "g2"]


def test_emit_clock_and_negative_durations():
    events = [ev("a", "request", 10, device_group="g"), ev("a", "queue_start", 5, lag=-20)]
    s = run_engine(events, clock="received").summary(now=30)["all"]
    assert s["durations"]["init"]["n"] == 0 and s["anomalies"]["negative_durations"] == 1
    s = run_engine(events, clock="emit").summary(now=30)["all"]
    assert s["durations"]["init"]["min"] == pytest.approx(15.5)


def test_nested_lifo_and_open_phase():
    events = [ev("a", "request", 0, device_group="g"), ev("a", "queue_start", 1),
              ev("a", "queue_end", 2), ev("a", "flash_start", 3), ev("a", "flash_start", 4),
              ev("a", "flash_end", 6), ev("a", "flash_end", 10), ev("a", "flash_end", 11),
              ev("a", "boot_start", 12)]
    engine = run_engine(events, [5])
    assert sorted(engine.samples("flash")) == [2.0, 7.0]
    s = engine.summary(now=20)["all"]
    assert s["anomalies"]["ends_without_start"] == 1
    rows = engine.testruns("ongoing", now=20)
    assert rows[0]["phase"] == "boot" and rows[0]["phase_since"] == 12.0
    seg = engine.segments(now=20)
    assert seg["running"] == ["boot"]
    assert seg["matrix"][0].tolist() == [1.0, 1.0, 9.0, 8.0, 0.0, 0.0]


def test_reset_and_empty():
    engine = run_engine(story())
    engine.apply(Reset("replaced"))
    s = engine.summary(now=0)
    assert s["groups"] == {} and s["all"]["testruns"] == 0
    assert s["all"]["durations"]["flash"] == describe(np.empty(0))
    assert engine.counts() == {"events": 0, "testruns": 0}


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 20, 21, 101, 1000, 70_001])
@pytest.mark.parametrize("kind", ["normal", "ties", "float32"])
def test_describe_equals_numpy(n, kind):
    rng = np.random.default_rng(n)
    values = rng.normal(100, 30, n) if kind != "ties" else rng.integers(0, 3, n) * 1.5
    if kind == "float32":  # delivery delays: near one value, where float32 rounding shows
        values = (1e3 + values / 1e3).astype(np.float32)
    d = describe(values)
    assert d["p50"] == np.percentile(values, 50) and d["p95"] == np.percentile(values, 95)
    assert d["min"] == values.min() and d["max"] == values.max()
    exact = np.asarray(values, np.float64)
    mean = math.fsum(exact.tolist()) / n
    assert math.isclose(d["mean"], mean, rel_tol=1e-12)
    std = math.sqrt(math.fsum(((exact - mean) ** 2).tolist()) / n)
    assert math.isclose(d["std"], std, rel_tol=1e-9, abs_tol=1e-12)
    assert describe(values.copy(), owned=True) == d  # partitioned in place: the same figures


def test_summary_without_delivery_delay_is_the_rest_unchanged():
    engine = run_engine(story())
    full, lean = engine.summary(now=30), engine.summary(now=30, delivery_delay=False)
    assert "delivery_delay" not in lean["all"] and "delivery_delay" in full["all"]
    for summary in [full["all"], *full["groups"].values()]:
        del summary["delivery_delay"]
    assert lean == full


@pytest.mark.parametrize("seed", range(8))
def test_histogram_statistics_equal_the_sample_ones(seed):
    rng = np.random.default_rng(seed)
    sample = rng.integers(1, 6, rng.integers(1, 50))
    got, want = describe_histogram(np.bincount(sample)), describe(sample.astype(float))
    assert got.pop("std") == pytest.approx(want.pop("std"), rel=1e-12, abs=1e-12)
    assert got == want


def test_summary_of_all_in_a_second_thread_is_the_same(monkeypatch):
    from store.stats import summary as summary_mod

    engine = run_engine(story(), [5])
    plain = engine.summary(now=30)
    monkeypatch.setattr(summary_mod, "THREAD_RUNS", 0)  # large-state path on a small state
    assert engine.summary(now=30) == plain
    assert engine.summary(now=30, since=1) == run_engine(story()).summary(now=30, since=1)


def test_batch_of_columns_and_its_tail():
    """A Batch made of event columns assembles its records on demand; the tail of a batch
    (the monitor keeps the newest events of a big one) has its own columns and rows."""
    events = np.zeros(5, dtype=schema.EVENT_DTYPE)
    events["run"] = [0, 1, 2, 3, 4]
    events["code"] = schema.CODE["request"]
    events["received"] = [1.5, 2.5, 3.5, 4.5, 5.5]
    requests = np.zeros(5, dtype=schema.REQUEST_DTYPE)
    requests["event_row"] = np.arange(10, 15)
    columns = {name: np.ascontiguousarray(events[name]) for name in schema.EVENT_DTYPE.names}
    batch = Batch(first_event_row=10, event_columns=columns, requests=requests)
    assert len(batch) == 5 and batch.events.tolist() == events.tolist()
    assert batch.column("run").tolist() == [0, 1, 2, 3, 4]
    tail = batch.with_events_from(3)
    assert tail.first_event_row == 13 and tail.column("run").tolist() == [3, 4]
    assert tail.events.tolist() == events[3:].tolist()
    assert tail.requests["event_row"].tolist() == [13, 14]


def test_summary_in_threads_equals_inline(monkeypatch):
    """On a large state the sample statistics are computed by two threads: same figures."""
    from store.stats import summary as summary_module

    engine = run_engine(story())
    group = sorted(engine.groups())[0]
    inline, inline_group = engine.summary(now=30), engine.summary(now=30, group=group)
    monkeypatch.setattr(summary_module, "THREAD_RUNS", 0)
    assert engine.summary(now=30) == inline
    assert engine.summary(now=30, group=group) == inline_group


@pytest.mark.parametrize("cuts", [[], [10_000, 20_000, 30_000]])
def test_per_run_counts_outgrow_their_narrow_dtype(cuts):
    """A run with more events of one code than int16 holds (the per-run counts' first dtype)
    is counted exactly: the column is widened before it could overflow, in one batch or
    over several."""
    n = 40_000
    events = [ev("a", "request", 0, device_group="g", requestor="r")]
    events += [ev("a", "test_start", 1 + i * 1e-3) for i in range(n)]
    events += [ev("b", "request", 100, device_group="g", requestor="r")]
    engine = run_engine(events, cuts)
    s = engine.summary(since=-1.0, now=200)["all"]  # a window: counts from the per-run column
    assert s["event_counts"]["test_start"] == n
    assert s["iterations"]["test"]["max"] == n
    assert engine.state.runs.counts.dtype == np.int32
    small = run_engine(events[:100] + events[-1:], [50])
    assert small.state.runs.counts.dtype == np.int16  # nothing near the limit: kept narrow
    assert small.summary(since=-1.0, now=200)["all"]["event_counts"]["test_start"] == 99


def test_an_engine_without_delays_says_the_same_and_refuses_delays():
    """StatsEngine(delays=False) (the monitor's, the exporter's): every figure but the
    delivery delays is the same, unknown names are still counted, and asking for delays is
    an error rather than a silent empty answer."""
    events = story()
    full = run_engine(events, [3, 8]).summary(now=30, delivery_delay=False)
    lean = StatsEngine(delays=False)
    for batch in to_batches(events, [3, 8]):
        lean.apply(batch)
    assert lean.summary(now=30, delivery_delay=False) == full
    assert lean.summary(now=30, delivery_delay=False)["all"]["event_counts"]["weird"] == 1
    assert not any(code < schema.N_KNOWN for _slot, code in lean.state.delays)
    with pytest.raises(ValueError, match="no delivery delays"):
        lean.summary(now=30)


def test_delays_kept_without_their_runs_serve_only_the_whole_history():
    """StatsEngine(delay_runs=False) (`report` without --since): the same summary, unknown
    names still counted in a window, and a window over the delays refused, not guessed."""
    events = story()
    full = run_engine(events, [3, 8])
    lean = StatsEngine(delay_runs=False)
    for batch in to_batches(events, [3, 8]):
        lean.apply(batch)
    assert lean.summary(now=30) == full.summary(now=30)
    windowed = dict(now=30, since=0.5, delivery_delay=False)
    assert lean.summary(**windowed) == full.summary(**windowed)
    with pytest.raises(ValueError, match="no time window"):
        lean.summary(now=30, since=0.5)


@pytest.mark.parametrize("distinct", [1, 2, 3, 8, 9, 40])
@pytest.mark.parametrize("n", [4095, 4096, 10_001, 200_000])
def test_order_statistics_of_few_distinct_values_equal_numpy(distinct, n):
    """Samples of a few distinct values (whole seconds, delays of 0 or 1) take the counting
    path of describe.order_statistics: the same figures as numpy's, in any order, with a
    stray other value (the probe misses it) and with a -0.0 among the zeros."""
    rng = np.random.default_rng(distinct * n)
    values = rng.integers(0, distinct, n).astype(np.float64) * 1.5
    stray = values.copy()
    stray[n // 2048 * 1024 + 1] = 1e9  # off the probe's stride
    signed = values.copy()
    signed[values == 0] = 0.0
    signed[np.flatnonzero(values == 0)[:1]] = -0.0
    for sample in (values, stray, np.sort(values), np.sort(values)[::-1].copy(),
                   values.astype(np.float32), signed):
        d = describe(sample)
        assert (d["p50"], d["p95"]) == (np.percentile(sample, 50), np.percentile(sample, 95))
        assert (d["min"], d["max"]) == (sample.min(), sample.max())
    counted = distinct <= FEW_VALUES and n >= 4096
    assert (_few_values(values) is not None) == counted  # the path under test was taken
    assert _few_values(stray) is None and _few_values(signed) is None  # the partition's


def test_file_rows_past_int32_widen_their_columns():
    """The first test_start / publish / error rows are int32 until a batch reaches row 2**31:
    then int64, and every figure (the hosts' infrastructure errors order by these rows) is
    the same as for the same events at small rows."""
    events = story()
    small = run_engine(events, [3, 8])
    big = StatsEngine()
    for batch in to_batches(events, [3, 8]):
        batch.first_event_row += 2**31 - 6  # the story's rows straddle 2**31
        big.apply(batch)
    assert big.state.runs.error_row.dtype == np.int64
    assert small.state.runs.error_row.dtype == np.int32
    assert big.summary(now=30) == small.summary(now=30)
    assert int(big.state.runs.test_start_row[0]) == 2**31 - 6 + 11  # "a"'s test_start, row 11
