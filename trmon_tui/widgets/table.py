"""DataTable refill that keeps the cursor on the same row and skips unchanged data."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

Row = tuple[str, Sequence[Text | str]]


class FittedTable(DataTable):
    """A DataTable that redraws every line once its columns are fitted to new rows.

    DataTable fits the columns when idle and caches drawn lines by data version only: a line
    drawn in between (a busy machine draws one) kept its narrow columns until the data changed
    again, e.g. a header shorter than the rows under it on a file that no longer changes.
    """

    def _update_dimensions(self, new_rows) -> None:  # Textual 8.2 (pinned): called when idle
        super()._update_dimensions(new_rows)
        self._update_count += 1  # part of every line cache's key: lines are drawn afresh


def refill(table: DataTable, rows: Sequence[Row]) -> bool:
    """Replace the table's rows; returns False (and does nothing) when they are unchanged.

    The cursor stays on the row with the same key when it is still there, so a live table does
    not yank the selection away from the operator."""
    fingerprint = [(key, tuple(str(c) for c in cells)) for key, cells in rows]
    if getattr(table, "_trmon_rows", None) == fingerprint:
        return False
    table._trmon_rows = fingerprint  # type: ignore[attr-defined]
    key = None
    if table.row_count and table.cursor_row >= 0:
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - cursor outside the old rows: start at the top
            key = None
    old_row = table.cursor_row
    table.clear()
    seen: set[str] = set()
    for row_key, cells in rows:
        if row_key in seen:  # a duplicate key would raise; keep the first
            continue
        seen.add(row_key)
        table.add_row(*cells, key=row_key)
    if key is not None and key in seen:
        table.move_cursor(row=table.get_row_index(key), animate=False)
    elif table.row_count:
        table.move_cursor(row=min(old_row, table.row_count - 1), animate=False)
    return True


def selected_key(table: DataTable) -> str | None:
    """Key of the row under the cursor, or None."""
    if not table.row_count:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # noqa: BLE001
        return None
