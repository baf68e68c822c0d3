"""Pilot tests of "why it waits, and why it fails" in the monitor (issue 18) over real files:
the failures pane and its two detail screens against the engine's answers on the same file
and the same now (what `report --json --now` prints), the overview's hosts column and starved
mark, and the alerts (a host turning bad, a group starving), once per change, on a file that
the test appends to while the monitor follows it."""

from __future__ import annotations

import pytest
from conftest import NOW, loaded, wait_for
from test_app_insight import HOUR, _finished, _run, rows, text_of

from store.stats import Rule
from store.writer import EventWriter
from trmon_tui.app import make_app
from trmon_tui.commands.report import read_file
from trmon_tui.screens import HostScreen
from trmon_tui.screens.failure import ConfigurationScreen, ErrorTypeScreen
from trmon_tui.widgets.livetable import LiveTable

RULES = [Rule("^ImageError", "image")]
HOSTILE = "[red]Boom[/] \x1b[2J"
H = "h[b]x\x1b[2J"  # a worker host named with markup and an escape sequence


def _configured(events: list[dict], configuration: str) -> list[dict]:
    events[0]["configuration"] = configuration
    return events


def _boot_failure(i: int) -> list[tuple[str, float]]:
    steps = _finished(i)
    cut = [name for name, _ in steps].index("boot_start") + 1
    return steps[:cut] + [("error", 100)]


def failure_events() -> list[dict]:
    """In group "rack" on configuration img-a: ok-1..3 pass 10 testruns each (ok-3 fails one
    test); "breaker" fails 4 of 5 at boot (suspect for img-a).  img-b is a broken image that
    fails on ok-1 and ok-2 alike (category "image" by RULES).  A hostile error text and
    configuration name in group "bench"."""
    events, t = [], NOW - 30 * HOUR
    for i in range(30):
        host = f"ok-{i % 3 + 1}"
        failing = i == 5
        steps = _finished(i)
        if failing:
            steps = steps[:7] + [("error", 100)]  # after test_start: a test failure
        events += _configured(_run(f"a-{i:02d}", t, "rack", host, steps,
                                   "AssertionError: wifi"), "img-a")
        t += 40 * 60
    for k in range(5):
        steps = _finished(k) if k == 2 else _boot_failure(k)
        events += _configured(_run(f"brk-{k}", NOW - 10 * HOUR + k * HOUR, "rack", "breaker",
                                   steps, f"BootError: no console (try {k})"), "img-a")
    for k in range(4):
        events += _configured(_run(f"b-{k}", NOW - 8 * HOUR + k * HOUR, "rack", f"ok-{k % 2 + 1}",
                                   _boot_failure(k), "ImageError: bad checksum"), "img-b")
    events += _configured(_run("hostile", NOW - 3 * HOUR, "bench", "bench-1",
                               _boot_failure(0), f"{HOSTILE}: x"), "cfg\x1b[31m")
    return sorted(events, key=lambda e: e["received"])


def write_events(path, events) -> int:
    with EventWriter(str(path)) as writer:
        for event in events:
            writer.write(event)
    return len(events)


@pytest.fixture()
def failing(tmp_path):
    path = tmp_path / "fails.h5"
    n = write_events(path, failure_events())
    engine = read_file(str(path))[0]
    engine.set_rules(RULES)
    return path, n, engine


async def _failures_pane(pilot, app, n):
    await wait_for(pilot, loaded(app, n))
    await pilot.press("8")
    await wait_for(pilot, lambda: app.query("#failure-configurations") and
                   app.query_one("#failure-configurations", LiveTable).row_count > 0)


async def test_failures_pane_shows_the_engines_failures(failing):
    path, n, engine = failing
    expected = engine.failures(now=NOW)
    assert expected["categories"] == {"image": 4, "infra": 5, "test": 1}  # the farm is as meant
    app = make_app(str(path), now=NOW, poll=None, watch=False, rules=RULES)
    async with app.run_test(size=(120, 36)) as pilot:
        await _failures_pane(pilot, app, n)
        line = text_of(app, "#failure-categories")
        assert "failures 10" in line and "image 4 (40.0 %)" in line and "test 1 (10.0 %)" in line
        types = rows(app, "#failure-types")
        assert [(r[0], r[1], r[2]) for r in types] == [
            (t["type"].replace("\x1b", "\\x1b"), str(t["testruns"]), str(t["hosts"]))
            for t in expected["types"]]
        assert "[red]Boom[/] \\x1b[2J" in [r[0] for r in types]  # literal, escaped
        configurations = {r[0]: r for r in rows(app, "#failure-configurations")}
        assert list(configurations) == [c["configuration"].replace("\x1b", "\\x1b")
                                        for c in expected["configurations"]]
        suspect = next(c for c in expected["configurations"] if c["configuration"] == "img-a")
        assert [s["host"] for s in suspect["suspect_hosts"]] == ["breaker"]
        assert configurations["img-a"][1:5] == [str(suspect["ended"]), str(suspect["errors"]),
                                               f"{suspect['error_pct']:.1f}", "! breaker (4/5)"]
        assert configurations["img-b"][4] == ""  # fails everywhere: no host to blame


