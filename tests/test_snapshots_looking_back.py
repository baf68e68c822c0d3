"""Snapshot tests of looking back at 80x24 and 120x36 (fixed clock): the overview at T with
`AT ... UTC` in the status bar, and the Trends pane's comparison (c) at T.

Update with `pytest tests/test_snapshots_looking_back.py --snapshot-update`, then look at the
SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest
from conftest import NOW, wait_for, write_farm
from test_app_insight import write_insight

from trmon_tui.app import make_app
from trmon_tui.widgets.livetable import LiveTable

SIZES = [(80, 24), (120, 36)]
AT = NOW - 2 * 3600.0


def _settled(app, tab: str, table: str):
    """Condition: the snapshot at AT of ``tab`` is read whole and its table filled."""
    def check() -> bool:
        snap = app.snapshot
        if snap is None or snap.at != AT or snap.file.loading or snap.view.tab != tab:
            return False
        found = app.query(table)
        return bool(found) and found.first(LiveTable).row_count > 0
    return check


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_overview_at_T(snap_compare, tmp_path, size):
    path = tmp_path / "farm.h5"
    write_farm(path)
    app = make_app(str(path), now=NOW, poll=None, watch=False, at=AT)

    async def before(pilot):
        await wait_for(pilot, _settled(app, "overview", "#groups"))
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_at_T(snap_compare, tmp_path, size):
    path = tmp_path / "farm.h5"
    write_insight(path)
    app = make_app(str(path), now=NOW, poll=None, watch=False, at=AT)

    async def before(pilot):
        await wait_for(pilot, _settled(app, "overview", "#groups"))
        await pilot.press("7", "c")
        await wait_for(pilot, lambda: _settled(app, "trends", "#compare-table")()
                       and app.snapshot.comparison is not None)
        await pilot.wait_for_scheduled_animations()  # the tab underline slides
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=before)
