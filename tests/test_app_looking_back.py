"""Pilot tests of looking back in the monitor (DESIGN "Looking back"): --at T, the keys < > L
and c on the Trends pane, over real files, against what `report --at T --json` and
`report --compare PERIOD --json` print for the same file and time (a real subprocess)."""

from __future__ import annotations

import json

from conftest import NOW, report, wait_for, write_farm
from test_app_insight import write_insight
from textual.widgets import TabbedContent

from trmon_tui.app import make_app
from trmon_tui.commands.compare_table import FIGURES, cell, change, figure, moved_first
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.statusbar import StatusBar
from trmon_tui.widgets.textline import TextLine

HOUR = 3600.0


def _report_at(path, at: float, *options: str) -> dict:
    """report --at T --json: what the monitor at T must show."""
    done = report(str(path), "--at", repr(at), "--json", *options)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _at(app, at: float | None, tab: str | None = None):
    """Condition: the latest snapshot stands at ``at`` (None: live) and has the pane's data."""
    def check() -> bool:
        snap = app.snapshot
        if snap is None or snap.at != at or snap.file.loading:
            return False
        return tab is None or (snap.view.tab == tab and
                               (snap.summary is not None or tab != "overview"))
    return check


def _shown(app, expected: dict) -> None:
    """The snapshot's counts and summary are report's."""
    snap = app.snapshot
    (files,) = expected["files"].values()
    assert snap.counts == {"events": files["events"], "testruns": files["testruns"]}
    for key in ("testruns", "queued", "ongoing", "finished", "errors", "error_pct"):
        assert snap.summary["all"][key] == expected["all"][key], key
    assert sorted(snap.summary["groups"]) == sorted(expected["groups"])


def _status_text(app) -> str:
    return app.query_one(StatusBar)._line(app.query_one(StatusBar).state(), app.wall(),
                                          120).plain


async def test_at_shows_the_farm_at_T_and_steps_keep_the_view(tmp_path):
    path = tmp_path / "farm.h5"
    write_farm(path, n_runs=60)
    at = NOW - 2 * HOUR
    app = make_app(str(path), now=NOW, poll=None, watch=False, at=at, group="aava")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, _at(app, at, "overview"))
        _shown(app, _report_at(path, at, "--group", "aava"))
        status = _status_text(app)
        assert status.startswith(" AT 2025-12-31 22:00 UTC  < > L ")
        assert " ago" not in status and "LIVE" not in status
        assert app.snapshot.last_data_at is None and app.snapshot.taken_at == at

        await pilot.press("t")  # the 24h window, kept by the steps
        await pilot.press("<")
        await wait_for(pilot, _at(app, at - HOUR, "overview"))
        _shown(app, _report_at(path, at - HOUR, "--group", "aava", "--since", "24h"))
        assert app.snapshot.view.group == "aava" and app.snapshot.view.window == "24h"
        assert app.query_one(TabbedContent).active == "overview"

        await pilot.press(">")
        await wait_for(pilot, _at(app, at, "overview"))
        _shown(app, _report_at(path, at, "--group", "aava", "--since", "24h"))
        assert (app.view.group, app.view.window, app.view.tab) == ("aava", "24h", "overview")


async def test_steps_keep_the_pane_and_forward_past_now_is_live(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path, n_runs=60)
    app = make_app(str(path), now=NOW, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None
                       and app.snapshot.counts.get("events") == n)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.snapshot.view.tab == "testruns"
                       and app.snapshot.ongoing)
        await pilot.press("<")  # from live: one hour before now
        await wait_for(pilot, _at(app, NOW - HOUR, "testruns"))
        expected = _report_at(path, NOW - HOUR)
        assert app.query_one(TabbedContent).active == "testruns"
        assert app.snapshot.counts["testruns"] == expected["all"]["testruns"]
        ongoing = {row["testrun_id"] for row in app.snapshot.ongoing}
        assert ongoing == set(expected["all"]["ongoing_ids"])

        # The cursor on a testrun (not the first row) still listed an hour before.
        before = _report_at(path, NOW - 2 * HOUR)["all"]
        await pilot.pause(0.1)
        table = app.query_one("#testruns-table", LiveTable)
        table.focus()
        still = [i for i in range(1, table.row_count)
                 if set(table.row_text(i)) & {*before["ongoing_ids"], *before["queued_ids"]}]
        table.move_cursor(still[-1])
        chosen, testrun = table.cursor_key, table.row_text(still[-1])[1]
        await pilot.press("<")
        await wait_for(pilot, _at(app, NOW - 2 * HOUR, "testruns"))
        await pilot.pause(0.1)
        assert table.cursor_key == chosen  # the selection stays where it still exists
        assert table.row_text(table.cursor_row)[1] == testrun

        await pilot.press(">")
        await wait_for(pilot, _at(app, NOW - HOUR, "testruns"))
        await pilot.press(">")  # reaches now: live again
        await wait_for(pilot, lambda: _at(app, None, "testruns")()
                       and app.snapshot.counts.get("events") == n)
        assert app.view.at is None and "AT " not in _status_text(app)


