"""Pilot tests of the operator-insight parts of the monitor (issue 12) over real files: the
hosts pane and a host's detail, the trends pane, overdue testruns, the chart's error marks and
round ticks, NO_COLOR marks, --now.  The figures are compared with the engine's answers on the
same file and the same now (what `report --json --now` prints)."""

from __future__ import annotations

import math
import re

import pytest
from conftest import NOW, loaded, wait_for, write_farm
from textual.widgets import Static

from store.stats import StatsEngine
from trmon_tui.app import make_app
from trmon_tui.cli import monitor_parser
from trmon_tui.commands.report import read_file
from trmon_tui.screens import HostScreen, TestrunScreen
from trmon_tui.widgets import hosts as hosts_widget
from trmon_tui.widgets import plots
from trmon_tui.widgets.barchart import round_ticks
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.plotview import PlotView

HOUR = 3600.0
HOSTILE_HOSTS = ("[red]x", "esc\x1b[2Jape")


def _run(tid, t, group, host, steps, error=None):
    """Events of one testrun requested at ``t``: ``steps`` = (event, seconds after the
    previous one); an "error" step carries ``error``."""
    events = [{"testrun_id": tid, "event": "request", "emit": t, "received": t,
               "device_group": group, "requestor": "ops@lab.example",
               "hosts": [[host, 1]]}]
    for name, gap in steps:
        t += gap
        event = {"testrun_id": tid, "event": name, "emit": t, "received": t}
        if name == "error":
            event["error"] = error
        events.append(event)
    return events


def _finished(i):
    return [("queue_start", 60), ("queue_end", 300 + 5 * i), ("flash_start", 5),
            ("flash_end", 600 + 7 * i), ("boot_start", 5), ("boot_end", 300),
            ("test_start", 5), ("test_end", 900 + 11 * i), ("publish", 120)]


def _failed_in(phase, i):
    """Steps of a testrun that fails in ``phase`` ("flash": infra, "test": not)."""
    steps = _finished(i)
    cut = [name for name, _ in steps].index(f"{phase}_start") + 1
    return steps[:cut] + [("error", 200)]


def insight_events() -> list[dict]:
    """A farm with what the insight panes are for, ending at NOW: in group "rack" the good
    hosts good-1 and good-2 (30 finished testruns: enough samples for overdue), a flaky host
    (4 test failures in 8, its latest finished: suspect), a failing one (4 flash failures in a
    row: bad), a testrun hanging in flash and one stuck in the queue (overdue), a fresh one;
    in group "bench" hosts with hostile names and an error message with markup."""
    events = []
    for i in range(30):
        events += _run(f"ok-{i:02d}", NOW - 30 * HOUR + i * 50 * 60, "rack", f"good-{i % 2 + 1}",
                       _finished(i))
    for k in range(8):
        steps = _failed_in("test", k) if k in (1, 3, 5, 6) else _finished(k)
        events += _run(f"flaky-{k}", NOW - 20 * HOUR + k * 2 * HOUR, "rack", "flaky-1", steps,
                       "AssertionError: test_wifi failed")
    for k in range(5):
        steps = _failed_in("flash", k) if k else _finished(k)
        events += _run(f"bad-{k}", NOW - 10 * HOUR + k * HOUR, "rack", "bad-1", steps,
                       f"FlashError: no device on bad-1 (try {k})")
    events += _run("tr-late", NOW - 4 * HOUR, "rack", "good-2",
                   [("queue_start", 60), ("queue_end", 300), ("flash_start", HOUR - 360)])
    events += _run("tr-stuck", NOW - 2 * HOUR, "rack", "good-1", [("queue_start", 60)])
    events += _run("tr-fresh", NOW - 600, "rack", "good-1",
                   [("queue_start", 60), ("queue_end", 300), ("flash_start", 60)])
    events += _run("b-1", NOW - 5 * HOUR, "bench", HOSTILE_HOSTS[0], _finished(1))
    events += _run("b-2", NOW - 5 * HOUR, "bench", HOSTILE_HOSTS[1], _failed_in("test", 2),
                   "Boom: [bold]x[/] \x1b[31m")
    events.sort(key=lambda e: e["received"])
    return events


