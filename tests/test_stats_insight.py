"""Operator insight (DESIGN.md): the edge cases of each definition, one by one.

Worker hosts (streak, infra_errors, last_ok, health), overdue testruns and trends, on small
hand-made streams fed to a StatsEngine as the tail reader would (stats_reference.to_batches).
"""

from __future__ import annotations

import json

import pytest
from stats_reference import reference_insight, same, to_batches

from store.stats import StatsEngine, TrendTooLong

T0 = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC
HOUR, DAY = 3600.0, 86400.0


def ev(tid: str, name: str, t: float, group: str = "g", **extra) -> dict:
    e = {"testrun_id": tid, "event": name, "emit": t, "received": t, "device_group": group}
    if "hosts" in extra and not isinstance(extra["hosts"], str):
        extra["hosts"] = json.dumps(extra["hosts"])
    e.update(extra)
    if name == "error":
        e.setdefault("error", "Boom: failed")
    return e


def engine(events: list[dict], cuts=()) -> StatsEngine:
    eng = StatsEngine()
    for batch in to_batches(events, list(cuts)):
        eng.apply(batch)
    return eng


def on(host: str, tid: str, t: float, outcome: str, group: str = "g", end: float | None = None):
    """A testrun on one host: request at t, then publish or error at ``end`` (t + 10)."""
    end = t + 10 if end is None else end
    return [ev(tid, "request", t, group, hosts=[[host, 1]]), ev(tid, outcome, end, group)]


def hosts_of(eng: StatsEngine, now: float = T0, **query) -> dict:
    return eng.summary(now=now, **query)["all"]["hosts"]


# ---- worker hosts --------------------------------------------------------------------------

def test_streak_ties_broken_by_file_order():
    a, b = on("h", "a", T0, "publish", end=T0 + 50), on("h", "b", T0, "error", end=T0 + 50)
    error_last = a[:1] + b[:1] + [a[1], b[1]]  # same end time: the later row ends last
    publish_last = a[:1] + b[:1] + [b[1], a[1]]
    assert hosts_of(engine(error_last))["h"]["streak"] == 1
    assert hosts_of(engine(publish_last))["h"]["streak"] == 0


def test_streak_orders_by_the_clock_not_by_arrival():
    late_error = ev("b", "error", T0 + 20)  # ended before a, arrives after it
    events = [*on("h", "a", T0, "publish", end=T0 + 50), ev("b", "request", T0, hosts=[["h", 1]]),
              late_error]
    host = hosts_of(engine(events))["h"]
    assert host["streak"] == 0 and host["last_ok"] == T0 + 50


def test_streak_health_bad_from_three_and_ongoing_runs_do_not_count():
    events = on("h", "ok", T0, "publish")
    for i in range(3):
        events += on("h", f"e{i}", T0 + 100 * (i + 1), "error")
        if i == 1:
            events += [ev("run", "request", T0 + 150, hosts=[["h", 1]]),
                       ev("run", "queue_end", T0 + 160)]  # ongoing: not ended
            two = hosts_of(engine(events))["h"]
            assert (two["streak"], two["health"], two["ongoing"]) == (2, "good", 1)
    three = hosts_of(engine(events))["h"]
    assert (three["streak"], three["health"], three["errors"]) == (3, "bad", 3)
    assert three["last_ok"] == T0 + 10 and three["error_pct"] == 75.0


def test_last_ok_is_null_without_a_finished_testrun():
    host = hosts_of(engine(on("h", "a", T0, "error")))["h"]
    assert host["last_ok"] is None and host["streak"] == 1 and host["health"] == "good"


@pytest.mark.parametrize("others, health", [(6, "suspect"), (7, "suspect"), (5, "good")])
def test_suspect_at_twice_the_error_rate(others, health):
    """x: 3 errors of 6 (50 %) never 3 in a row; y: ``others`` finished.  The SUMMARY's rate
    is 3 / (6 + others): 25 % with 6 others, exactly half of x's (suspect), above with 5."""
    events, t = [], T0
    for i, outcome in enumerate(["error", "publish"] * 3):
        events += on("x", f"x{i}", t, outcome)
        t += 100
    for i in range(others):
        events += on("y", f"y{i}", t, "publish")
        t += 100
    hosts = hosts_of(engine(events))
    assert hosts["x"]["health"] == health and hosts["x"]["streak"] == 0
    assert hosts["y"]["health"] == "good"


