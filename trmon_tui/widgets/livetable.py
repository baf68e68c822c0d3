"""LiveTable: a table for live data that repaints only the rows whose text changed.

Textual's DataTable re-renders every visible cell on any change: at 120x36 one changed cell costs
as much as refilling the table (~40 ms and ~17 KB to the terminal), which over SSH and for hours
is the monitor's whole cost.  LiveTable uses Textual's line API instead (a ScrollView that draws
line by line): each row is drawn once into a ``Strip`` kept in a cache keyed by what the row
shows, and a new set of rows repaints only what differs from the screen: the cells that
changed, or whole lines where most of a line did (rows moving down, in a newest-first table).

Using it (the panes are the examples)::

    table = LiveTable("group", Column("runs"), Column("requestor", max_width=40),
                      zebra=True, id="groups")
    table.set_rows([("g:aava", [fmt.text("aava"), fmt.number(12), fmt.text(who)]), ...])

    @on(LiveTable.RowSelected, "#groups")      # Enter or a click on a row
    def _chosen(self, event: LiveTable.RowSelected) -> None: ...event.key...

- A row is ``(key, cells)``: the key is a string naming the row across updates (the cursor stays
  on the row with the same key; with ``follow_top``, a cursor on the first row stays on the
  first row, so a newest-first table keeps showing the newest rows); cells are rich ``Text``
  (their style and justify are kept; build them with widgets/format.py so strings from the
  file stay literal) or plain ``str``.
- ``set_rows`` replaces every row and returns whether anything on screen changed.  Columns are
  as wide as their widest cell or label, at most ``Column.max_width`` (then cut with "…").
- Keys: up/down, PageUp/PageDown, Home/End move the cursor (posts ``RowHighlighted`` when the
  highlighted key changes, also on the first fill); Enter posts ``RowSelected``; a click on a
  row moves the cursor there and posts ``RowSelected``; a click on the header posts
  ``HeaderSelected``.
- ``lines_painted`` counts the lines Textual asked for (what goes to the terminal),
  ``rows_rendered`` the rows drawn anew (cache misses): tests assert on them.

Few styles per line: a row is one Text rendered at once and its segments merged, so a row of
plain cells is one styled segment (each segment costs an escape sequence over SSH).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

CellValue = Text | str
Row = tuple[str, Sequence[CellValue]]
PADDING = 1  # blank cells left and right of every column
CACHE_ROWS = 2048


@dataclass(frozen=True)
class Column:
    """A column: its header label and, optionally, the widest it may get."""

    label: str
    max_width: int | None = None


def follows_content(widget: Widget) -> bool:
    """Whether the widget's height is its content's (CSS height auto, or not set yet)."""
    height = widget.styles.height
    return height is None or height.is_auto


def _cell(value: CellValue) -> Text:
    return value if isinstance(value, Text) else Text(str(value))


def _print(cell: Text) -> tuple:
    """What decides how a cell looks (plain text, styles, alignment): the cache key."""
    return cell.plain, cell.style, cell.justify, tuple(cell.spans) if cell.spans else ()


class LiveTable(ScrollView, can_focus=True):
    """Rows with a fixed header line and a row cursor; see the module docstring."""

    DEFAULT_CSS = """
    LiveTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .livetable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .livetable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .livetable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        &:dark > .livetable--even-row {
            background: $surface-darken-1 40%;
        }
        & > .livetable--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .livetable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES = {"livetable--header", "livetable--cursor", "livetable--even-row"}
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    class _TableMessage(Message):
        def __init__(self, table: LiveTable, key: str | None, index: int) -> None:
            super().__init__()
            self.table = table
            self.key = key
            """Key of the row (None: the table has no rows)."""
            self.index = index

        @property
        def control(self) -> LiveTable:
            return self.table

    class RowHighlighted(_TableMessage):
        """The cursor is on another row (by key)."""

    class RowSelected(_TableMessage):
        """Enter, or a click, on a row."""

    class HeaderSelected(Message):
        """A click on a column's label."""

        def __init__(self, table: LiveTable, column: int, label: str) -> None:
            super().__init__()
            self.table = table
            self.column = column
            self.label = label

        @property
        def control(self) -> LiveTable:
            return self.table

    def __init__(self, *columns: str | Column, zebra: bool = False, follow_top: bool = False,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = tuple(c if isinstance(c, Column) else Column(c) for c in columns)
        self.zebra = zebra
        self.follow_top = follow_top
        self._keys: list[str] = []
        self._cells: list[tuple[Text, ...]] = []
        self._prints: list[tuple] = []
        self._widths = tuple(len(c.label) for c in self.columns)
        self._cursor = 0
        self._highlighted: str | None = None
        self._strips: LRUCache[tuple, Strip] = LRUCache(CACHE_ROWS)
        self.lines_painted = 0
        self.rows_rendered = 0
        self._update_virtual_size()

    # ---- data ------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def cursor_row(self) -> int:
        """Index of the row under the cursor (0 when empty)."""
        return self._cursor

    @property
    def cursor_key(self) -> str | None:
        """Key of the row under the cursor, None when the table is empty."""
        return self._keys[self._cursor] if self._keys else None

    def row_text(self, index: int) -> list[str]:
        """The plain text of a row's cells (for tests and look-ups)."""
        return [cell.plain for cell in self._cells[index]]

    def set_rows(self, rows: Sequence[Row]) -> bool:
        """Show ``rows`` instead of the current ones; False (nothing done) when unchanged.

        The cursor stays on the row with the same key (else at the same index); only the lines
        whose content, cursor or stripe changed are repainted."""
        keys, cells, prints, seen = [], [], [], set()
        for key, values in rows:
            if key in seen:  # a duplicate key would make the cursor ambiguous: keep the first
                continue
            seen.add(key)
            row = tuple(_cell(v) for v in values)
            keys.append(key)
            cells.append(row)
            prints.append(tuple(_print(c) for c in row))
        if keys == self._keys and prints == self._prints:
            return False
        before = self._screen_rows()
        cursor_key = self.cursor_key
        self._keys, self._cells, self._prints = keys, cells, prints
        if cursor_key in seen and not (self.follow_top and self._cursor == 0):
            self._cursor = keys.index(cursor_key)
        self._cursor = max(0, min(self._cursor, len(keys) - 1))
        widths = self._fit(cells)
        if widths != self._widths or len(before) != len(keys):
            self._widths = widths
            self._update_virtual_size()
            self.refresh()
        else:
            self._refresh_changed(before)
        self._scroll_to_cursor()
        self._note_highlight()
        return True

    def width_of(self, rows: Sequence[Row]) -> int:
        """The cells ``rows`` would take across (columns and their padding): a caller can
        choose a narrower form of its rows when that is more than its width."""
        widths = self._fit([tuple(_cell(v) for v in values) for _key, values in rows])
        return sum(widths) + 2 * PADDING * len(widths)

    def _fit(self, cells: list[tuple[Text, ...]]) -> tuple[int, ...]:
        widths = [len(c.label) for c in self.columns]
        for row in cells:
            for i, cell in enumerate(row[:len(widths)]):
                if cell.cell_len > widths[i]:
                    widths[i] = cell.cell_len
        return tuple(w if c.max_width is None else min(w, c.max_width)
                     for w, c in zip(widths, self.columns, strict=True))

    def _update_virtual_size(self) -> None:
        width = sum(self._widths) + 2 * PADDING * len(self._widths)
        size = Size(width, len(self._keys) + 1)
        if size == self.virtual_size:
            return
        # Setting virtual_size lays out the whole screen (~0.1 s here): needed only when this
        # table's own height follows its rows, or a scrollbar comes or goes.
        scrollbars = self.show_vertical_scrollbar, self.show_horizontal_scrollbar
        self.set_reactive(LiveTable.virtual_size, size)
        self._scroll_update(size)
        layout = follows_content(self) or \
            scrollbars != (self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        self.refresh(layout=layout)

    def _screen_rows(self) -> list[tuple]:
        """What each row shows on screen: its cells and whether the cursor is on it."""
        return [(p, i == self._cursor) for i, p in enumerate(self._prints)]

    def _refresh_changed(self, before: list[tuple]) -> None:
        """Refresh what looks different now on the visible lines: the cells that changed, or
        the whole line when most of it did (runs of whole lines as one region)."""
        after = self._screen_rows()
        top, width = int(self.scroll_y), self.size.width
        last = min(len(after), top + max(0, self.size.height - 1))
        regions, run_start = [], None
        for i in range(top, last + 1):
            whole = False
            if i < last and after[i] != before[i]:
                cells = self._changed_cells(before[i], after[i], i - top + 1)
                whole = cells is None
                regions += cells or []
            if whole and run_start is None:
                run_start = i
            elif not whole and run_start is not None:
                regions.append(Region(0, run_start - top + 1, width, i - run_start))
                run_start = None
        if regions:
            self.refresh(*regions)

    def _changed_cells(self, old: tuple, new: tuple, y: int) -> list[Region] | None:
        """Regions of the cells of line ``y`` that changed; None when most of the line did
        (a cell costs a cursor move to the terminal, a line is one)."""
        (old_cells, old_cursor), (new_cells, new_cursor) = old, new
        if old_cursor != new_cursor or len(old_cells) != len(new_cells):
            return None
        changed = [c for c, (a, b) in enumerate(zip(old_cells, new_cells, strict=True)) if a != b]
        if 2 * len(changed) > len(new_cells):
            return None
        x, out, scroll_x = 0, [], int(self.scroll_x)
        for column, width in enumerate(self._widths):
            cell_width = width + 2 * PADDING
            if column in changed:
                out.append(Region(x - scroll_x, y, cell_width, 1))
            x += cell_width
        return out

    # ---- cursor ----------------------------------------------------------------------------
    def move_cursor(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped), scrolling it into view."""
        if not self._keys:
            return
        index = max(0, min(index, len(self._keys) - 1))
        if index != self._cursor:
            before = self._screen_rows()
            self._cursor = index
            self._refresh_changed(before)
        self._scroll_to_cursor()
        self._note_highlight()

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + visible:
            self.scroll_to(y=self._cursor - visible + 1, animate=False, immediate=True)

    def _note_highlight(self) -> None:
        key = self.cursor_key
        if key is not None and key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, key, self._cursor))

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self._cursor + step)

    def action_page(self, step: int) -> None:
        self.move_cursor(self._cursor + step * max(1, self.size.height - 2))

    def action_cursor_to(self, index: int) -> None:
        self.move_cursor(index if index >= 0 else len(self._keys) - 1)

    def action_select(self) -> None:
        if self._keys:
            self.post_message(self.RowSelected(self, self.cursor_key, self._cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + int(self.scroll_x))
            if column is not None:
                self.post_message(self.HeaderSelected(self, column, self.columns[column].label))
            return
        index = int(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self._keys):
            self.move_cursor(index)
            self.action_select()

    def _column_at(self, x: int) -> int | None:
        for i, width in enumerate(self._widths):
            x -= width + 2 * PADDING
            if x < 0:
                return i
        return None

    # ---- drawing ---------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        self.lines_painted += 1
        if y == 0:
            cells = tuple(Text(c.label) for c in self.columns)
            strip = self._strip(("header", tuple(c.label for c in self.columns)), cells,
                                self.get_component_rich_style("livetable--header"), count=False)
        else:
            index = int(self.scroll_y) + y - 1
            if index >= len(self._keys):
                return Strip.blank(width, base)
            strip = self._strip(self._prints[index], self._cells[index], self._row_style(index))
        return strip.crop_extend(int(self.scroll_x), int(self.scroll_x) + width, base)

    def _row_style(self, index: int) -> Style:
        if index == self._cursor:
            return self.get_component_rich_style("livetable--cursor")
        if self.zebra and index % 2:
            return self.get_component_rich_style("livetable--even-row")
        return self.rich_style

    def _strip(self, look: tuple, cells: tuple[Text, ...], style: Style,
               count: bool = True) -> Strip:
        key = (look, self._widths, style)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._draw(cells, style)
            self._strips[key] = strip
            self.rows_rendered += count
        return strip

    def _draw(self, cells: tuple[Text, ...], style: Style) -> Strip:
        """One row as one Text (so equal styles merge into one segment), then a Strip."""
        line = Text(no_wrap=True, end="")
        pad = " " * PADDING
        for width, cell in zip(self._widths, cells, strict=False):
            fitted = cell.copy()
            if fitted.cell_len > width:
                fitted.truncate(width, overflow="ellipsis")
            gap = " " * (width - fitted.cell_len)
            line.append(pad + (gap if cell.justify == "right" else ""))
            line.append_text(fitted)
            line.append(("" if cell.justify == "right" else gap) + pad)
        segments = list(line.render(self.app.console))
        total = sum(self._widths) + 2 * PADDING * len(self._widths)
        return Strip(segments).simplify().apply_style(style).adjust_cell_length(total, style)
