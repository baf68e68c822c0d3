"""Pilot tests of the monitor over several real files (`trmon-tui [LABEL=]FILE ...`): device
groups named LABEL/GROUP, each file's own state, bad files beside good ones, a live writer on
one file, and a testrun id present in two files."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import NOW, WRITER, loaded, wait_for, write_farm
from textual.widgets import Static

from store import catchup
from store.sources import parse_sources
from trmon_tui.app import make_app
from trmon_tui.screens import FilesScreen, GroupScreen, TestrunScreen
from trmon_tui.widgets.livetable import LiveTable

GROUPS = ["aava", "n900", "tablet"]


def rows(app, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, LiveTable)
    return [table.row_text(i) for i in range(table.row_count)]


def status(app) -> str:
    return str(app.query_one("#status-text", Static).render())


def monitor(*args: str, **kwargs):
    """The app as `trmon-tui ARGS...` makes it."""
    return make_app(parse_sources(list(args)), **kwargs)


async def open_testrun(pilot, app, selector: str, index: int) -> str:
    """Enter on row ``index``; the detail screen's attributes once loaded."""
    table = app.query_one(selector, LiveTable)
    table.focus()
    table.move_cursor(index)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, TestrunScreen) and "loading" not in
                   str(app.screen.query_one("#detail-attrs", Static).render()))
    attributes = str(app.screen.query_one("#detail-attrs", Static).render())
    first = app.screen.query_one("#timeline", LiveTable).row_text(0)[0]
    await pilot.press("escape")
    return attributes + "\n" + first


async def test_groups_are_label_slash_group_and_an_id_opens_in_its_own_file(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    # The same testrun ids in both files, ten minutes apart.
    n = write_farm(a) + write_farm(b, seed=8, end=NOW - 600)
    app = monitor(str(a), f"lab2={b}", now=lambda: NOW, poll=None, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        named = [f"{label}/{g}" for label in ("a", "lab2") for g in GROUPS]
        await wait_for(pilot, lambda: [r[0] for r in rows(app, "#groups")] ==
                       [*named, "all groups"])
        # queued + ongoing + done + errors: 40 testruns of each file
        assert sum(int(cell) for cell in rows(app, "#groups")[-1][1:5]) == 80
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen))
        assert app.screen.groups == named
        await pilot.press("escape")
        await pilot.press("2")
        await wait_for(pilot, lambda: app.query("#testruns-table") and
                       [r[1] for r in rows(app, "#testruns-table")].count("tr-0039") == 2)
        listed = rows(app, "#testruns-table")
        twice = [i for i, r in enumerate(listed) if r[1] == "tr-0039"]
        assert sorted(listed[i][2] for i in twice) == ["a/aava", "lab2/aava"]
        details = {}
        for i in twice:
            details[listed[i][2]] = await open_testrun(pilot, app, "#testruns-table", i)
            assert f"device_group: {listed[i][2]}" in details[listed[i][2]]
        assert details["a/aava"].split("\n")[-1] != details["lab2/aava"].split("\n")[-1]
        await pilot.press("5")
        await wait_for(pilot, lambda: app.query("#events-table") and
                       app.query_one("#events-table", LiveTable).row_count > 0)
        events = rows(app, "#events-table")
        index = next(i for i, r in enumerate(events) if r[2].startswith("lab2/"))
        detail = await open_testrun(pilot, app, "#events-table", index)
        assert f"device_group: {events[index][2]}" in detail


async def test_bad_files_never_stop_the_good_ones(tmp_path):
    good, later, junk, live = (tmp_path / f"{name}.h5" for name in
                               ("good", "later", "junk", "live"))
    n = write_farm(good) + write_farm(live, n_runs=10, seed=3)
    junk.write_bytes(b"not an event file\n" * 100)
    app = monitor(*(str(p) for p in (good, later, junk, live)), poll=0.3)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n), timeout=30)
        await wait_for(pilot, lambda: "good LIVE · later WAITING · junk ERROR · live LIVE (f)"
                       in status(app))
        assert status(app).startswith(" ERROR ")  # the worst file's state
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(live), "30"])
        try:  # one file written live while the others stay as they are
            await wait_for(pilot, lambda: app.snapshot.counts.get("testruns") == 80, 30)
            await wait_for(pilot, lambda: "live/livegroup" in [r[0] for r in
                                                              rows(app, "#groups")])
        finally:
            writer.wait(timeout=30)
        assert "junk ERROR" in status(app) and "later WAITING" in status(app)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "4 files: 2 LIVE, 1 WAITING, 1 ERROR (f)" in status(app))
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, FilesScreen))
        files = rows(app, "#files-table")
        assert [(f[0], f[1]) for f in files] == [
            ("good", "LIVE"), ("later", "WAITING"), ("junk", "ERROR"), ("live", "LIVE")]
        assert all(f[-1].endswith(f"{os.sep}{f[0]}.h5") for f in files)  # the path's end
        assert [f[5] for f in files] == ["yes", "–", "–", "yes"]  # checksums (unread: unknown)
        assert files[0][3] == "40" and files[3][3] == "40"  # testruns: 10 + 30 live
        messages = str(app.screen.query_one("#files-messages", Static).render())
        assert f"later: {later} does not exist yet" in messages
        assert f"junk: {junk} is not an HDF5 file" in messages
        # The bad files become good ones: each is picked up on its own.
        m = write_farm(later, n_runs=5, seed=4)
        replacement = tmp_path / "replacement.h5"
        m += write_farm(replacement, n_runs=6, seed=5)
        os.replace(replacement, junk)
        await wait_for(pilot, lambda: app.snapshot.counts.get("testruns") == 91, 30)
        await wait_for(pilot, lambda: [r[1] for r in rows(app, "#files-table")] ==
                       ["LIVE"] * 4)
        assert "junk/aava" in app.snapshot.groups and "later/n900" in app.snapshot.groups
        await pilot.press("escape")
        await wait_for(pilot, lambda: "4 files: 4 LIVE (f)" in status(app)
                       and status(app).startswith(" LIVE "))


async def test_history_of_several_files_read_in_many_batches_shows_as_at_once(tmp_path,
                                                                             monkeypatch):
    paths = [tmp_path / f"lab{k}.h5" for k in range(3)]
    n = sum(write_farm(p, n_runs=12 + k, seed=k) for k, p in enumerate(paths))
    at_once = monitor(*map(str, paths), now=lambda: NOW, poll=None, watch=False)
    async with at_once.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(at_once, n))
        groups = rows(at_once, "#groups")
    monkeypatch.setattr(catchup, "FIRST_ROWS", 7)
    monkeypatch.setattr(catchup, "READ_ROWS", 11)
    app = monitor(*map(str, paths), now=lambda: NOW, poll=None, watch=False, max_rows=5)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, loaded(app, n))
        assert app.snapshot.seq == 1  # one snapshot, once every file was read
        assert rows(app, "#groups") == groups and len(groups) == 10


def test_two_files_with_one_default_label_is_a_one_line_error(tmp_path):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        write_farm(tmp_path / sub / "farm.h5", n_runs=2)
    for args, says in (([f"{tmp_path}/x/farm.h5", f"{tmp_path}/y/farm.h5"],
                        "two files have the label 'farm'"),
                       (["--demo", f"{tmp_path}/x/farm.h5"], "--demo")):
        done = subprocess.run([sys.executable, "-m", "trmon_tui", *args], capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
