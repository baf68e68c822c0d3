"""Pilot tests of LiveTable, the line-API table every live pane is built on."""

from __future__ import annotations

from conftest import wait_for
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult

from trmon_tui.widgets.livetable import Column, LiveTable


def rows(n: int, changed: dict[int, str] | None = None) -> list[tuple[str, list]]:
    changed = changed or {}
    return [(f"k{i}", [Text(f"run-{i}"), Text(changed.get(i, str(i * 10)), justify="right")])
            for i in range(n)]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str | None] = []
        self.highlighted: list[str | None] = []
        self.headers: list[str] = []

    def compose(self) -> ComposeResult:
        yield LiveTable("name", Column("value", max_width=6), zebra=True, id="t")

    @on(LiveTable.RowSelected, "#t")
    def _selected(self, event: LiveTable.RowSelected) -> None:
        self.selected.append(event.key)

    @on(LiveTable.RowHighlighted, "#t")
    def _highlighted(self, event: LiveTable.RowHighlighted) -> None:
        self.highlighted.append(event.key)

    @on(LiveTable.HeaderSelected, "#t")
    def _header(self, event: LiveTable.HeaderSelected) -> None:
        self.headers.append(event.label)


def lines(table: LiveTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_cursor_keeps_its_row_across_refreshes_and_enter_selects():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(LiveTable)
        table.set_rows(rows(5))
        table.focus()
        await pilot.press("down", "down")
        assert table.cursor_key == "k2"
        table.set_rows([("new", ["new", "1"])] + rows(5))  # a row arrives on top
        assert (table.cursor_row, table.cursor_key) == (3, "k2")
        table.set_rows(rows(2))  # its row is gone: the cursor stays at the same place, clamped
        assert table.cursor_key == "k1"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.selected == ["k1"])
        await pilot.press("home")
        await wait_for(pilot, lambda: app.highlighted[-1] == "k0")
        assert app.highlighted == ["k0", "k1", "k2", "k1", "k0"]


async def test_follow_top_keeps_a_cursor_on_the_first_row_there():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(LiveTable)
        table.follow_top = True
        table.set_rows(rows(5))
        table.set_rows([("new", ["new", "1"])] + rows(5))  # newest first: a row arrives on top
        assert (table.cursor_row, table.cursor_key) == (0, "new")
        table.move_cursor(2)
        table.set_rows([("newer", ["newer", "2"]), ("new", ["new", "1"])] + rows(5))
        assert table.cursor_key == "k1"  # moved by the operator: it stays on its row
        await pilot.pause()


async def test_only_changed_rows_are_drawn_again():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(LiveTable)
        assert table.set_rows(rows(30))
        await pilot.pause()
        drawn, painted = table.rows_rendered, table.lines_painted
        assert drawn == 11  # the visible rows under the header, each once
        assert not table.set_rows(rows(30))  # nothing changed: nothing to do
        assert table.set_rows(rows(30, {3: "33", 25: "77"}))  # row 25 is below the fold
        await pilot.pause()
        assert table.rows_rendered == drawn + 1
        assert table.lines_painted == painted + 1  # only that line went to the terminal
        assert "33" in lines(table)[4]


async def test_columns_fit_their_cells_and_long_cells_are_cut():
    app = TableApp()
    async with app.run_test(size=(40, 6)) as pilot:
        table = app.query_one(LiveTable)
        table.set_rows([("a", ["a-rather-long-name", "12345678"]), ("b", ["b", "7"])])
        await pilot.pause()
        header, first, second = lines(table)[:3]
        assert header.startswith(" name                value  ")
        assert first.startswith(" a-rather-long-name  12345… ")
        assert second.startswith(" b                   7      ")


async def test_click_on_header_and_on_row():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(LiveTable)
        table.set_rows(rows(5))
        await pilot.pause()
        await pilot.click(LiveTable, offset=(12, 0))  # " name " is 6 wide, then " value "
        await wait_for(pilot, lambda: app.headers == ["value"])
        await pilot.click(LiveTable, offset=(2, 3))
        await wait_for(pilot, lambda: app.selected == ["k2"])
        assert table.cursor_key == "k2"
