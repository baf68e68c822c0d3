"""Failures pane (8): why testruns fail (DESIGN "Why it waits, and why it fails").

A line of failure categories with counts and % of the error testruns; the error types (the text
before the first ":"), most testruns first; the configurations (what is in the image) by error %,
each with the hosts suspect for it (their errors on it are too many to be chance: a one-sided
Fisher exact test, p < 0.01, at least 3 errors).  Enter on a type lists its latest testruns,
on a configuration its hosts (screens/failure.py).

The rows are the SUMMARY's "failures" of the view (window and group), as `report` prints them.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult

from trmon_tui.messages import ConfigurationChosen, ErrorTypeChosen
from trmon_tui.model import Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.hosts import ago
from trmon_tui.widgets.livetable import Column, LiveTable
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.textline import TextLine

# Fit 80 columns with the first column cut: "runs" = error testruns of the type, "hosts" = the
# distinct hosts they ran on; "ended" = finished + errors; "suspect hosts" = host (its errors).
TYPE_COLUMNS = (Column("error type", max_width=40), "runs", "hosts", "last seen")
CONFIG_COLUMNS = (Column("configuration", max_width=28), "ended", "errors", "err %",
                  Column("suspect hosts", max_width=80))
SUSPECT = "!"  # marks a configuration with a suspect host (survives NO_COLOR)


def category_line(categories: dict[str, int]) -> Text:
    """'failures 30: infra 12 (40.0 %) · test 8 (26.7 %) · image 10 (33.3 %)'."""
    total = sum(int(n) for n in categories.values())
    line = Text(f"failures {total:,}", style="bold")
    line.append(":" if categories else ": none")
    for i, (name, n) in enumerate(categories.items()):
        share = f" ({100 * n / total:.1f} %)" if total else ""
        line.append(" ·" if i else "")
        line.append(f" {fmt.clean(name, 32)} {n:,}{share}", style="" if n else "dim")
    return line


def type_cells(row: dict, now: float) -> list[Text]:
    """The table row of one "types" entry."""
    return [fmt.text(row.get("type"), "red", limit=80), fmt.number(row.get("testruns")),
            fmt.number(row.get("hosts")), fmt.right(ago(row.get("last"), now))]


def suspects_text(suspects: list[dict]) -> Text:
    """'! host-3 (5/6) host-7 (3/3)': each suspect host with its errors / ended on it."""
    if not suspects:
        return Text("")
    text = Text(f"{SUSPECT} ", style="bold yellow")
    text.append(" ".join(f"{fmt.clean(s.get('host'), 24)} ({s.get('errors', 0):,}/"
                         f"{s.get('ended', 0):,})" for s in suspects), style="yellow")
    return text


def configuration_cells(row: dict) -> list[Text]:
    """The table row of one "configurations" entry."""
    return [fmt.text(row.get("configuration"), limit=80), fmt.number(row.get("ended")),
            fmt.number(row.get("errors")), fmt.percent(row.get("error_pct")),
            suspects_text(row.get("suspect_hosts") or [])]


class FailuresPane(Pane):
    """Categories, error types and configurations; Enter opens a type or a configuration
    (posts ErrorTypeChosen / ConfigurationChosen)."""

    tab = "failures"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._types: dict[str, str] = {}
        self._configurations: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield TextLine(id="failure-categories", classes="info")
        yield LiveTable(*TYPE_COLUMNS, zebra=True, id="failure-types")
        yield LiveTable(*CONFIG_COLUMNS, zebra=True, id="failure-configurations")
        yield TextLine(id="failures-hint", classes="info")

    def render_snapshot(self, snapshot: Snapshot) -> None:
        failures = snapshot.failures
        if failures is None:
            return
        now = snapshot.taken_at
        type_rows = failures.get("types") or []
        self._types = {f"t:{row.get('type')}": str(row.get("type")) for row in type_rows}
        types = [(f"t:{row.get('type')}", type_cells(row, now)) for row in type_rows]
        configurations = failures.get("configurations") or []
        self._configurations = {f"c:{row.get('configuration')}": str(row.get("configuration"))
                                for row in configurations}
        self.query_one("#failure-categories", TextLine).show(
            category_line(failures.get("categories") or {}))
        self.query_one("#failure-types", LiveTable).set_rows(types)
        self.query_one("#failure-configurations", LiveTable).set_rows(
            [(f"c:{row.get('configuration')}", configuration_cells(row))
             for row in configurations])
        self.query_one("#failures-hint", TextLine).show(_hint(types, configurations))

    @on(LiveTable.RowSelected, "#failure-types")
    def _type_chosen(self, event: LiveTable.RowSelected) -> None:
        chosen = self._types.get(event.key or "")
        if chosen is not None:
            self.post_message(ErrorTypeChosen(chosen))

    @on(LiveTable.RowSelected, "#failure-configurations")
    def _configuration_chosen(self, event: LiveTable.RowSelected) -> None:
        chosen = self._configurations.get(event.key or "")
        if chosen is not None:
            self.post_message(ConfigurationChosen(chosen))


def _hint(types: list, configurations: list) -> Text:
    if not types and not configurations:
        return Text("no testrun has ended in this window yet", style="dim")
    if not types:
        return Text("no errors in this window · Enter: a configuration's hosts", style="dim")
    return Text(f"{SUSPECT} suspect host (errors/ended on it, p < 0.01) · Enter: its testruns"
                " / hosts", style="dim")