async def test_L_returns_to_live(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path, n_runs=60)
    app = make_app(str(path), now=NOW, poll=None, watch=False, at=NOW - 5 * HOUR)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, _at(app, NOW - 5 * HOUR))
        assert app.snapshot.counts["events"] < n
        await pilot.press("<", "<")
        await wait_for(pilot, _at(app, NOW - 7 * HOUR))
        await pilot.press("L")
        await wait_for(pilot, lambda: _at(app, None)() and app.snapshot.counts["events"] == n)
        assert _status_text(app).startswith(" LIVE ")


def _compare_json(path, period: str, *moment: str) -> dict:
    done = report(str(path), "--compare", period, "--json", *moment)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _comparing(app, period: str | None, at: float | None):
    def check() -> bool:
        snap = app.snapshot
        return snap is not None and snap.at == at and not snap.file.loading and \
            snap.view.tab == "trends" and snap.view.compare == period and \
            (snap.comparison is not None) == (period is not None)
    return check


async def _check_comparison(app, pilot, expected: dict) -> None:
    """The pane's figures are report --compare's: the JSON, and the table's cells."""
    assert json.loads(json.dumps(app.snapshot.comparison)) == expected
    await pilot.pause(0.1)
    table = app.query_one("#compare-table", LiveTable)
    assert table.display and not app.query_one("#trend-table").display
    one = expected["all"]
    before, now = one["previous"], one["current"]
    rows = [table.row_text(i) for i in range(table.row_count)]
    for (label, path, kind), row in zip(FIGURES, rows, strict=False):
        a, b = figure(before, path), figure(now, path)
        assert row == [label, cell(a, kind), cell(b, kind), change(a, b, kind)]
    phases = rows[len(FIGURES):]
    headline = app.query_one("#trends-info", TextLine).text.plain
    if None in (before["phase_means"]["init"], now["phase_means"]["init"]):
        order = list(now["phase_means"])  # no split to rank: said instead
        assert "no finished testrun in the previous period" in headline
    else:
        order = moved_first(before["phase_means"], now["phase_means"])
        assert f"moved most: {order[0]} " in headline
    assert [row[0] for row in phases] == [f"mean {part}" for part in order]


async def test_c_compares_as_report_does_live_and_at_T(tmp_path):
    path = tmp_path / "farm.h5"
    write_insight(path)
    app = make_app(str(path), now=NOW, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and not app.snapshot.file.loading)
        await pilot.press("7", "c")
        await wait_for(pilot, _comparing(app, "24h", None))
        await _check_comparison(app, pilot, _compare_json(path, "24h", "--now", repr(NOW)))
        await pilot.press("c")
        await wait_for(pilot, _comparing(app, "7d", None))
        await _check_comparison(app, pilot, _compare_json(path, "7d", "--now", repr(NOW)))

        await pilot.press("c", "c", "<", "<")  # back to 24h, two hours back
        at = NOW - 2 * HOUR
        await wait_for(pilot, _comparing(app, "24h", at))
        await _check_comparison(app, pilot, _compare_json(path, "24h", "--at", repr(at)))

        app.set_view(group="rack")
        await wait_for(pilot, lambda: _comparing(app, "24h", at)()
                       and app.snapshot.view.group == "rack")
        await _check_comparison(app, pilot, _compare_json(path, "24h", "--at", repr(at),
                                                          "--group", "rack"))
        await pilot.press("c", "c")  # 7d, then back to the trend rows
        await wait_for(pilot, _comparing(app, None, at))
        await pilot.pause(0.1)
        assert app.query_one("#trend-table").display
        assert not app.query_one("#compare-table").display