def test_infra_errors_follow_file_order():
    events = [
        ev("flash", "request", T0, hosts=[["h", 1]]), ev("flash", "flash_start", T0 + 1),
        ev("flash", "error", T0 + 2),  # flashing failed: infrastructure
        ev("test", "request", T0, hosts=[["h", 1]]), ev("test", "test_start", T0 + 1),
        ev("test", "error", T0 + 2),  # the software under test failed
        ev("late", "request", T0, hosts=[["h", 1]]), ev("late", "error", T0 + 2),
        ev("late", "test_start", T0 + 3),  # after the error: still infrastructure
        ev("skew", "request", T0, hosts=[["h", 1]]), ev("skew", "test_start", T0 + 9),
        ev("skew", "error", T0 + 2),  # the clock says before, the file says after: not infra
    ]
    host = hosts_of(engine(events))["h"]
    assert (host["errors"], host["infra_errors"]) == (4, 2)
    rows = {r["testrun_id"]: r for r in engine(events).host_testruns("h", now=T0)}
    assert {k for k, r in rows.items() if r["infra"]} == {"flash", "late"}
    assert rows["flash"]["phase"] == "flash" and rows["test"]["phase"] == "test"
    assert rows["flash"]["error"] == "Boom: failed" and rows["flash"]["end"] == T0 + 2


def test_hosts_come_from_the_first_request_only():
    events = [
        ev("a", "request", T0, hosts=[["w1", 1], ["w1", 2], ["w2", 1]]),
        ev("a", "request", T0 + 1, hosts=[["w3", 1]]),  # a repeated request: ignored
        ev("b", "request", T0),  # no hosts: on no host
        ev("c", "request", T0, hosts="not json"),  # a foreign file's text: no host either
        ev("d", "request", T0, hosts=[]),
        ev("d", "request", T0 + 1, hosts=[["w3", 1]]),  # the first request had none: none
    ]
    hosts = hosts_of(engine(events))
    assert sorted(hosts) == ["w1", "w2"] and hosts["w1"]["testruns"] == 1
    assert hosts == hosts_of(engine(events, cuts=[1, 2, 4, 5]))


def test_hosts_per_group_window_and_rows_sorted_worst_first():
    events = []
    for i in range(3):
        events += on("bad", f"b{i}", T0 + i * 100, "error", group="g1")
    for i, outcome in enumerate(["error", "error", "publish", "error", "publish"]):
        events += on("sus", f"s{i}", T0 + i * 100, outcome, group="g2")
    for i in range(20):
        events += on(f"ok{i % 2}", f"o{i}", T0 + i * 100, "publish", group="g2")
    events += on("gone", "old", T0 - DAY, "error", group="g2")
    eng = engine(events)
    summary = eng.summary(now=T0)
    assert sorted(summary["groups"]["g1"]["hosts"]) == ["bad"]
    assert "bad" not in summary["groups"]["g2"]["hosts"]
    rows = eng.hosts(now=T0, since=T0 - HOUR)
    assert [(r["host"], r["health"]) for r in rows] == [
        ("bad", "bad"), ("sus", "suspect"), ("ok0", "good"), ("ok1", "good")]
    assert [r["host"] for r in eng.hosts(now=T0, group="g2")][:2] == ["sus", "gone"]
    assert eng.hosts(now=T0, group="g1", since=T0 + HOUR) == []


def test_hosts_rows_say_what_runs_now():
    events = [ev(f"r{i}", "request", T0 + i, hosts=[["h", 1]]) for i in range(5)]
    events += [ev(f"r{i}", "queue_end", T0 + 10 + i) for i in range(4)]
    events += [ev("r3", "flash_start", T0 + 20)]
    row = engine(events).hosts(now=T0 + 30)[0]
    assert row["ongoing"] == 4 and row["testruns"] == 5 and row["error_pct"] is None
    assert [(r["testrun_id"], r["phase"]) for r in row["running"]] == [
        ("r3", "flash"), ("r2", "pulled"), ("r1", "pulled")]
    assert row["running"][0]["phase_since"] == T0 + 20