def write_insight(path) -> int:
    """Write the insight farm with the real EventWriter; returns the number of events."""
    from store.writer import EventWriter

    events = insight_events()
    with EventWriter(str(path)) as writer:
        for event in events:
            writer.write(event)
    return len(events)


def engine_of(path) -> StatsEngine:
    """The statistics of the whole file, read as `report` reads it."""
    return read_file(str(path))[0]


def rows(app, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, LiveTable)
    return [table.row_text(i) for i in range(table.row_count)]


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def _open(pilot, app, key: str, selector: str, count: int | None = None) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: app.query(selector) and (
        app.query_one(selector, LiveTable).row_count == count if count is not None
        else app.query_one(selector, LiveTable).row_count > 0))


@pytest.fixture
def insight(tmp_path):
    path = tmp_path / "insight.h5"
    n = write_insight(path)
    return path, n, engine_of(path)


async def test_hosts_pane_lists_bad_first_with_the_engines_figures(insight):
    path, n, engine = insight
    expected = engine.hosts(now=NOW)
    assert [h["health"] for h in expected[:2]] == ["bad", "suspect"]  # the farm is as meant
    app = make_app(str(path), now=NOW, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await _open(pilot, app, "6", "#hosts-table", len(expected))
        shown = rows(app, "#hosts-table")
        for row, host in zip(shown, expected, strict=True):
            late = host["last_ok"]
            assert row[:10] == [
                {"bad": "✗ bad", "suspect": "! suspect", "good": "✓ good"}[host["health"]],
                host["host"].replace("\x1b", "\\x1b"), str(host["streak"]),
                f"{host['errors']}/{host['testruns']}",
                "–" if host["error_pct"] is None else f"{host['error_pct']:.1f}",
                str(host["infra_errors"]), "busy" if host["busy"] else "idle",
                f"{100 * host['busy_1h']:.0f}", f"{100 * host['busy_24h']:.0f}",
                "never" if late is None else hosts_widget.ago(late, NOW)]
        by_host = {row[1]: row for row in shown}
        assert by_host["bad-1"][2:6] == ["4", "4/5", "80.0", "4"]
        assert by_host["flaky-1"][2:6] == ["0", "4/8", "50.0", "0"]
        assert by_host["good-2"][10] == "tr-late flash"  # what it runs now
        assert by_host["good-2"][6:8] == ["busy", "100"]  # tr-late since 4 h, still in flash
        assert "[red]x" in by_host and "esc\\x1b[2Jape" in by_host  # literal, escaped
        assert "1 bad" in text_of(app, "#hosts-info") and "1 suspect" in text_of(app, "#hosts-info")


async def test_hosts_follow_group_and_window(insight):
    path, n, engine = insight
    app = make_app(str(path), now=NOW, poll=None, watch=False, group="bench")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await _open(pilot, app, "6", "#hosts-table", 2)
        assert {r[1] for r in rows(app, "#hosts-table")} == {"[red]x", "esc\\x1b[2Jape"}
        await pilot.press("g")
        await pilot.press("home", "enter")  # all groups
        await wait_for(pilot, lambda: app.query_one("#hosts-table", LiveTable).row_count == 6)
        await pilot.press("t")  # 24h: the testruns requested since NOW - 24 h
        expected = [h["host"] for h in engine.hosts(since=NOW - 24 * HOUR, now=NOW)]
        await wait_for(pilot, lambda: [r[1] for r in rows(app, "#hosts-table")] ==
                       [h.replace("\x1b", "\\x1b") for h in expected])


async def test_host_detail_shows_latest_testruns_and_errors(insight):
    path, n, engine = insight
    expected = engine.host_testruns("bad-1", now=NOW)
    app = make_app(str(path), now=NOW, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await _open(pilot, app, "6", "#hosts-table")
        assert app.query_one("#hosts-table", LiveTable).cursor_key == "h:bad-1"
        await pilot.press("enter")  # the number key put the keys in the table
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen) and
                       app.screen.query_one("#host-testruns", LiveTable).row_count == 5)
        shown = rows(app, "#host-testruns")
        assert [r[0] for r in shown] == [t["testrun_id"] for t in expected]
        assert [r[2] for r in shown] == ["✗ error"] * 4 + ["✓ finished"]
        assert [r[3] for r in shown] == [t["phase"] for t in expected] == \
            ["flash"] * 4 + ["publish"]
        assert shown[0][6] == "infra: FlashError: no device on bad-1 (try 4)"
        figures = text_of(app, "#host-figures")
        assert "✗ bad" in figures and "streak 4" in figures and "4 infra" in figures
        assert "bad-4: infra: FlashError" in text_of(app, "#host-error")
        await pilot.press("down")  # the highlighted testrun's error under the table
        await wait_for(pilot, lambda: "bad-3: " in text_of(app, "#host-error"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TestrunScreen))
        assert app.screen.testrun_id == "bad-3"
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: app.snapshot.view.host is None)
        assert not isinstance(app.screen, HostScreen | TestrunScreen)