async def test_enter_on_a_type_lists_its_latest_testruns(failing):
    path, n, engine = failing
    app = make_app(str(path), now=NOW, poll=None, watch=False, rules=RULES)
    async with app.run_test(size=(120, 36)) as pilot:
        await _failures_pane(pilot, app, n)
        table = app.query_one("#failure-types", LiveTable)
        await wait_for(pilot, lambda: app.focused is table)
        table.move_cursor([r[0] for r in rows(app, "#failure-types")].index("BootError"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorTypeScreen) and
                       app.screen.query_one("#failure-rows", LiveTable).row_count == 4)
        expected = engine.error_testruns(now=NOW, type="BootError")
        shown = rows(app, "#failure-rows")
        assert [r[0] for r in shown] == [t["testrun_id"] for t in expected] == \
            ["brk-4", "brk-3", "brk-1", "brk-0"]  # the latest first
        assert shown[0][1:3] == ["breaker", "img-a"] and shown[0][4] == "infra"
        assert "4 testruns on 1 host" in text_of(app, "#failure-figures")
        assert "BootError: no console (try 4)" in text_of(app, "#failure-note")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.view.error_type is None)


async def test_enter_on_a_configuration_lists_its_hosts(failing):
    path, n, engine = failing
    app = make_app(str(path), now=NOW, poll=None, watch=False, rules=RULES)
    async with app.run_test(size=(120, 36)) as pilot:
        await _failures_pane(pilot, app, n)
        table = app.query_one("#failure-configurations", LiveTable)
        table.focus()
        table.move_cursor([r[0] for r in rows(app, "#failure-configurations")].index("img-a"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfigurationScreen) and
                       app.screen.query_one("#failure-rows", LiveTable).row_count == 4)
        expected = engine.configuration_hosts("img-a", now=NOW)
        shown = rows(app, "#failure-rows")
        assert [r[1] for r in shown] == [h["host"] for h in expected]
        assert shown[0][:5] == ["!", "breaker", "5", "4", "80.0"]
        assert shown[0][5] == f"{expected[0]['p']:.1e}" == "4.7e-04"
        assert [r[0] for r in shown[1:]] == ["", "", ""]  # the others are not suspect
        assert "5 errors of 35 ended testruns" in text_of(app, "#failure-figures")
        await pilot.press("enter")  # on breaker: its latest testruns, whatever the image
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen) and
                       app.screen.query_one("#host-testruns", LiveTable).row_count == 5)
        assert [r[0] for r in rows(app, "#host-testruns")] == \
            [t["testrun_id"] for t in engine.host_testruns("breaker", now=NOW)]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfigurationScreen) and
                       app.view.host is None)


def _queued(tid, t, group, host):
    return _run(tid, t, group, host, [("queue_start", 60)])


def _alerts(app, title: str) -> list[str]:
    return [n.message for n in app._notifications if n.title == title]


async def test_alerts_once_per_change_on_a_growing_file(tmp_path):
    """At start: "old-bad" is bad already (no alert: the state found is the start); H (a
    name with markup and an escape: shown literally) has
    failed twice; group "solo" runs one testrun while another waits.  Appended: h's third
    failure (h turns bad: one alert), then a fourth (still bad: none), the running testrun's
    end (solo starves: one alert)."""
    path = tmp_path / "grow.h5"
    t = NOW - 20 * HOUR
    events = []
    for k in range(3):
        events += _run(f"old-{k}", t + k * HOUR, "rack", "old-bad", _boot_failure(k), "X: y")
        events += _run(f"h-{k}", t + k * HOUR, "rack", H, _finished(k) if k == 0 else
                       _boot_failure(k), "FlashError: z")
    events += _run("solo-run", NOW - 2 * HOUR, "solo", "solo-1",
                   [("queue_start", 60), ("queue_end", 60)])
    events += _queued("solo-wait", NOW - HOUR, "solo", "solo-1")
    n = write_events(path, sorted(events, key=lambda e: e["received"]))
    app = make_app(str(path), now=NOW, poll=0.2, bell=True)
    bells = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: loaded(app, n)() and app.alerts is not None)
        assert app.alerts.bad_hosts == {"old-bad"} and not app.alerts.starved_groups
        assert _alerts(app, "host bad") == [] and bells == []
        n += write_events(path, _run("h-3", NOW - 3 * HOUR, "rack", H, _boot_failure(3),
                                     "FlashError: z"))
        await wait_for(pilot, lambda: H in app.alerts.bad_hosts)
        assert _alerts(app, "host bad") == [
            "host h[b]x\\x1b[2J turned bad: 3 or more failures in a row"]
        n += write_events(path, _run("h-4", NOW - 2 * HOUR, "rack", H, _boot_failure(4),
                                     "FlashError: z"))
        await wait_for(pilot, loaded(app, n))
        await pilot.press("6", "1")  # new snapshots of other panes: no alert again
        await wait_for(pilot, lambda: app.snapshot.view.tab == "overview")
        assert len(_alerts(app, "host bad")) == 1 and bells == [1]
        n += write_events(path, [{"testrun_id": "solo-run", "event": "publish",
                                  "emit": NOW - 900, "received": NOW - 900}])
        await wait_for(pilot, lambda: "solo" in app.alerts.starved_groups)
        assert _alerts(app, "group starved") == [
            "group solo is starved: testruns wait, none runs"]
        assert bells == [1, 1]
        await wait_for(pilot, lambda: "1 starved" in text_of(app, "#status-text"))
        await wait_for(pilot, lambda: "✗ starved: solo" in text_of(app, "#overview-events"))
        overview = {r[0]: r for r in rows(app, "#groups")}
        assert overview["solo"][8] == "✗0/1" and overview["rack"][8] == "0/2"
