"""Pilot tests of the monitor over real HDF5 files: keys in, pane contents out."""

from __future__ import annotations

from conftest import NOW, loaded, wait_for, write_farm
from textual.widgets import Static, TabbedContent

from trmon_tui.app import make_app
from trmon_tui.model import TABS
from trmon_tui.screens import GroupScreen, HelpScreen, TestrunScreen
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.plotview import PlotView


def rows(app, selector: str) -> list[list[str]]:
    """Plain text of every row of a LiveTable."""
    table = app.query_one(selector, LiveTable)
    return [table.row_text(i) for i in range(table.row_count)]


def static_text(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def plot_text(app, selector: str) -> str:
    return app.query_one(selector, PlotView).text.plain


def fixed_app(path, **kwargs):
    return make_app(str(path), now=lambda: NOW, poll=None, watch=False, **kwargs)


async def test_overview_lists_groups_and_literal_requestors(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = fixed_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await wait_for(pilot, lambda: app.query_one("#groups", LiveTable).row_count == 4)
        table = rows(app, "#groups")
        assert [r[0] for r in table] == ["aava", "n900", "tablet", "all groups"]
        queued, ongoing, done, errors = (int(v) for v in table[-1][1:5])  # all groups
        assert (queued, ongoing) == (2, 3) and queued + ongoing + done + errors == 40
        requestors = [r[0] for r in rows(app, "#requestors")]
        assert "[red]x[/]" in requestors  # markup shown as text
        assert "esc\\x1b[2Jape@farm" in requestors  # escape sequence shown escaped
        status = static_text(app, "#status-text")
        assert "LIVE" in status and f"{n} ev" in status and "40 runs" in status


async def test_number_keys_switch_panes_and_each_pane_fills(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = fixed_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await pilot.press("2")
        assert app.query_one(TabbedContent).active == "testruns"
        await wait_for(pilot, lambda: app.query("#testruns-table") and
                       app.query_one("#testruns-table", LiveTable).row_count == 5)
        states = [r[0] for r in rows(app, "#testruns-table")]
        assert states.count("ongoing") == 3 and states.count("queued") == 2
        await pilot.press("3")
        await wait_for(pilot, lambda: "of 40" in static_text(app, "#chart-info"))
        chart = plot_text(app, "#chart-plot")
        assert "Time / min" in chart and "tr-0039" in chart
        await pilot.press("4")
        await wait_for(pilot, lambda: app.query("#stats") and
                       app.query_one("#stats", LiveTable).row_count == 10)
        testrun_row = rows(app, "#stats")[0]
        assert testrun_row[0] == "testrun" and testrun_row[1] == "30"
        await wait_for(pilot, lambda: "testrun / " in plot_text(app, "#histogram"))
        await pilot.press("5")
        await wait_for(pilot, lambda: app.query("#events-table") and
                       app.query_one("#events-table", LiveTable).row_count > 0)
        events = rows(app, "#events-table")
        assert len(events) == min(n, 300)
        assert events[0][0] >= events[-1][0]  # newest first (same day, HH:MM:SS)


async def test_statistics_cursor_selects_histogram_phase(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = fixed_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await pilot.press("4")
        await wait_for(pilot, lambda: app.query("#stats") and
                       app.query_one("#stats", LiveTable).row_count == 10)
        app.query_one("#stats", LiveTable).focus()
        await pilot.press("down", "down", "down")  # testrun, init, queue, flash
        await wait_for(pilot, lambda: "flash / " in plot_text(app, "#histogram"))
        assert app.view.phase == "flash"


async def test_filter_sort_and_detail(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = fixed_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await pilot.press("slash")
        await wait_for(pilot, lambda: app.query("#filter") and app.focused is not None
                       and app.focused.id == "filter")
        await pilot.press(*"queued")
        await wait_for(pilot, lambda: app.query_one("#testruns-table", LiveTable).row_count == 2)
        await pilot.press("enter")  # leaves the filter box for the table
        await pilot.press("s", "s")  # sort: overdue first, then longest first
        assert "sorted by longest" in static_text(app, "#testruns-info")
        assert [r[1] for r in rows(app, "#testruns-table")] == ["tr-0038", "tr-0039"]
        table = app.query_one("#testruns-table", LiveTable)
        chosen = rows(app, "#testruns-table")[table.cursor_row][1]  # the cursor follows its row
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TestrunScreen))
        screen = app.screen
        assert screen.testrun_id == chosen
        await wait_for(pilot, lambda: "loading" not in str(
            screen.query_one("#detail-attrs", Static).render()))
        attrs = str(screen.query_one("#detail-attrs", Static).render())
        assert "device_group" in attrs
        await pilot.press("escape")
        assert not isinstance(app.screen, TestrunScreen)
        await pilot.press("escape")  # clears the filter
        await wait_for(pilot, lambda: app.query_one("#testruns-table", LiveTable).row_count == 5)


async def test_group_selector_and_time_window(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = fixed_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen))
        await pilot.press("down", "down", "enter")  # all, aava, n900
        await wait_for(pilot, lambda: app.snapshot.view.group == "n900")
        await wait_for(pilot, lambda: app.query_one("#groups", LiveTable).row_count == 2)
        assert [r[0] for r in rows(app, "#groups")] == ["n900", "all groups"]
        assert "n900" in static_text(app, "#status-text")
        await pilot.press("t")  # 24h: everything is within the last 6 hours
        await wait_for(pilot, lambda: app.snapshot.view.window == "24h")
        assert "24h" in static_text(app, "#status-text")
        await pilot.press("t", "t")
        await wait_for(pilot, lambda: app.snapshot.view.window == "all")


async def test_chart_pages_with_brackets(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = fixed_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await pilot.press("3")
        await wait_for(pilot, lambda: app.query("#chart-info") and
                       "of 40" in static_text(app, "#chart-info"))
        limit = app.view.chart_limit
        assert 1 <= limit < 20  # as many bars as fit in 80x24
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: app.snapshot.view.chart_offset == limit)
        await wait_for(pilot, lambda: f"testruns {limit + 1}–" in static_text(app, "#chart-info"))
        await pilot.press("pageup")
        await wait_for(pilot, lambda: app.snapshot.view.chart_offset == 0)


async def test_help_palette_pause_reload(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = fixed_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.press(*"show statistics")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.query_one(TabbedContent).active == "statistics")
        await pilot.press("p")
        assert app.paused and "PAUSED" in static_text(app, "#status-text")
        await pilot.press("p")
        assert not app.paused
        await pilot.press("r")
        await wait_for(pilot, loaded(app, n))


async def test_since_24h_is_the_rolling_window(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = fixed_app(path, since="24h")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, n))
        assert app.snapshot.view.window == "24h"
        await pilot.press("t")  # 24h -> 7d
        await wait_for(pilot, lambda: app.snapshot.view.window == "7d")


async def test_events_pane_narrows_to_group_and_opens_testrun(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = fixed_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await pilot.press("5")
        await wait_for(pilot, lambda: app.query("#events-table") and
                       app.query_one("#events-table", LiveTable).row_count > 0)
        everything = rows(app, "#events-table")
        assert {r[2] for r in everything} == {"aava", "n900", "tablet"}
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen))
        await pilot.press("down", "down", "enter")  # all, aava, n900
        await wait_for(pilot, lambda: app.snapshot.view.group == "n900" and
                       app.query_one("#events-table", LiveTable).row_count < len(everything))
        narrowed = rows(app, "#events-table")
        assert narrowed and {r[2] for r in narrowed} == {"n900"}
        # The same events, newest first; older ones of n900 fill the rows other groups had.
        of_n900 = [r for r in everything if r[2] == "n900"]
        assert narrowed[:len(of_n900)] == of_n900 and len(narrowed) > len(of_n900)
        assert "of n900" in static_text(app, "#events-info")
        app.query_one("#events-table", LiveTable).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TestrunScreen))
        assert app.screen.testrun_id == narrowed[0][1]


