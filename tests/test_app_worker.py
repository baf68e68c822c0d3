"""Pilot tests of the tail loop's economy: catching up with a history, snapshots only when
something shown changed, and a restart after the loop itself failed."""

from __future__ import annotations

from conftest import NOW, loaded, wait_for, write_farm
from textual.widgets import Static

from store import catchup
from store.follow import FollowLoop
from trmon_tui import feed
from trmon_tui.app import make_app
from trmon_tui.messages import ReadProgress
from trmon_tui.widgets.livetable import LiveTable


def status(app) -> str:
    return str(app.query_one("#status-text", Static).render())


def table(app, selector: str) -> list[list[str]]:
    found = app.query_one(selector, LiveTable)
    return [found.row_text(i) for i in range(found.row_count)]


async def test_history_read_in_many_batches_shows_as_read_at_once(tmp_path, monkeypatch):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    at_once = make_app(str(path), now=lambda: NOW, poll=None, watch=False)
    async with at_once.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(at_once, n))
        groups, requestors = table(at_once, "#groups"), table(at_once, "#requestors")
        await pilot.press("5")
        await wait_for(pilot, lambda: at_once.snapshot.view.tab == "events")
        events = table(at_once, "#events-table")
    monkeypatch.setattr(catchup, "FIRST_ROWS", 7)
    monkeypatch.setattr(catchup, "READ_ROWS", 11)
    monkeypatch.setattr(feed, "EVENT_BUFFER", 40)  # only the last batches' events are kept
    monkeypatch.setattr(feed, "PROGRESS_INTERVAL", 0.0)
    progress: list[ReadProgress] = []

    class Recorded(ReadProgress):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            progress.append(self)

    monkeypatch.setattr(feed, "ReadProgress", Recorded)
    app = make_app(str(path), now=lambda: NOW, poll=None, watch=False, max_rows=5)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        assert app.snapshot.seq == 1  # one snapshot, once everything was read
        assert len(progress) > n // 11 and progress[0].file.rows_read < n
        assert table(app, "#groups") == groups and table(app, "#requestors") == requestors
        assert "LIVE" in status(app) and "40 runs" in status(app)
        await pilot.press("5")
        await wait_for(pilot, lambda: app.snapshot.view.tab == "events")
        assert table(app, "#events-table")[:40] == events[:40]


async def test_snapshots_only_when_something_shown_changed(tmp_path):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    clock = [NOW]
    app = make_app(str(path), now=lambda: clock[0], poll=0.05)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        seq = app.snapshot.seq
        await pilot.pause(0.6)  # a dozen timer polls of a file nobody writes
        assert app.snapshot.seq == seq
        clock[0] += 60  # the minute hand of the ages moves: oldest wait and the like
        await wait_for(pilot, lambda: app.snapshot.seq == seq + 1)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.snapshot.view.tab == "testruns")


async def test_the_loop_restarts_after_failing(tmp_path, monkeypatch):
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    failures = []
    catch_up = FollowLoop.catch_up

    def fail_once(self):
        if not failures:
            failures.append(1)
            raise RuntimeError("a bug")
        catch_up(self)

    monkeypatch.setattr(FollowLoop, "catch_up", fail_once)
    app = make_app(str(path), now=lambda: NOW, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: "reader stopped (RuntimeError: a bug)" in app.problem)
        await wait_for(pilot, loaded(app, n), timeout=20)