def test_host_testruns_newest_first_with_a_limit():
    events = []
    for i in range(5):
        events += on("h", f"r{i}", T0 + 100 * i, "publish" if i % 2 else "error")
    rows = engine(events).host_testruns("h", now=T0, limit=3)
    assert [r["testrun_id"] for r in rows] == ["r4", "r3", "r2"]
    assert [r["status"] for r in rows] == ["error", "finished", "error"]
    assert rows[0]["request"] == T0 + 400 and rows[0]["end"] == T0 + 410
    assert engine(events).host_testruns("nobody", now=T0) == []


# ---- overdue -------------------------------------------------------------------------------

def waited(n: int, group: str = "g", wait: float = 60.0, t: float = T0) -> list[dict]:
    """n testruns of ``group`` requested at t that each waited ``wait`` seconds in the queue."""
    out = []
    for i in range(n):
        tid = f"{group}-{t}-done-{i}"
        out += [ev(tid, "request", t, group), ev(tid, "queue_start", t, group),
                ev(tid, "queue_end", t + wait, group)]
    return out


def overdue_of(eng: StatsEngine, now: float) -> dict:
    s = eng.summary(now=now)
    return {name: [(o["testrun_id"], o["phase"]) for o in part["overdue"]]
            for name, part in [("all", s["all"]), *s["groups"].items()]}


def test_overdue_needs_20_samples_of_the_phase():
    waiting = [ev("w", "request", T0, "g"), ev("w", "queue_start", T0 + 1000, "g")]
    few = engine(waited(19) + waiting)
    assert overdue_of(few, T0 + 1200)["all"] == []
    enough = engine(waited(20) + waiting)
    assert overdue_of(enough, T0 + 1200)["all"] == [("w", "queue")]
    entry = enough.summary(now=T0 + 1200)["all"]["overdue"][0]
    assert entry == {"testrun_id": "w", "phase": "queue", "elapsed": 200.0, "p95": 60.0}
    assert overdue_of(enough, T0 + 1060)["all"] == []  # elapsed == p95: not overdue


def test_what_is_judged_and_since_when():
    events = waited(20) + [
        ev("no-queue-start", "request", T0, "g"),  # queued without queue_start: not judged
        ev("pulled", "request", T0, "g"), ev("pulled", "queue_start", T0, "g"),
        ev("pulled", "queue_end", T0 + 1, "g"),  # between phases: not judged
    ]
    flash = [ev(f"f{i}", n, T0 + k, "g") for i in range(20)
             for k, n in enumerate(["request", "queue_start", "queue_end", "flash_start",
                                    "flash_end"])]
    events += flash + [
        ev("flashing", "request", T0, "g"), ev("flashing", "queue_end", T0, "g"),
        ev("flashing", "flash_start", T0 + 2, "g"),
        ev("published", "request", T0, "g"), ev("published", "queue_end", T0, "g"),
        ev("published", "test_end", T0 + 2, "g"),  # publish phase: no samples, not judged
    ]
    eng = engine(events)
    assert overdue_of(eng, T0 + 100)["all"] == [("flashing", "flash")]
    rows = {r["testrun_id"]: r for r in eng.testruns("ongoing", now=T0 + 100)
            + eng.testruns("queued", now=T0 + 100)}
    assert rows["flashing"]["judged_phase"] == "flash" and rows["flashing"]["overdue"] == 98.0
    assert rows["flashing"]["judged_since"] == T0 + 2 and rows["flashing"]["p95"] == 1.0
    assert rows["published"]["judged_phase"] == "publish" and rows["published"]["p95"] is None
    for tid in ("no-queue-start", "pulled"):
        assert rows[tid]["judged_phase"] is None and rows[tid]["overdue"] is None


def test_each_group_is_judged_by_its_own_samples():
    events = waited(20, "fast", 60.0) + waited(20, "slow", 600.0)
    for group in ("fast", "slow"):
        events += [ev(f"{group}-w", "request", T0, group),
                   ev(f"{group}-w", "queue_start", T0, group)]
    events += [ev("fast-w2", "request", T0, "fast"), ev("fast-w2", "queue_start", T0 + 100, "fast")]
    got = overdue_of(engine(events), T0 + 300)
    assert got == {"all": [("fast-w", "queue"), ("fast-w2", "queue")],
                   "fast": [("fast-w", "queue"), ("fast-w2", "queue")], "slow": []}
    assert overdue_of(engine(events), T0 + 1000)["all"][2:] == [("slow-w", "queue")]
    listed = engine(events).overdue(now=T0 + 300)
    assert [o["device_group"] for o in listed] == ["fast", "fast"]


