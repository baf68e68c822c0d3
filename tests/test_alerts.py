"""store.stats.alerts (what the monitor alerts on) against the SUMMARY it shortcuts, on real
files: the bad hosts are those whose health is "bad", the starved groups "all"'s
starved_groups, at every moment of a growing history."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NOW
from test_app_failures import failure_events, write_events

from demo.generator import write_static
from store.stats.alerts import alert_state
from trmon_tui.commands.report import read_file

HOUR = 3600.0


def _expected(engine, now: float) -> tuple[list[str], list[str]]:
    whole = engine.summary(now=now, delivery_delay=False, failures=False)["all"]
    bad = sorted(host for host, h in whole["hosts"].items() if h["health"] == "bad")
    return bad, sorted(whole["starved_groups"])


def test_alert_state_is_the_summarys_on_the_demo_farm(tmp_path):
    path = tmp_path / "demo.h5"
    write_static(str(path), runs=3000, seed=11)
    engine = read_file(str(path))[0]
    last_request = float(engine.state.runs.request[: engine.state.runs.n].max())
    seen_bad = False
    for now in [last_request + k * HOUR / 4 for k in range(-8, 9)]:  # before and after the end
        bad, starved = alert_state(engine, now)
        assert (bad, starved) == _expected(engine, now)
        seen_bad |= bool(bad)
    assert seen_bad  # the demo farm has a failing host


@pytest.mark.parametrize("cut", [0.3, 0.6, 1.0])
def test_alert_state_follows_a_growing_file(tmp_path, cut):
    events = failure_events()
    events = events[: int(len(events) * cut)]
    path = tmp_path / "part.h5"
    write_events(path, events)
    engine = read_file(str(path))[0]
    for now in (NOW - 5 * HOUR, NOW, NOW + 2 * HOUR):
        assert alert_state(engine, now) == _expected(engine, now)


def test_starved_needs_a_long_wait_and_nothing_running(tmp_path):
    from test_app_insight import _run

    path = tmp_path / "solo.h5"
    events = _run("wait", NOW - 650, "solo", "s-1", [("queue_start", 60)])
    events += _run("done", NOW - 2 * HOUR, "busy", "b-1", [("queue_start", 60),
                                                            ("queue_end", 60)])
    events += _run("wait2", NOW - HOUR, "busy", "b-1", [("queue_start", 60)])
    write_events(path, sorted(events, key=lambda e: e["received"]))
    engine = read_file(str(path))[0]
    assert alert_state(engine, NOW)[1] == []  # solo has waited 590 s since its queue_start
    assert alert_state(engine, NOW + 100)[1] == ["solo"]  # 690 s > 600 s, nothing runs
    assert "busy" not in alert_state(engine, NOW + 10 * HOUR)[1]  # one runs there


@pytest.mark.parametrize("tab", ["overview", "statistics", "hosts"])
def test_alerts_computed_beside_the_panes_queries_are_the_same(tmp_path, monkeypatch, tab):
    """A large file's snapshot computes the alerts (and the statistics pane's samples) in a
    thread of their own (panedata's ALERTS_BESIDE); the snapshot is the same as with them
    computed after the pane's other queries."""
    import threading

    from trmon_tui import panedata
    from trmon_tui.model import ViewState

    path = tmp_path / "demo.h5"
    write_static(str(path), runs=3000, seed=11)
    engine = read_file(str(path))[0]
    now = float(engine.state.runs.request[: engine.state.runs.n].max()) + HOUR
    threads: list[str] = []
    state = panedata.alerts

    def alerts(engine, now):
        threads.append(threading.current_thread().name)
        return state(engine, now)

    monkeypatch.setattr(panedata, "alerts", alerts)
    view = ViewState(tab=tab)
    monkeypatch.setattr(panedata, "ALERTS_BESIDE", 10**9)
    after, errors_after = panedata.pane_data(engine, view, now)
    monkeypatch.setattr(panedata, "ALERTS_BESIDE", 1000)
    beside, errors_beside = panedata.pane_data(engine, view, now)
    assert threads == [threading.current_thread().name, "trmon-alerts"]
    assert beside.keys() == after.keys() and errors_beside == errors_after == []
    for key, value in after.items():  # the statistics pane's samples are an array
        same = np.array_equal(beside[key], value) if isinstance(value, np.ndarray) else \
            beside[key] == value
        assert same, key
    assert after["alerts"].bad_hosts  # the demo farm has a failing host
