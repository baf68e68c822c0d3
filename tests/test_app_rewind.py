"""Pilot tests of looking back in the monitor (DESIGN "Looking back", issue 20) on real files:
--at T shows what `report --at T --json` counts, < and > step an hour and come back to the same
counts, L is live again, the pane, group and selection stay; the trends pane's comparison (c)
shows `report --compare`'s figures.  The farm: conftest.two_day_events (two days ending at NOW)."""

from __future__ import annotations

import json

from conftest import NOW, report, two_day_events, wait_for, write_two_days
from textual.widgets import Static

from store.catalog import Catalog
from store.multi import MultiTail
from store.sources import Source
from store.writer import EventWriter
from trmon_tui.app import make_app
from trmon_tui.detail import load_testrun
from trmon_tui.plain import moment
from trmon_tui.widgets.livetable import LiveTable

HOUR = 3600.0
AT = NOW - 2.5 * HOUR


def report_at(path, at: float, *args: str) -> dict:
    done = report(path, "--at", repr(at), "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def status(app) -> str:
    return str(app.query_one("#status-text", Static).render())


def shows(app, at: float | None, events: int | None = None):
    """Condition: the app shows the complete snapshot of moment ``at`` (None: live)."""
    def check() -> bool:
        snap = app.snapshot
        return snap is not None and snap.at == at and not snap.file.loading and \
            (events is None or snap.counts.get("events") == events)
    return check


def same_counts(snapshot, summary: dict, whole: bool = True) -> None:
    """The overview's figures of ``snapshot`` are report's SUMMARY ``summary`` (``whole``: of
    the whole file, so the status bar's counts too; else of a window)."""
    if whole:
        assert snapshot.counts["events"] == sum(summary["event_counts"].values())
        assert snapshot.counts["testruns"] == summary["testruns"]
    shown = snapshot.summary["all"]
    for key in ("testruns", "queued", "ongoing", "finished", "errors", "error_pct",
                "event_counts"):
        assert shown[key] == summary[key], key


async def test_at_shows_what_report_at_counts(tmp_path):
    path = tmp_path / "farm.h5"
    total = write_two_days(path)
    app = make_app(str(path), poll=None, watch=False, now=NOW, at=AT)
    expected = report_at(path, AT)["all"]
    assert 0 < sum(expected["event_counts"].values()) < total  # a real cut
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, shows(app, AT))
        same_counts(app.snapshot, expected)
        assert app.snapshot.taken_at == AT and not app.snapshot.live
        line = status(app)
        assert line.startswith(f" AT {moment(AT)} ") and moment(AT) == "2025-12-31 21:30 UTC"
        assert "LIVE" not in line and "ago" not in line  # nothing live while looking back
        # The files screen's events and latest event are those received by AT, not the file's.
        kept = [e["received"] for e in two_day_events() if e["received"] <= AT]
        file = app.snapshot.files[0]
        assert (file.rows_read, file.rows_total, file.last_event) == \
            (len(kept), len(kept), max(kept))
        await pilot.press("5")  # the events pane: the newest events received by AT
        await wait_for(pilot, lambda: app.snapshot.view.tab == "events" and
                       bool(app.snapshot.events))
        assert max(row.event["received"] for row in app.snapshot.events) <= AT
        assert app.snapshot.events[0].event["received"] == max(
            row.event["received"] for row in app.snapshot.events)


async def test_step_back_forward_and_live_keep_the_view(tmp_path):
    path = tmp_path / "farm.h5"
    total = write_two_days(path)
    app = make_app(str(path), poll=None, watch=False, now=NOW, at=AT)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, shows(app, AT))
        at_t = app.snapshot.counts["events"]
        table = app.query_one("#groups", LiveTable)
        table.focus()
        await pilot.press("down")  # the selection: the second group
        chosen = table.cursor_key
        assert chosen is not None and chosen != table._keys[0]
        app.set_view(window="24h", window_seconds=86400.0)

        await pilot.press("less_than_sign")
        await wait_for(pilot, shows(app, AT - HOUR))
        same_counts(app.snapshot, report_at(path, AT - HOUR, "--since", "24h")["all"],
                    whole=False)
        assert app.snapshot.counts["events"] < at_t
        assert moment(AT - HOUR) in status(app)
        assert (app.snapshot.view.tab, app.snapshot.view.window) == ("overview", "24h")
        assert table.cursor_key == chosen  # the row is still there: still selected

        await pilot.press("greater_than_sign")
        await wait_for(pilot, shows(app, AT))
        assert app.snapshot.counts["events"] == at_t
        same_counts(app.snapshot, report_at(path, AT, "--since", "24h")["all"],
                    whole=False)
        assert table.cursor_key == chosen

        await pilot.press("L")
        await wait_for(pilot, shows(app, None, total))
        assert app.snapshot.live and app.at is None
        assert status(app).startswith(" LIVE ") and "AT " not in status(app)
        assert table.cursor_key == chosen and app.snapshot.view.window == "24h"


