"""Pilot tests of live behaviour: a writer process, file trouble, NO_COLOR."""

from __future__ import annotations

import subprocess
import sys

from conftest import NOW, WRITER, loaded, wait_for, write_farm
from textual.widgets import Static

from trmon_tui.app import make_app
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.plotview import PlotView


def status(app) -> str:
    return str(app.query_one("#status-text", Static).render())


async def test_live_writer_process_shows_up(tmp_path):
    path = tmp_path / "live.h5"
    write_farm(path)
    app = make_app(str(path), poll=0.5)  # real clock, watchfiles and timer
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None
                       and app.snapshot.counts.get("testruns") == 40)
        await pilot.press("5")
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "60"])
        try:
            await wait_for(pilot, lambda: app.snapshot.counts.get("testruns") == 100, 30)
            await wait_for(pilot, lambda: app.query_one("#events-table", LiveTable).row_count
                           and app.query_one("#events-table", LiveTable).row_text(0)[1]
                           == "live-59")
            assert "LIVE" in status(app)
        finally:
            proc.wait(timeout=30)
        await pilot.press("1")
        await wait_for(pilot, lambda: "livegroup" in [
            app.query_one("#groups", LiveTable).row_text(i)[0]
            for i in range(app.query_one("#groups", LiveTable).row_count)])


async def test_paused_display_freezes_then_catches_up(tmp_path):
    path = tmp_path / "live.h5"
    n = write_farm(path, n_runs=10)
    app = make_app(str(path), poll=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        await pilot.press("5")
        await wait_for(pilot, lambda: app.query_one("#events-table", LiveTable).row_count == n)
        await pilot.press("p")
        subprocess.run([sys.executable, "-c", WRITER, str(path), "5"], check=True)
        await wait_for(pilot, loaded(app, n + 5))  # the worker keeps reading...
        assert app.query_one("#events-table", LiveTable).row_count == n  # ...the pane is frozen
        assert "PAUSED" in status(app)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.query_one("#events-table", LiveTable).row_count
                       == n + 5)


async def test_missing_file_waits_then_loads(tmp_path):
    path = tmp_path / "later.h5"
    app = make_app(str(path), poll=0.2, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "WAITING" in status(app))
        n = write_farm(path, n_runs=5)
        await wait_for(pilot, loaded(app, n))
        await wait_for(pilot, lambda: "LIVE" in status(app))


async def test_garbage_file_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "garbage.h5"
    path.write_bytes(b"this is not hdf5\n" * 100)
    app = make_app(str(path), poll=0.2, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "ERROR" in status(app))
        assert app.is_running
        for key in "12345":
            await pilot.press(key)
        path.unlink()
        n = write_farm(path, n_runs=5)  # replaced by a good file: recovers by itself
        await wait_for(pilot, loaded(app, n))


async def test_no_color_chart_uses_fill_characters(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    path = tmp_path / "farm.h5"
    n = write_farm(path)
    app = make_app(str(path), now=lambda: NOW, poll=None, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color
        await wait_for(pilot, loaded(app, n))
        await pilot.press("3")
        await wait_for(pilot, lambda: app.query("#chart-plot") and "░" in
                       app.query_one("#chart-plot", PlotView).text.plain)
        legend = str(app.query_one("#legend", Static).render())
        assert "░░ queue" in legend and "▓▓ boot" in legend


async def test_toasts_show_a_path_literally(tmp_path):
    """A file's path and label reach the toasts (file waiting, ...) as text: an escape
    sequence in them is shown escaped, never sent to the terminal, and markup stays text."""
    from store.sources import Source

    path = tmp_path / "esc\x1b[2Jape [red]x[/].h5"
    app = make_app([Source("lab\x1b[31m1", str(path)), Source("b", str(tmp_path / "b.h5"))],
                   poll=0.2, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: any("esc" in n.message for n in app._notifications))
        shown = [(n.title, n.message) for n in app._notifications]
        assert all("\x1b" not in title + message for title, message in shown)
        assert any("esc\\x1b[2Jape [red]x[/].h5" in message for _, message in shown)
        assert any(title.startswith("lab\\x1b[31m1: ") for title, _ in shown)