async def test_host_detail_shows_markup_literally(insight):
    path, n, _ = insight
    app = make_app(str(path), now=NOW, poll=None, watch=False, group="bench")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await _open(pilot, app, "6", "#hosts-table", 2)
        table = app.query_one("#hosts-table", LiveTable)
        table.move_cursor(0 if "esc" in table.row_text(0)[1] else 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen) and
                       app.screen.query_one("#host-testruns", LiveTable).row_count == 1)
        assert "esc\\x1b[2Jape" in text_of(app, "#host-title")
        assert rows(app, "#host-testruns")[0][6] == "Boom: [bold]x[/] \\x1b[31m"


async def test_trends_rows_are_the_engines_by_day_hour_and_window(insight):
    path, n, engine = insight

    def expected(bucket, since=None):
        return [[r["requests"], r["finished"], r["errors"]]
                for r in reversed(engine.trend(bucket, since=since, now=NOW))]

    def shown(app):
        return [[int(c) for c in r[1:4]] for r in rows(app, "#trend-table")]

    app = make_app(str(path), now=NOW, poll=None, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await _open(pilot, app, "7", "#trend-table")
        by_day = engine.trend("day", now=NOW)
        assert shown(app) == expected("day")  # "all": by day
        assert rows(app, "#trend-table")[0][0] == "2025-12-31"  # the last request's day
        assert rows(app, "#trend-table")[-1][4] == f"{by_day[0]['error_pct']:.1f}"
        assert "by day (for window all" in str(app.query_one("#trends-info", Static).render())
        await pilot.press("h")
        await wait_for(pilot, lambda: shown(app) == expected("hour"))
        assert rows(app, "#trend-table")[0][0] == "12-31 23:00"
        await pilot.press("h")
        await wait_for(pilot, lambda: shown(app) == expected("day"))
        await pilot.press("t")  # 24h: by hour again, over the window
        await wait_for(pilot, lambda: app.snapshot.view.window == "24h")
        await wait_for(pilot, lambda: shown(app) == expected("hour", NOW - 24 * HOUR))
        await wait_for(pilot, lambda: "23:00" in  # redrawn within about a second
                       app.query_one("#trend-plot", PlotView).text.plain)


async def test_trend_too_long_says_so(tmp_path):
    from store.writer import EventWriter

    path = tmp_path / "stray.h5"
    with EventWriter(str(path)) as writer:  # one request dated 1970: 20,000 days of rows
        for tid, t in (("old", 1.0), ("new", NOW - 60)):
            writer.write({"testrun_id": tid, "event": "request", "emit": t, "received": t,
                          "device_group": "g"})
    app = make_app(str(path), now=NOW, poll=None, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, loaded(app, 2))
        await pilot.press("7")
        await wait_for(pilot, lambda: app.snapshot.view.tab == "trends" and
                       app.snapshot.trend_refused)
        await wait_for(pilot, lambda: "at most 10,000" in str(
            app.query_one("#trends-info", Static).render()))
        assert app.query_one("#trend-table", LiveTable).row_count == 0
        assert app.problem == ""  # a sentence, not a failure
        await pilot.press("t")  # 24h: by hour over a day is fine
        await wait_for(pilot, lambda: app.query_one("#trend-table", LiveTable).row_count == 1)


async def test_overdue_marked_sorted_and_counted(insight):
    path, n, engine = insight
    late = [t["testrun_id"] for t in engine.overdue(now=NOW)]
    assert sorted(late) == ["tr-late", "tr-stuck"]
    app = make_app(str(path), now=NOW, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await wait_for(pilot, lambda: app.query_one("#groups", LiveTable).row_count == 3)
        overview = {r[0]: r for r in rows(app, "#groups")}
        assert (overview["rack"][-1], overview["bench"][-1], overview["all groups"][-1]) == \
            ("2", "0", "2")
        assert "2 overdue" in text_of(app, "#status-text")
        await _open(pilot, app, "2", "#testruns-table", 3)
        by_id = {r[1]: r for r in rows(app, "#testruns-table")}
        assert by_id["tr-late"][4].startswith("!") and by_id["tr-stuck"][4].startswith("!")
        assert not by_id["tr-fresh"][4].startswith("!")
        assert "2 overdue (!)" in text_of(app, "#testruns-info")
        await pilot.press("s")  # most overdue first
        await wait_for(pilot, lambda: app.snapshot.view.order == "overdue")
        assert [r[1] for r in rows(app, "#testruns-table")] == late + ["tr-fresh"]
        assert "sorted by overdue" in text_of(app, "#testruns-info")


async def test_now_is_the_reference_time_of_ages(insight):
    path, n, _ = insight
    args = monitor_parser().parse_args([str(path), "--now", str(NOW + 3 * HOUR)])
    assert args.now == NOW + 3 * HOUR
    with pytest.raises(SystemExit):
        monitor_parser().parse_args([str(path), "--now", "yesterday"])
    app = make_app(str(path), now=args.now, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        assert app.snapshot.taken_at == NOW + 3 * HOUR
        assert abs(app.wall() - NOW) > 86400  # "updated ... ago" keeps the real clock
        await _open(pilot, app, "2", "#testruns-table", 3)
        by_id = {r[1]: r for r in rows(app, "#testruns-table")}
        # In flash since NOW - 180 s: 3 h 3 min to --now, and so overdue too.
        assert by_id["tr-fresh"][4] == "!3h03m"


async def test_chart_marks_errors_and_has_round_ticks(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = make_app(str(path), now=NOW, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await pilot.press("3")
        await wait_for(pilot, lambda: app.query("#chart-plot") and
                       "Time / min" in app.query_one("#chart-plot", PlotView).text.plain)
        lines = app.query_one("#chart-plot", PlotView).text.plain.split("\n")
        segments = app.snapshot.segments
        for tid, status in zip(segments["testrun_ids"], segments["status"], strict=True):
            bar = next(line for line in lines if line.lstrip().startswith(tid))
            assert (f"{tid}✗┤" in bar) == (status == "error")
        assert "error" in segments["status"]
        ticks = [float(v) for v in lines[-2].split()]
        step = ticks[1] - ticks[0]
        assert ticks[0] == 0 and 4 <= len(ticks) <= 8
        assert ticks == [i * step for i in range(len(ticks))] and _round(step)


def _round(step: float) -> bool:
    """1, 2 or 5 times a power of ten."""
    mantissa = f"{step:e}".split("e")[0].rstrip("0").rstrip(".")
    return mantissa in ("1", "2", "5")


@pytest.mark.parametrize("top", [0.0, 0.3, 7.0, 59.0, 119.0, 786.0, 1578.0, 2352.0, 3600.0,
                                 10800.0, 10801.0, 19800.0, 86400.0, 5e5])
@pytest.mark.parametrize("cells", [40, 66, 110])
def test_round_ticks_are_round_and_cover_the_range(top, cells):
    unit, ticks = round_ticks(top, cells)
    scale = {"s": 1.0, "min": 60.0, "h": 3600.0}[unit]
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and _round(step) and 4 <= len(ticks) <= 8
    assert ticks == pytest.approx([i * step for i in range(len(ticks))])
    assert ticks[-1] * scale >= top and ticks[-2] * scale < max(top, 1.0)  # covers it, tightly
    assert unit == ("s" if top < 120 else "min" if top <= 3 * HOUR else "h")


async def test_no_color_marks_remain(insight, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    path, n, _ = insight
    app = make_app(str(path), now=NOW, poll=None, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color
        await wait_for(pilot, loaded(app, n))
        await _open(pilot, app, "6", "#hosts-table")
        health = [r[0] for r in rows(app, "#hosts-table")]
        assert health[:2] == ["✗ bad", "! suspect"] and "✓ good" in health
        await pilot.press("3")
        await wait_for(pilot, lambda: app.query("#chart-plot") and
                       "✗┤" in app.query_one("#chart-plot", PlotView).text.plain)
        assert "✗ error" in str(app.query_one("#legend", Static).render())
        await _open(pilot, app, "7", "#trend-table")
        await wait_for(pilot, lambda: "▒" in app.query_one("#trend-plot", PlotView).text.plain)
        assert re.search(r"▒▒ errors", str(app.query_one("#trend-legend", Static).render()))


@pytest.mark.parametrize(("low", "high"), [(35.4, 500.2), (0.0, 1428.0), (0.0, 3.0), (4.0, 6.0),
                                           (41.27, 83.4), (0.001, 0.0042), (1e5, 1e5 + 7),
                                           (0.0, 4.5), (0.2, 9.9)])
@pytest.mark.parametrize("max_ticks", [2, 3, 5, 8])
def test_histogram_ticks_are_round_and_inside_the_range(low, high, max_ticks):
    ticks = plots.round_steps(low, high, max_ticks=max_ticks)
    step = ticks[1] - ticks[0]
    assert 2 <= len(ticks) <= max_ticks and low - 1e-9 <= ticks[0] and ticks[-1] <= high + 1e-9
    if _round(step):  # evenly spaced by a round step, from the first multiple to the last
        assert ticks == pytest.approx([ticks[0] + i * step for i in range(len(ticks))])
        assert ticks[0] < low + step and high - step < ticks[-1]
    else:  # no round step gives 2..max_ticks: two round numbers inside the range
        assert len(ticks) == 2 and any(_round(s) and all(abs(t / s - round(t / s)) < 1e-6
                                                         for t in ticks) for s in _steps(step))
    whole = plots.round_steps(low, high, max_ticks=max_ticks, whole=True)
    assert all(t == int(t) for t in whole) or whole == [low, high]


def _steps(span: float) -> list[float]:
    """Round steps up to ``span``."""
    power = 10.0 ** math.floor(math.log10(span))
    steps = [m * power * 10 ** k for k in range(-3, 1) for m in (1, 2, 5)]
    return [step for step in steps if step <= span]


def test_histogram_of_one_value_counts_only_the_samples():
    text = plots.histogram([300.0, 300.0, 300.0], 60, 12, label="boot").plain
    assert "(n = 3)" in text and "5.0" not in text  # 300 s: one bar at 300, round ticks
    assert re.search(r"\b300\b", text)