async def test_a_step_forward_that_reaches_now_is_live(tmp_path):
    path = tmp_path / "farm.h5"
    total = write_two_days(path)
    # now half a minute past NOW: < from live goes to the whole minute an hour before
    app = make_app(str(path), poll=None, watch=False, now=NOW + 30.5, at=NOW - 0.5 * HOUR,
                   group="n900")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, shows(app, NOW - 0.5 * HOUR))
        await pilot.press("2")
        await wait_for(pilot, lambda: app.snapshot.view.tab == "testruns")
        await pilot.press("greater_than_sign")
        await wait_for(pilot, shows(app, None, total))
        assert (app.snapshot.view.tab, app.snapshot.view.group) == ("testruns", "n900")
        await pilot.press("greater_than_sign")  # live already: stays live
        await pilot.press("less_than_sign")
        await wait_for(pilot, shows(app, NOW - HOUR))
        assert (app.snapshot.view.tab, app.snapshot.view.group) == ("testruns", "n900")
        whole = report_at(path, NOW - HOUR)["all"]
        assert app.snapshot.counts["testruns"] == whole["testruns"]
        expected = report_at(path, NOW - HOUR, "--group", "n900")["all"]
        assert expected["ongoing"] + expected["queued"] > 0
        assert len(app.snapshot.ongoing) == expected["ongoing"]
        assert len(app.snapshot.queued) == expected["queued"]


def _report_section(path, period: str, at: float | None, group: str | None) -> list[str]:
    """The lines of report --compare's section for ``group`` (None: all groups), spaces
    squeezed."""
    args = ["--compare", period, *(["--at", repr(at)] if at else ["--now", repr(NOW)])]
    done = report(path, *args)
    assert done.returncode == 0, done.stderr
    title = f"== device group {group} " if group else "== all device groups "
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    section = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        section.append(" ".join(line.split()))
    return section


def _pane_lines(app) -> list[str]:
    """The comparison as the report prints it: figures (label previous current change), then
    the phases (part change previous -> current), spaces squeezed."""
    figures = app.query_one("#compare-figures", LiveTable)
    phases = app.query_one("#compare-phases", LiveTable)
    lines = [" ".join(" ".join(figures.row_text(i)).split()) for i in range(figures.row_count)]
    note = app.query_one("#compare-note", Static)
    if not note.has_class("-hidden"):
        return [*lines, str(note.render())]
    lines.append("change of the mean testrun time by phase (largest first):")
    for i in range(phases.row_count):
        part, before, now, change = phases.row_text(i)
        lines.append(f"{part} {change} {before} -> {now}")
    return lines


async def test_compare_view_is_report_compare(tmp_path):
    path = tmp_path / "farm.h5"
    write_two_days(path)
    at = NOW - HOUR
    app = make_app(str(path), poll=None, watch=False, now=NOW, at=at)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, shows(app, at))
        await pilot.press("7")
        await wait_for(pilot, lambda: app.snapshot.view.tab == "trends")
        for period in ("24h", "7d"):
            await pilot.press("c")
            await wait_for(pilot, lambda p=period: app.snapshot.view.compare == p and
                           app.snapshot.comparison is not None)
            await pilot.pause(0.1)
            assert not app.query_one("#compare-figures").has_class("-hidden")
            assert app.query_one("#trend-table").has_class("-hidden")
            assert _pane_lines(app) == _report_section(path, period, at, None)
        await pilot.press("c")  # back to the trend
        await wait_for(pilot, lambda: app.snapshot.view.compare is None and
                       app.snapshot.trend is not None)
        await pilot.pause(0.1)
        assert app.query_one("#compare-figures").has_class("-hidden")
        # The view's group, live: the periods end now.
        await pilot.press("L")
        await wait_for(pilot, shows(app, None))
        app.set_view(group="tablet")
        await pilot.press("c")
        await wait_for(pilot, lambda: app.snapshot.view.compare == "24h" and
                       app.snapshot.comparison is not None and app.snapshot.live)
        await pilot.pause(0.1)
        assert _pane_lines(app) == _report_section(path, "24h", None, "tablet")