def test_overdue_within_a_window_uses_the_window_samples():
    old = waited(20, wait=100.0, t=T0 - DAY)
    events = old + waited(20, wait=10.0) + [ev("w", "request", T0, "g"),
                                            ev("w", "queue_start", T0, "g")]
    eng = engine(events)
    now = T0 + 40
    assert overdue_of(eng, now)["all"] == []  # the p95 of all history is 100 s
    windowed = eng.summary(now=now, since=T0 - HOUR)["all"]
    assert windowed["overdue"] == [{"testrun_id": "w", "phase": "queue", "elapsed": 40.0,
                                    "p95": 10.0}]
    assert [r["overdue"] for r in eng.testruns("queued", now=now, since=T0 - HOUR)] == [4.0]
    assert [r["overdue"] for r in eng.testruns("queued", now=now)] == [None]


def test_testruns_sorted_most_overdue_first():
    events = waited(20) + [ev("new", "request", T0 + 500, "g")]
    for i, start in enumerate([T0 + 100, T0 + 50, T0 + 360, T0 + 50]):
        events += [ev(f"w{i}", "request", T0, "g"), ev(f"w{i}", "queue_start", start, "g")]
    eng = engine(events)
    rows = eng.testruns("queued", now=T0 + 400, order="overdue")
    assert [r["testrun_id"] for r in rows] == ["w1", "w3", "w0", "new", "w2"]  # ties: file order
    assert rows[0]["overdue"] == pytest.approx(350 / 60) and rows[-1]["overdue"] is None
    assert [r["testrun_id"] for r in eng.testruns("queued", now=T0 + 400, order="overdue",
                                                   offset=2, limit=2)] == ["w0", "new"]
    with pytest.raises(ValueError, match="order"):
        eng.testruns("queued", order="oldest")


# ---- trends --------------------------------------------------------------------------------

def test_trend_rows_by_hour_include_empty_buckets():
    start = 1_790_000_000.0 // HOUR * HOUR  # an hour boundary, UTC
    events = [ev("a", "request", start + 1800), ev("a", "queue_start", start + 1810),
              ev("a", "queue_end", start + 1870), ev("a", "publish", start + 4000),
              ev("b", "request", start + 2 * HOUR + 5), ev("b", "error", start + 2 * HOUR + 9),
              ev("lone", "queue_start", start + 5 * HOUR)]  # never requested: in no bucket
    rows = engine(events).trend("hour", now=start)
    assert [r["start"] for r in rows] == [start, start + HOUR, start + 2 * HOUR]
    assert [(r["requests"], r["finished"], r["errors"]) for r in rows] == [
        (1, 1, 0), (0, 0, 0), (1, 0, 1)]
    assert rows[0]["testrun"] == {"p50": 2200.0, "p95": 2200.0}
    assert rows[0]["queue"] == {"p50": 60.0, "p95": 60.0}
    assert rows[1] == {"start": start + HOUR, "requests": 0, "finished": 0, "errors": 0,
                       "error_pct": None, "testrun": {"p50": None, "p95": None},
                       "queue": {"p50": None, "p95": None}}
    assert rows[2]["error_pct"] == 100.0
    days = engine(events).trend("day", now=start)
    assert len(days) == 1 and days[0]["start"] == start // DAY * DAY
    assert days[0]["requests"] == 2


def test_trend_per_group_spans_its_own_requests_and_the_window():
    events = [ev("a", "request", T0, "g1"), ev("b", "request", T0 + 3 * HOUR, "g2"),
              ev("c", "request", T0 + 5 * HOUR, "g1")]
    eng = engine(events)
    s = eng.summary(now=T0, trend="hour")
    assert len(s["all"]["trend"]) == 6 and len(s["groups"]["g1"]["trend"]) == 6
    assert len(s["groups"]["g2"]["trend"]) == 1
    windowed = eng.summary(now=T0, trend="hour", since=T0 + HOUR)
    assert [r["requests"] for r in windowed["all"]["trend"]] == [1, 0, 1]
    assert windowed["groups"]["g1"]["trend"] == windowed["groups"]["g1"]["trend"][:1]
    assert eng.summary(now=T0, since=T0 + DAY, trend="day")["all"]["trend"] == []
    assert "trend" not in eng.summary(now=T0)["all"]
    same(s, eng.summary(now=T0, trend="hour"))
    want = reference_insight(events, now=T0, bucket=HOUR)
    for name in ("g1", "g2"):
        same(s["groups"][name]["trend"], want["groups"][name]["trend"])


