"""Snapshot tests of every pane at 80x24 and 120x36 over a seeded file and a fixed clock.

Update with `pytest tests/test_snapshots.py --snapshot-update`, then look at the SVGs in
tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest
from conftest import NOW, loaded, wait_for, write_farm
from test_app_failures import RULES, failure_events, write_events
from test_app_insight import write_insight
from textual.widgets import Static

from trmon_tui.app import make_app
from trmon_tui.screens import HostScreen, TestrunScreen
from trmon_tui.screens.failure import ConfigurationScreen, ErrorTypeScreen
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.plotview import PlotView

SIZES = [(80, 24), (120, 36)]


def _ready(app, tab: str):
    """Condition: the pane of ``tab`` shows the fixed data."""
    def check() -> bool:
        if app.snapshot is None or app.snapshot.view.tab != tab:
            return False
        probes = {"overview": "#groups", "testruns": "#testruns-table",
                  "statistics": "#stats", "events": "#events-table", "hosts": "#hosts-table",
                  "trends": "#trend-table", "failures": "#failure-configurations"}
        if tab == "chart":
            found = app.query("#chart-info")
            return bool(found) and "of 40" in str(found.first(Static).render())
        if tab == "trends":  # the chart too (drawn at most once a second)
            plot = app.query("#trend-plot")
            if not plot or "│" not in plot.first(PlotView).text.plain:
                return False
        found = app.query(probes[tab])
        return bool(found) and found.first(LiveTable).row_count > 0
    return check


def _app(tmp_path, insight: bool = False, failures: bool = False):
    """The app over the 40-testrun farm, or over the insight farm (bad, suspect and good
    hosts, overdue testruns: tests/test_app_insight.py), or over the failures farm (a
    suspect host, a broken image, a config rule: tests/test_app_failures.py)."""
    path = tmp_path / "farm.h5"
    if failures:
        n = write_events(path, failure_events())
        return make_app(str(path), now=lambda: NOW, poll=None, watch=False, rules=RULES), n
    n = write_insight(path) if insight else write_farm(path)
    return make_app(str(path), now=lambda: NOW, poll=None, watch=False), n


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key,tab", [("1", "overview"), ("2", "testruns"), ("3", "chart"),
                                     ("4", "statistics"), ("5", "events"), ("6", "hosts"),
                                     ("7", "trends"), ("8", "failures")])
def test_pane(snap_compare, tmp_path, size, key, tab):
    app, n = _app(tmp_path, insight=tab in ("hosts", "trends"), failures=tab == "failures")

    async def before(pilot):
        await wait_for(pilot, loaded(app, n))
        await pilot.press(key)
        await wait_for(pilot, _ready(app, tab))
        if tab == "statistics":  # the histogram arrives with the samples
            await wait_for(pilot, lambda: app.snapshot.samples is not None)
        await pilot.wait_for_scheduled_animations()  # the tab underline slides
        await pilot.pause(0.3)
        await wait_for(pilot, _ready(app, tab))  # still so (nothing refilled it meanwhile)

    assert snap_compare(app, terminal_size=size, run_before=before)



def test_detail_screen(snap_compare, tmp_path):
    app, n = _app(tmp_path)

    async def before(pilot):
        await wait_for(pilot, loaded(app, n))
        await pilot.press("2")
        await wait_for(pilot, _ready(app, "testruns"))
        app.query_one("#testruns-table", LiveTable).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TestrunScreen) and "loading" not in
                       str(app.screen.query_one("#detail-attrs", Static).render()))
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_overdue_testruns(snap_compare, tmp_path):
    app, n = _app(tmp_path, insight=True)

    async def before(pilot):
        await wait_for(pilot, loaded(app, n))
        await pilot.press("2")
        await wait_for(pilot, _ready(app, "testruns"))
        await pilot.press("s")  # most overdue first
        await wait_for(pilot, lambda: app.snapshot.view.order == "overdue")
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_host_screen(snap_compare, tmp_path):
    app, n = _app(tmp_path, insight=True)

    async def before(pilot):
        await wait_for(pilot, loaded(app, n))
        await pilot.press("6")
        await wait_for(pilot, _ready(app, "hosts"))
        await wait_for(pilot, lambda: app.focused is app.query_one("#hosts-table"))
        await pilot.press("enter")  # the bad host, first
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen) and
                       app.screen.query_one("#host-testruns", LiveTable).row_count > 0)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_help_screen(snap_compare, tmp_path):
    app, n = _app(tmp_path)

    async def before(pilot):
        await wait_for(pilot, loaded(app, n))
        await pilot.press("question_mark")
        await pilot.wait_for_scheduled_animations()  # the tab underline slides
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_configuration_screen(snap_compare, tmp_path):
    app, n = _app(tmp_path, failures=True)

    async def before(pilot):
        await wait_for(pilot, loaded(app, n))
        await pilot.press("8")
        await wait_for(pilot, _ready(app, "failures"))
        table = app.query_one("#failure-configurations", LiveTable)
        table.focus()
        table.move_cursor(table.row_count - 1)  # img-a (the lowest error %), its suspect host
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfigurationScreen) and
                       app.screen.query_one("#failure-rows", LiveTable).row_count > 0)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_error_type_screen(snap_compare, tmp_path):
    app, n = _app(tmp_path, failures=True)

    async def before(pilot):
        await wait_for(pilot, loaded(app, n))
        await pilot.press("8")
        await wait_for(pilot, _ready(app, "failures"))
        await wait_for(pilot, lambda: app.focused is app.query_one("#failure-types"))
        await pilot.press("enter")  # BootError, the most testruns
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorTypeScreen) and
                       app.screen.query_one("#failure-rows", LiveTable).row_count > 0)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