def test_a_testruns_detail_at_t_has_the_events_received_by_then(tmp_path):
    """The detail screen's look-up (in the loop's thread, on its MultiTail) looking back."""
    path = tmp_path / "farm.h5"
    write_two_days(path)
    events = two_day_events()
    straddling = sorted({e["testrun_id"] for e in events if e["received"] > AT} &
                        {e["testrun_id"] for e in events if e["received"] <= AT})
    assert straddling
    tail = MultiTail([Source("farm", str(path))], at=AT)
    while tail.more:
        tail.poll_all()
    for testrun_id in straddling[:3]:
        loaded = load_testrun(tail, Catalog(), testrun_id, None)
        assert not loaded.error
        expected = [(e["event"], e["received"]) for e in events
                    if e["testrun_id"] == testrun_id and e["received"] <= AT]
        assert [(e["event"], e["received"]) for e in loaded.events] == expected


async def test_several_files_looking_back_are_read_not_live(tmp_path):
    """With several files the status bar names each file's state: READ (up to then), not LIVE;
    the files screen too; live again, LIVE."""
    from conftest import write_farm

    from store.sources import parse_sources
    from trmon_tui.screens import FilesScreen

    write_two_days(tmp_path / "a.h5")
    write_farm(tmp_path / "b.h5", n_runs=10)
    sources = parse_sources([f"a={tmp_path / 'a.h5'}", f"lab2={tmp_path / 'b.h5'}"])
    app = make_app(sources, poll=None, watch=False, now=NOW, at=AT)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, shows(app, AT))
        assert "a READ · lab2 READ" in status(app) and "LIVE" not in status(app)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, FilesScreen))
        table = app.screen.query_one(LiveTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert [table.row_text(i)[1] for i in range(2)] == ["READ", "READ"]
        await pilot.press("escape")
        await pilot.press("L")
        await wait_for(pilot, shows(app, None))
        assert "a LIVE · lab2 LIVE" in status(app)


def _failing_run(tid: str, t: float, host: str) -> list[dict]:
    """A testrun requested at ``t`` on ``host`` that fails while booting ~20 min later."""
    steps = [("request", 0), ("queue_start", 60), ("queue_end", 120), ("flash_start", 5),
             ("flash_end", 600), ("boot_start", 5), ("error", 400)]
    events = []
    for name, gap in steps:
        t += gap
        event = {"testrun_id": tid, "event": name, "emit": t, "received": t}
        if name == "request":
            event.update(device_group="rack", requestor="ops@lab.example", hosts=[[host, 1]])
        if name == "error":
            event["error"] = "BootError: no console"
        events.append(event)
    return events


async def test_no_alert_while_looking_back_nor_on_coming_back(tmp_path):
    """Host "flaky" is bad now (3 failures in a row: the state found, no alert).  Five hours
    back it was not; live again, it is bad as before: that is not news either."""
    path = tmp_path / "alerts.h5"
    events = [e for k in range(3) for e in _failing_run(f"f-{k}", NOW - (6 - k) * HOUR, "flaky")]
    with EventWriter(str(path)) as writer:
        for event in sorted(events, key=lambda e: e["received"]):
            writer.write(event)
    app = make_app(str(path), poll=None, watch=False, now=NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: shows(app, None)() and app.alerts is not None)
        assert app.alerts.bad_hosts == {"flaky"}
        for _ in range(5):
            await pilot.press("less_than_sign")
        await wait_for(pilot, shows(app, NOW - 5 * HOUR))
        assert "flaky" not in app.snapshot.alerts.bad_hosts  # one failure by then
        assert app.alerts is None  # nothing is news at a past moment
        await pilot.press("L")
        await wait_for(pilot, lambda: shows(app, None)() and app.alerts is not None)
        assert app.alerts.bad_hosts == {"flaky"}
        await pilot.pause(0.2)
        assert [n for n in app._notifications if n.title == "host bad"] == []
