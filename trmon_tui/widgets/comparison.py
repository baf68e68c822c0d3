"""The trends pane's comparison (c): the last 24h or 7d before now against the period before
(DESIGN "Looking back", `report --compare`), for the view's device group or all of them.

The same cells as the report's table (commands/compare_table.py: FIGURES, cell, change,
by_move): each figure for the previous and the current period and its change, then the change
of the mean testrun time split by phase, the phase that moved most first (the parts add up to
the change of the mean).
"""

from __future__ import annotations

from rich.text import Text

from trmon_tui.commands.compare_table import FIGURES, by_move, cell, change, get
from trmon_tui.plain import clean, moment

COLUMNS = ("figure", "previous", "current", "change")
PHASE_COLUMNS = ("mean by phase", "previous", "current", "change")


def figure_rows(one: dict) -> list[tuple[str, list[Text]]]:
    """(key, cells) of each figure of ``one`` ({"previous", "current"})."""
    prev, cur = one["previous"], one["current"]
    rows = []
    for label, path, kind in FIGURES:
        a, b = get(prev, path), get(cur, path)
        worse = label != "testruns"  # more testruns is not worse
        rows.append((f"f:{label}", [Text(label), *_cells(cell(a, kind), cell(b, kind),
                                                         change(a, b, kind), a, b, worse)]))
    return rows


def phase_rows(one: dict) -> tuple[list[tuple[str, list[Text]]], str]:
    """(key, cells) of each phase, the one that moved most first, and the sentence to show
    instead when a period has no finished testrun ("" when both have)."""
    before, now = one["previous"]["phase_means"], one["current"]["phase_means"]
    if before["init"] is None or now["init"] is None:
        which = ("either period" if before["init"] is None and now["init"] is None else
                 "the previous period" if before["init"] is None else "the current period")
        return [], f"mean testrun time by phase: no finished testrun in {which}"
    rows = [(f"p:{part}", [Text(part), *_cells(cell(before[part], "time"),
                                              cell(now[part], "time"),
                                              change(before[part], now[part], "time"),
                                              before[part], now[part])])
            for part in by_move(before, now)]
    return rows, ""


def title(one: dict, period: str, group: str | None) -> str:
    """What is compared with what, in one line."""
    cur = one["current"]
    return (f"{clean(group or 'all groups', 20)}: requested in the last {period} (to "
            f"{moment(cur['end'])}) vs the {period} before · status as of then")


def _cells(a: str, b: str, d: str, before, now, worse: bool = True) -> list[Text]:
    """The previous, current and change cells, right-aligned; with ``worse`` (growing is
    worse) a change is red when the figure grew (more errors, longer times), green when it
    fell."""
    style = ""
    if worse and before is not None and now is not None and now != before:
        style = "red" if now > before else "green"
    return [Text(a, justify="right"), Text(b, justify="right"),
            Text(d, justify="right", style=style)]
