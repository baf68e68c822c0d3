"""The trends pane's comparison (the key c; DESIGN "Looking back", as `report --compare`): the
testruns requested in the last 24h or 7d before now (T while looking back) against the period
before, for the view's device group: the figures of both periods and their change, then the
change of the mean testrun time split by phase, the phase that moved most first (the parts add
up to the change of the mean).  The figures and their text are report --compare's
(commands/compare_table), so the pane and the table say the same."""

from __future__ import annotations

from rich.text import Text

from trmon_tui.commands.compare_table import FIGURES, cell, change, figure, moved_first
from trmon_tui.plain import utc_minute
from trmon_tui.widgets import format as fmt

COLUMNS = ("", "previous", "current", "change")
WORSE_WHEN_UP = frozenset({"errors", "error %", "testrun p50", "testrun p95", "testrun mean",
                           "queue p50", "queue p95"})
"""Figures whose rise is bad news (shown yellow; a fall green)."""


def compare_rows(one: dict) -> list[tuple[str, list[Text]]]:
    """The table rows of one comparison (``{"previous", "current"}``): the figures, then the
    phases, the one that moved most first."""
    before, now = one["previous"], one["current"]
    rows = []
    for label, path, kind in FIGURES:
        a, b = figure(before, path), figure(now, path)
        style = _style(a, b) if label in WORSE_WHEN_UP else ""
        rows.append((f"f:{label}", [fmt.text(label), fmt.right(cell(a, kind)),
                                    fmt.right(cell(b, kind)),
                                    fmt.right(change(a, b, kind), style)]))
    was, is_ = before["phase_means"], now["phase_means"]
    parts = list(is_) if was["init"] is None or is_["init"] is None else moved_first(was, is_)
    for rank, part in enumerate(parts):
        a, b = was[part], is_[part]
        style = _style(a, b) + (" bold" if rank == 0 and a is not None and b is not None else "")
        rows.append((f"p:{part}", [fmt.text(f"mean {part}"), fmt.right(cell(a, "time")),
                                   fmt.right(cell(b, "time")),
                                   fmt.right(change(a, b, "time"), style.strip())]))
    return rows


def headline(one: dict, period: str, group: str | None) -> Text:
    """Two lines above the table: the periods compared, then the change of the mean testrun
    time and the phase that moved most."""
    before, now = one["previous"], one["current"]
    line = Text(f"{period} to {utc_minute(now['end'])} against the {period} before · "
                f"{fmt.clean(group or 'all groups', 20)} · c: "
                f"{'7d' if period == '24h' else 'trend rows'}\n", no_wrap=False)
    was, is_ = before["phase_means"], now["phase_means"]
    if was["init"] is None or is_["init"] is None:
        gone = "either period" if was["init"] is None and is_["init"] is None else \
            "the previous period" if was["init"] is None else "the current period"
        line.append(f"no finished testrun in {gone}: no split by phase", style="yellow")
        return line
    top = moved_first(was, is_)[0]
    mean = change(before["testrun"]["mean"], now["testrun"]["mean"], "time")
    line.append(f"mean testrun {mean}; moved most: {top} {change(was[top], is_[top], 'time')}",
                style="bold")
    return line


def _style(a, b) -> str:
    if a is None or b is None or a == b:
        return ""
    return "yellow" if b > a else "green"