async def test_overview_of_a_large_file_keeps_its_last_column_at_80_columns(tmp_path):
    """With five-digit counts the overview's table is wider than 80 columns: there it shows
    counts in thousands and names the total row "all", so that "overdue" stays on screen; at
    120 columns the same file shows every digit."""
    import subprocess
    import sys

    path = tmp_path / "big.h5"
    subprocess.run([sys.executable, "-m", "trmon_tui", "generate", str(path), "--runs",
                    "30000", "--seed", "2"], check=True, capture_output=True)
    for size, compact in (((80, 24), True), ((120, 36), False)):
        app = fixed_app(path)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda app=app: app.query_one("#groups", LiveTable).row_count
                           and rows(app, "#groups")[-1][0].startswith("all"))
            table = app.query_one("#groups", LiveTable)
            total = rows(app, "#groups")[-1]
            assert total[0] == ("all" if compact else "all groups")
            done = total[3]
            assert done.endswith("k") if compact else done.replace(",", "").isdigit()
            pane = app.query_one("#pane-overview")
            shown = [(str(i), table.row_text(i)) for i in range(table.row_count)]
            assert table.width_of(shown) <= pane.scrollable_content_region.width


def test_compact_counts():
    from trmon_tui.widgets import format as fmt

    shown = [fmt.count(n, compact=True).plain for n in
             (None, 0, 9_999, 10_000, 875_508, 999_499, 999_500, 1_000_000, 99_949_999,
              99_950_000, 1_234_567_890)]
    assert shown == ["–", "0", "9,999", "10k", "876k", "999k", "1.0M", "1.0M", "99.9M", "100M",
                     "1,235M"]
    assert fmt.count(875_508).plain == "875,508"  # not compact: every digit


async def test_panes_are_mounted_when_needed(tmp_path):
    """widgets/deferred.py: only the overview until the files are read (here a loop that was
    never run: nothing is read), a tab's pane when it is activated; every pane once the files
    are read."""
    import threading

    from trmon_tui.feed import Mailbox, Started, TailLoop

    path = tmp_path / "farm.h5"
    n = write_farm(path)
    mailbox = Mailbox()
    idle = TailLoop(str(path), mailbox.post)  # never run: no snapshot ever comes
    reading = make_app(str(path), now=lambda: NOW, poll=None, watch=False,
                       started=Started(mailbox, idle, threading.Event()))
    async with reading.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.5)
        assert reading.query("#pane-overview") and not reading.query("#pane-hosts")
        await pilot.press("6")
        await wait_for(pilot, lambda: bool(reading.query("#pane-hosts")))
        assert not reading.query("#pane-trends")
    app = make_app(str(path), now=lambda: NOW, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await wait_for(pilot, lambda: all(app.query(f"#pane-{tab}") for tab in TABS))
        assert not app.query("Deferred")