def test_an_hourly_trend_over_years_is_refused():
    events = [ev("old", "request", T0 - 3 * 365 * DAY), ev("new", "request", T0)]
    eng = engine(events)
    with pytest.raises(TrendTooLong, match="26,281 rows.*2023-09"):
        eng.summary(now=T0, trend="hour")
    assert len(eng.summary(now=T0, trend="day")["all"]["trend"]) == 3 * 365 + 1
    assert len(eng.trend("hour", now=T0, since=T0 - DAY)) == 1
    with pytest.raises(ValueError, match="hour, day"):
        eng.trend("week", now=T0)


def test_a_reset_forgets_the_kept_p95_and_never_repeats_a_version():
    """The p95 kept between queries is keyed by the state version; a re-read file after a
    Reset, read in as many applies as the old one, gets versions the old one never had."""
    from store.batch import Reset

    slow = waited(20, wait=600.0) + [ev("w", "request", T0), ev("w", "queue_start", T0)]
    fast = waited(20, wait=6.0) + [ev("w", "request", T0), ev("w", "queue_start", T0)]
    eng = engine(slow)
    assert eng.testruns("queued", now=T0 + 60)[0]["p95"] == 600.0
    seen = eng.version
    eng.apply(Reset("replaced"))
    assert eng.version > seen
    for batch in to_batches(fast):
        eng.apply(batch)
    assert eng.version > seen + 1
    assert eng.testruns("queued", now=T0 + 60)[0]["p95"] == 6.0


def test_trend_percentiles_of_large_buckets_match_numpy():
    """Buckets of many samples (sorted bucket by bucket) and of few (sorted all at once)."""
    start = T0 // DAY * DAY
    events = []
    for i in range(300):
        t = start + (i % 3) * DAY + i * 7.0
        tid = f"r{i}"
        events += [ev(tid, "request", t, f"g{i % 2}"), ev(tid, "queue_start", t + 1, f"g{i % 2}"),
                   ev(tid, "queue_end", t + 1 + (i * 37) % 101 + i / 7, f"g{i % 2}"),
                   ev(tid, "publish", t + 500 + (i * 53) % 997, f"g{i % 2}")]
    eng = engine(events, cuts=[100, 700])
    for bucket, size in (("day", DAY), ("hour", HOUR)):
        got = eng.summary(now=T0, trend=bucket)
        want = reference_insight(events, now=T0, bucket=size)
        for name in ("g0", "g1"):
            same(got["groups"][name]["trend"], want["groups"][name]["trend"])
        same(got["all"]["trend"], want["all"]["trend"])
        assert len(got["all"]["trend"]) == (3 if bucket == "day" else 49)


def test_p95_alone_equals_numpy_and_the_full_statistics():
    import numpy as np

    from store.stats.describe import order_statistics, p95

    rng = np.random.default_rng(5)
    for n in [1, 2, 3, 19, 20, 21, 40, 101, 1000]:
        values = rng.exponential(100.0, n).round(rng.integers(0, 3))  # ties too
        assert p95(values) == order_statistics(values)[2] == float(np.percentile(values, 95))


def test_summary_without_hosts():
    eng = engine(on("h", "a", T0, "publish") + waited(20) + [ev("w", "request", T0),
                                                              ev("w", "queue_start", T0)])
    full, light = eng.summary(now=T0 + 100), eng.summary(now=T0 + 100, hosts=False)
    assert "hosts" not in light["all"] and "hosts" not in light["groups"]["g"]
    assert light["all"]["overdue"] == full["all"]["overdue"] == [
        {"testrun_id": "w", "phase": "queue", "elapsed": 100.0, "p95": 60.0}]
    del full["all"]["hosts"], full["groups"]["g"]["hosts"]
    assert light == full