async def test_events_and_a_testruns_detail_stop_at_T(tmp_path):
    """The events pane shows the latest events received by T, a testrun's detail its events
    received by T (the file holds later ones)."""
    from conftest import app_farm_events

    from trmon_tui.screens import TestrunScreen

    path = tmp_path / "farm.h5"
    write_farm(path, n_runs=60)
    at = NOW - 2 * HOUR
    by_t = [e for e in app_farm_events(60) if e["received"] <= at]
    app = make_app(str(path), now=NOW, poll=None, watch=False, at=at)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, _at(app, at))
        await pilot.press("5")
        await wait_for(pilot, lambda: _at(app, at, "events")() and app.snapshot.events)
        shown = [row.event for row in app.snapshot.events]  # newest first
        newest = by_t[::-1][:len(shown)]
        assert [(e["testrun_id"], e["event"], e["received"]) for e in shown] == \
            [(e["testrun_id"], e["event"], e["received"]) for e in newest]

        await pilot.press("2")
        await wait_for(pilot, lambda: _at(app, at, "testruns")() and app.snapshot.ongoing)
        testrun = app.snapshot.ongoing[0]["testrun_id"]
        later = [e for e in app_farm_events(60) if e["testrun_id"] == testrun
                 and e["received"] > at]
        assert later  # the file goes on past T for this testrun
        app.query_one("#testruns-table", LiveTable).focus()
        table = app.query_one("#testruns-table", LiveTable)
        table.move_cursor(next(i for i in range(table.row_count)
                               if testrun in table.row_text(i)))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TestrunScreen)
                       and app.screen.query_one("#timeline", LiveTable).row_count > 0)
        timeline = app.screen.query_one("#timeline", LiveTable)
        mine = [e for e in by_t if e["testrun_id"] == testrun]
        assert timeline.row_count == len(mine)


async def test_several_files_at_T_are_read_not_live(tmp_path):
    """Two files at T: report --at T's counts, and the status bar calls them READ, not LIVE."""
    from store.sources import parse_sources
    from trmon_tui.screens import FilesScreen

    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    write_farm(a)
    write_farm(b, seed=8, end=NOW - 600)
    at = NOW - 3 * HOUR
    app = make_app(parse_sources([str(a), f"lab2={b}"]), now=NOW, poll=None, watch=False,
                   at=at)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, _at(app, at, "overview"))
        done = report(str(a), f"lab2={b}", "--at", repr(at), "--json")
        expected = json.loads(done.stdout)
        assert app.snapshot.counts["testruns"] == expected["all"]["testruns"]
        assert sorted(app.snapshot.summary["groups"]) == sorted(expected["groups"])
        status = _status_text(app)
        assert "a READ · lab2 READ" in status and "LIVE" not in status
        await pilot.press("f")  # the files screen says so too
        await wait_for(pilot, lambda: isinstance(app.screen, FilesScreen))
        states = [row[1] for row in (app.screen.query_one("#files-table", LiveTable).row_text(i)
                                     for i in range(2))]
        assert states == ["READ", "READ"]


async def test_nothing_is_alerted_while_looking_back(tmp_path):
    """Host bad-1 of the insight farm turns bad between 8.5 h and 5.5 h before now: stepping
    over it looking back neither shows a toast nor rings; live again, its state is the start."""
    path = tmp_path / "farm.h5"
    write_insight(path)
    at = NOW - 8.5 * HOUR
    app = make_app(str(path), now=NOW, poll=None, watch=False, at=at, bell=True)
    bells = []
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: _at(app, at)() and app.snapshot.alerts is not None)
        assert "bad-1" not in app.snapshot.alerts.bad_hosts
        for k in (1, 2, 3):
            await pilot.press(">")
            await wait_for(pilot, _at(app, at + k * HOUR))
        assert "bad-1" in app.snapshot.alerts.bad_hosts  # it turned bad meanwhile
        await pilot.press("L")
        await wait_for(pilot, lambda: _at(app, None)() and app.alerts is not None)
        await pilot.pause(0.2)
        assert [n for n in app._notifications if n.title == "host bad"] == []
        assert bells == []
