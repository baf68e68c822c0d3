"""Worker host detail (Enter on the hosts pane): the host's figures and its latest testruns,
with their status, the phase each reached and the error they ended with.

The worker computes the host's testruns while this screen is open (ViewState.host), so it
follows the file live like the panes; the highlighted testrun's whole error message is shown
under the table, Enter opens that testrun.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer

from trmon_tui.messages import TestrunChosen
from trmon_tui.model import HOST_TESTRUNS, Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.hosts import ago, health_cell, running_text
from trmon_tui.widgets.livetable import Column, LiveTable
from trmon_tui.widgets.textline import TextLine

COLUMNS = ("testrun", "group", "status", "reached", "requested", "took",
           Column("error", max_width=60))
STATUS = {"error": ("✗ error", "bold red"), "finished": ("✓ finished", "green"),
          "ongoing": ("ongoing", "cyan"), "queued": ("queued", "yellow")}


def testrun_cells(row: dict, now: float) -> list[Text]:
    """The table row of one StatsEngine.host_testruns row."""
    label, style = STATUS.get(str(row.get("status")), (fmt.clean(row.get("status")), ""))
    request, end = row.get("request"), row.get("end")
    took = None if request is None or end is None else end - request
    return [fmt.text(row.get("testrun_id"), limit=28), fmt.text(row.get("device_group"), limit=16),
            Text(label, style=style, no_wrap=True), fmt.text(row.get("phase") or "–"),
            fmt.right(ago(request, now)), fmt.right(fmt.duration(took)),
            fmt.text(error_text(row), "red", limit=120)]


def error_text(row: dict) -> str:
    """The testrun's error message, said to be an infrastructure one (failed before its
    tests started: flashing or booting) when it is."""
    error = row.get("error")
    if not error and row.get("status") != "error":
        return ""
    return ("infra: " if row.get("infra") else "") + fmt.clean(error or "(no message)")


class HostScreen(Screen[None]):
    """Shows 'loading…' until a snapshot of this host arrives (see show)."""

    BINDINGS = [Binding("escape,q", "dismiss", "Back", id="close_host")]

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host
        self.filled = False
        self._rows: dict[str, dict] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="host-detail"):
            title = Text(f"worker host {fmt.clean(self.host)}", style="bold")
            title.append(f" · latest {HOST_TESTRUNS} testruns · Enter: a testrun · Esc: back",
                         style="dim")
            yield TextLine(title, id="host-title")
            yield TextLine(Text("loading…", style="dim"), id="host-figures")
            yield LiveTable(*COLUMNS, zebra=True, follow_top=True, id="host-testruns")
            yield TextLine(id="host-error")
        yield Footer()

    def show(self, snapshot: Snapshot) -> None:
        """Fill the screen from a snapshot computed for this host."""
        if snapshot.view.host != self.host or snapshot.host_testruns is None:
            return
        self.filled = True
        now = snapshot.taken_at
        row = next((h for h in snapshot.hosts or () if h.get("host") == self.host), None)
        self.query_one("#host-figures", TextLine).show(_figures(row, now))
        self._rows, rows = {}, []
        for tr in snapshot.host_testruns:
            key = f"r:{tr.get('run')}"
            self._rows[key] = tr
            rows.append((key, testrun_cells(tr, now)))
        table = self.query_one("#host-testruns", LiveTable)
        table.set_rows(rows)
        self._show_error(table.cursor_key)

    @on(LiveTable.RowHighlighted, "#host-testruns")
    def _highlighted(self, event: LiveTable.RowHighlighted) -> None:
        self._show_error(event.key)

    def _show_error(self, key: str | None) -> None:
        row = self._rows.get(key or "")
        message = error_text(row) if row else ""
        line = Text(no_wrap=False)
        if message:
            line.append(f"{fmt.clean(row.get('testrun_id'), 40)}: ", style="bold")
            line.append(message, style="red")
        self.query_one("#host-error", TextLine).show(line)

    @on(LiveTable.RowSelected, "#host-testruns")
    def _chosen(self, event: LiveTable.RowSelected) -> None:
        row = self._rows.get(event.key or "")
        if row is not None:
            self.post_message(TestrunChosen(str(row.get("testrun_id")), row.get("run")))


def _figures(row: dict | None, now: float) -> Text:
    """The host's line of figures (None: no testruns of it in this window)."""
    if row is None:
        return Text("no testruns of this host in this window", style="dim")
    pct = row.get("error_pct")
    line = Text()
    line.append_text(health_cell(row.get("health")))
    line.append(f" · streak {row.get('streak', 0):,} · {row.get('errors', 0):,} errors of "
                f"{row.get('testruns', 0):,} testruns ({'–' if pct is None else f'{pct:.1f} %'})"
                f" · {row.get('infra_errors', 0):,} infra · last ok {ago(row.get('last_ok'), now)}")
    running = running_text(row.get("running"))
    if running:
        line.append(f" · running {running}")
    return line
