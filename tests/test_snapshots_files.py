"""Snapshot tests of the monitor over several files: the status bar (each file's state at
120x36, a count by state at 80x24) and the files screen (f), over seeded files, one missing.

Update with `pytest tests/test_snapshots_files.py --snapshot-update`, then look at the SVGs in
tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest
from conftest import NOW, loaded, wait_for, write_farm
from textual.widgets import Static

from store.sources import parse_sources
from trmon_tui.app import make_app
from trmon_tui.screens import FilesScreen

SIZES = [(80, 24), (120, 36)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key", ["", "f"], ids=["overview", "files"])
def test_several_files(snap_compare, tmp_path, monkeypatch, size, key):
    monkeypatch.chdir(tmp_path)  # the paths shown are the ones given: no temporary directory
    n = write_farm("a.h5", n_runs=20) + write_farm("b.h5", n_runs=12, seed=8, end=NOW - 600)
    app = make_app(parse_sources(["a.h5", "lab2=b.h5", "c.h5"]), now=lambda: NOW, poll=None,
                   watch=False)

    async def before(pilot):
        await wait_for(pilot, loaded(app, n))
        await wait_for(pilot, lambda: "WAITING" in str(
            app.query_one("#status-text", Static).render()))
        app.clear_notifications()  # "c: file waiting" would leave on its own clock
        if key:
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, FilesScreen))
        await pilot.wait_for_scheduled_animations()  # the tab underline slides
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=before)
