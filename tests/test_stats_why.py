"""Why it waits, and why it fails (DESIGN.md): occupied hosts, starved groups, failure
categories, error types and suspect hosts per configuration.

Edge cases one by one on hand-made streams, the Fisher p against values computed by hand, and
a hypothesis test that incremental == cold == the reference (stats_reference.reference_why)
over random batch splits.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats_reference import fisher_p, reference_insight, reference_why, same, to_batches

from store.stats import Rule, StatsEngine, fisher
from store.stats.fisher import exact_p, p_value, suspect_p, tail_fraction

T0 = 1_790_000_000.0
HOUR, DAY = 3600.0, 86400.0


def ev(tid: str, name: str, t: float, group: str = "g", **extra) -> dict:
    e = {"testrun_id": tid, "event": name, "emit": t, "received": t, "device_group": group}
    if "hosts" in extra and not isinstance(extra["hosts"], str):
        extra["hosts"] = json.dumps([[h, 1] for h in extra["hosts"]])
    e.update(extra)
    return e


def engine(events: list[dict], cuts=(), rules=()) -> StatsEngine:
    eng = StatsEngine(rules=rules)
    for batch in to_batches(events, list(cuts)):
        eng.apply(batch)
    return eng


def run(tid, hosts, start, end=None, outcome="publish", group="g", configuration="img",
        error="Boom: failed", tested=True) -> list[dict]:
    """A testrun pulled at ``start`` that ends with ``outcome`` at ``end`` (None: ongoing)."""
    out = [ev(tid, "request", start - 5, group, hosts=hosts, configuration=configuration),
           ev(tid, "queue_start", start - 4, group), ev(tid, "queue_end", start, group)]
    if tested:
        out.append(ev(tid, "test_start", start + 1, group))
    if end is not None:
        extra = {"error": error} if outcome == "error" else {}
        out.append(ev(tid, outcome, end, group, **extra))
    return out


# ---- the Fisher test ------------------------------------------------------------------------

def test_fisher_p_against_hand_computed_values():
    # 3 of 3 errors on a host, all 3 errors of 10 testruns: C(3,3) C(7,0) / C(10,3) = 1/120
    assert tail_fraction(3, 3, 3, 10) == (32, 3840)  # 1/120, not reduced
    assert p_value(3, 3, 3, 10) == 1 / 120
    assert suspect_p(3, 3, 3, 10) == 1 / 120
    # 3 of 4 on the host, 4 errors in 12: (C(4,3) C(8,1) + C(4,4) C(8,0)) / C(12,4) = 33/495
    assert p_value(3, 4, 4, 12) == 33 / 495
    assert suspect_p(3, 4, 4, 12) is None  # 0.067: not below 0.01
    # 4 of 4 errors in 20 testruns: 1 / C(20, 4) = 1/4845
    assert p_value(4, 4, 4, 20) == 1 / 4845
    assert suspect_p(2, 2, 2, 100) is None  # p = 1/4950, but fewer than 3 errors
    assert p_value(0, 5, 3, 10) == 1.0 and p_value(4, 3, 3, 10) == 0.0


@pytest.mark.parametrize("a,n,K,N", [(5, 10, 8, 30), (12, 40, 30, 500), (3, 3, 3, 300),
                                     (30, 200, 400, 5000), (7, 7, 7, 7), (2, 9, 9, 18)])
def test_fisher_p_equals_the_definition_exactly(a, n, K, N):
    want = fisher_p(a, n, K, N)
    num, den = tail_fraction(a, n, K, N)
    assert Fraction(num, den) == want
    assert p_value(a, n, K, N) == float(want)
    assert (suspect_p(a, n, K, N) is not None) == (a >= 3 and want < Fraction(1, 100))


@pytest.mark.parametrize("a", [2500, 2600, 2700, 2800, 3000])  # the mean is 2,667
def test_large_pairs_use_an_estimate_that_keeps_the_verdict(a):
    n, K, N = 20_000, 32_000, 240_000
    exact = exact_p(a, n, K, N)
    assert not fisher._small(n, N)  # beyond EXACT_BITS: p is the estimate
    assert p_value(a, n, K, N) == pytest.approx(exact, rel=1e-8)
    suspect = suspect_p(a, n, K, N)
    assert (suspect is not None) == (exact < 0.01)
    if suspect is not None:
        assert suspect == pytest.approx(exact, rel=1e-8)


def test_near_the_threshold_a_large_pair_is_summed_exactly():
    n, K, N = 20_000, 32_000, 240_000
    near = [a for a in range(2700, 2900) if 0.0025 <= fisher._estimate(a, n, K, N) < 0.04]
    for a in (near[0], near[-1]):
        exact = exact_p(a, n, K, N)
        assert suspect_p(a, n, K, N) == (exact if exact < 0.01 else None)


def test_the_threshold_is_decided_exactly():
    # 3 of 3 errors: p = 1 / C(N, 3) crosses 0.01 between N = 9 (1/84) and N = 10 (1/120)
    assert suspect_p(3, 3, 3, 9) is None and suspect_p(3, 3, 3, 10) == 1 / 120
    for N in range(4, 40):
        want = fisher_p(3, 3, 3, N)
        assert (suspect_p(3, 3, 3, N) is not None) == (want < Fraction(1, 100))


# ---- occupied hosts and starved groups ----------------------------------------------------

def test_busy_fractions_are_the_union_clipped_to_the_window():
    now = T0 + DAY
    events = (run("a", ["w1"], now - 1800, now - 600)  # 20 min in the last hour
              + run("b", ["w1"], now - 1200, now - 300)  # overlaps a: the union is 25 min
              + run("c", ["w1"], now - 2 * DAY, now - DAY + 3600)  # 1 h inside the 24 h
              + run("d", ["w2"], now - 7200)  # ongoing: the whole hour, 2 h of the day
              + [ev("e", "request", now - 100, hosts=["w3"])])  # queued: occupies nothing
    hosts = engine(events).summary(now=now)["all"]["hosts"]
    assert hosts["w1"]["busy"] is False
    assert hosts["w1"]["busy_1h"] == pytest.approx(1500 / HOUR)
    assert hosts["w1"]["busy_24h"] == pytest.approx((1500 + 3600) / DAY)
    assert (hosts["w2"]["busy"], hosts["w2"]["busy_1h"]) == (True, 1.0)
    assert hosts["w2"]["busy_24h"] == pytest.approx(7200 / DAY)
    assert (hosts["w3"]["busy"], hosts["w3"]["busy_1h"], hosts["w3"]["busy_24h"]) == \
        (False, 0.0, 0.0)
    s = engine(events).summary(now=now)["all"]
    assert (s["hosts_total"], s["hosts_busy"]) == (3, 1)


def test_an_error_ends_the_occupation_and_no_queue_end_occupies_nothing():
    now = T0
    events = (run("a", ["w1"], now - 3000, now - 2400, "error", tested=False)
              + [ev("b", "request", now - 3000, hosts=["w1"]),
                 ev("b", "error", now - 10, error="Lost")]  # never pulled
              + run("c", ["w1"], now - 600, now - 300)
              + [ev("c", "error", now - 200)])  # published, then failed: ends at the error
    got = engine(events).summary(now=now)["all"]["hosts"]["w1"]["busy_1h"]
    assert got == pytest.approx((600 + 400) / HOUR)


def test_starved_needs_work_waiting_over_600_s_and_nothing_running():
    def summary(events, now):
        return engine(events).summary(now=now)

    waiting = [ev("q", "request", T0, "lab"), ev("q", "queue_start", T0 + 1, "lab")]
    s = summary(waiting, T0 + 601)
    assert s["groups"]["lab"]["starved"] is False  # 600 s: not more than 600
    s = summary(waiting, T0 + 602)
    assert s["groups"]["lab"]["starved"] is True
    assert (s["all"]["starved"], s["all"]["starved_groups"]) == (True, ["lab"])
    running = waiting + run("r", ["w1"], T0 + 10, None, group="lab")
    s = summary(running, T0 + 5000)
    assert s["groups"]["lab"]["starved"] is False and s["all"]["starved_groups"] == []
    other = waiting + run("r", ["w1"], T0 + 10, None, group="busy")
    s = summary(other, T0 + 5000)  # another group runs: this one still starves
    assert s["all"]["starved_groups"] == ["lab"] and s["groups"]["busy"]["starved"] is False


# ---- failures -----------------------------------------------------------------------------

def test_categories_rules_first_then_infra_or_test_and_types():
    events = (run("a", ["w1"], T0, T0 + 10, "error", error="ImageError: no kernel")
              + run("b", ["w1"], T0, T0 + 10, "error", error="USBError: gone", tested=False)
              + run("c", ["w2"], T0, T0 + 10, "error", error="AssertionError: 1 != 2")
              + run("d", ["w2"], T0, T0 + 10, "error", error="  : odd", tested=False)
              + run("e", ["w1", "w2"], T0, T0 + 20, "error", error="AssertionError"))
    rules = [Rule("^(ImageError|BadImage)", "image"), Rule("nothing", "never")]
    f = engine(events, rules=rules).summary(now=T0 + 100)["all"]["failures"]
    assert f["categories"] == {"image": 1, "never": 0, "infra": 2, "test": 2}
    assert f["types"] == [
        {"type": "AssertionError", "testruns": 2, "hosts": 2, "last": T0 + 20},
        {"type": "(no message)", "testruns": 1, "hosts": 1, "last": T0 + 10},
        {"type": "ImageError", "testruns": 1, "hosts": 1, "last": T0 + 10},
        {"type": "USBError", "testruns": 1, "hosts": 1, "last": T0 + 10}]
    plain = engine(events).summary(now=T0 + 100)["all"]["failures"]["categories"]
    assert plain == {"infra": 2, "test": 3}


def test_a_host_that_breaks_one_configuration_is_suspect_for_it_only():
    events = []
    for i in range(6):  # w1 fails "img" every time, passes "other"
        events += run(f"bad{i}", ["w1"], T0 + i, T0 + 100, "error", configuration="img")
        events += run(f"ok{i}", ["w1"], T0 + i, T0 + 100, configuration="other")
    for i in range(20):
        for host in ("w2", "w3"):
            events += run(f"{host}-{i}", [host], T0 + i, T0 + 100, configuration="img")
            events += run(f"{host}-o{i}", [host], T0 + i, T0 + 100, configuration="other")
    events += run("none", ["w2"], T0, T0 + 100, configuration="")
    eng = engine(events)
    configs = eng.summary(now=T0 + 200)["all"]["failures"]["configurations"]
    assert [c["configuration"] for c in configs] == ["img", "(none)", "other"]
    img = configs[0]
    assert (img["ended"], img["errors"]) == (46, 6)
    assert img["error_pct"] == pytest.approx(600 / 46)
    p = float(fisher_p(6, 6, 6, 46))
    assert img["suspect_hosts"] == [{"host": "w1", "ended": 6, "errors": 6, "p": p}]
    assert configs[2]["suspect_hosts"] == []
    rows = eng.configuration_hosts("img", now=T0 + 200)
    assert [r["host"] for r in rows][0] == "w1" and rows[0]["suspect"] and rows[0]["p"] == p
    assert [r["suspect"] for r in rows[1:]] == [False, False]
    assert eng.configuration_hosts("nope", now=T0 + 200) == []
    listed = eng.error_testruns(now=T0 + 200, type="Boom", limit=3)
    assert len(listed) == 3 and all(r["hosts"] == ["w1"] and r["configuration"] == "img"
                                    and r["category"] == "test" for r in listed)
    assert eng.error_testruns(now=T0 + 200, host="w2") == []


def test_failures_forget_a_replaced_file():
    from store.batch import Reset

    eng = engine(run("a", ["w1"], T0, T0 + 10, "error", error="Alpha: x"))
    assert eng.failures(now=T0)["types"][0]["type"] == "Alpha"
    eng.apply(Reset("replaced"))
    for batch in to_batches(run("b", ["w1"], T0, T0 + 10, "error", error="Beta: y")):
        eng.apply(batch)
    assert [t["type"] for t in eng.failures(now=T0)["types"]] == ["Beta"]


# ---- incremental == cold == reference --------------------------------------------------------

HOSTS = ["w1", "w2", "lab host 3"]
TEXTS = ["Boom: failed", "ImageError: bad", "", "USBError", "  :x", "boom"]
RULES = [[], [("^Image", "image")], [("oo", "x-1"), ("Image", "image"), ("", "all")]]


@st.composite
def why_streams(draw) -> list[dict]:
    """Up to 60 testruns on 0-2 hosts, in 1-2 groups and 3 configurations, pulled or not,
    ending in error (w1 on "c1": mostly, so that it is suspect) or published, or still
    running; seconds to hours apart."""
    groups = draw(st.sampled_from([["g1"], ["g1", "g2"]]))
    events, t = [], T0
    scripts = []
    for i in range(draw(st.integers(2, 60))):
        group = draw(st.sampled_from(groups))
        hosts = draw(st.lists(st.sampled_from(HOSTS), max_size=2, unique=True))
        cfg = draw(st.sampled_from(["c1", "c1", "c2", ""]))
        flaky = "w1" in hosts and cfg == "c1"
        steps = [("request", {"hosts": hosts, "configuration": cfg})]
        if draw(st.integers(0, 5)):
            steps.append(("queue_start", {}))
        if draw(st.integers(0, 3)):
            steps.append(("queue_end", {}))
            if draw(st.booleans()):
                steps.append(("test_start", {}))
        end = draw(st.integers(0, 9))
        if (end <= 7) if flaky else (end == 0):
            steps.append(("error", {"error": draw(st.sampled_from(TEXTS))}))
        elif end <= 8:
            steps.append(("publish", {}))
        if draw(st.integers(0, 8)) == 0:
            steps.append(("error", {"error": "Second: ignored"}))
        scripts.append((f"tr-{i}", group, steps))
    cursors = [0] * len(scripts)
    while any(c < len(s[2]) for c, s in zip(cursors, scripts, strict=True)):
        live = [i for i, s in enumerate(scripts) if cursors[i] < len(s[2])]
        i = draw(st.sampled_from(live))
        tid, group, steps = scripts[i]
        name, extra = steps[cursors[i]]
        cursors[i] += 1
        t += draw(st.sampled_from([0.0, 1.0, 60.0, 600.0, 1800.0, 7200.0, -3.0]))
        events.append(ev(tid, name, t, group, **extra))
    return events


def why_view(eng: StatsEngine, since, now) -> dict:
    s = eng.summary(since=since, now=now, delivery_delay=False)
    keys = ("hosts_total", "hosts_busy", "starved", "failures", "hosts")
    out = {"groups": {g: {k: p[k] for k in keys} for g, p in s["groups"].items()},
           "all": {k: s["all"][k] for k in (*keys, "starved_groups")}}
    out["rows"] = eng.hosts(since=since, now=now)
    out["failures"] = eng.failures(since=since, now=now)
    out["listed"] = eng.error_testruns(since=since, now=now, limit=None)
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=why_streams(), data=st.data())
def test_incremental_equals_cold_equals_reference(events, data):
    rules = data.draw(st.sampled_from(RULES))
    compiled = [Rule(m, c) for m, c in rules]
    cuts = data.draw(st.lists(st.integers(0, len(events)), max_size=6))
    cold, incremental = engine(events, (), compiled), engine(events, cuts, compiled)
    one_by_one = engine(events, range(len(events)), compiled)
    since = data.draw(st.sampled_from([None, T0 + 3600.0]))
    latest = max(e["received"] for e in events)
    now = data.draw(st.sampled_from([latest + 1.0, latest + 700.0, latest + 2 * DAY,
                                     latest - 1800.0]))
    want = why_view(cold, since, now)
    assert why_view(incremental, since, now) == want
    assert why_view(one_by_one, since, now) == want
    ref = reference_why(events, "received", since, now, rules)
    hosts = reference_insight(events, "received", since, now)
    for name in ["all", *ref["groups"]]:
        got = want["all"] if name == "all" else want["groups"][name]
        expected = ref["all"] if name == "all" else ref["groups"][name]
        for key in expected:
            same(got[key], expected[key], f"{name}.{key}")
        expected_hosts = hosts["all"] if name == "all" else hosts["groups"][name]
        same(got["hosts"], expected_hosts["hosts"], f"{name}.hosts")
    assert want["failures"] == want["all"]["failures"]
    errors = sum(want["all"]["failures"]["categories"].values())
    assert len(want["listed"]) == errors
    times = [row["time"] for row in want["listed"]]
    assert times == sorted(times, reverse=True)
    for row in want["rows"]:
        entry = want["all"]["hosts"][row["host"]]
        assert (row["busy"], row["busy_1h"], row["busy_24h"]) == \
            (entry["busy"], entry["busy_1h"], entry["busy_24h"])
    assert all(0.0 <= h["busy_1h"] <= 1.0 + 1e-12 and 0.0 <= h["busy_24h"] <= 1.0 + 1e-12
               for h in want["all"]["hosts"].values())
    assert not math.isnan(sum(h["busy_24h"] for h in want["all"]["hosts"].values()))
