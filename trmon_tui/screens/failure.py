"""The failures pane's detail screens: Enter on an error type lists its latest testruns (host,
configuration, when, category), Enter on a configuration lists its hosts (ended, errors, p).

The tail loop computes the rows while a screen is open (ViewState.error_type /
.configuration), so they follow the file live like the panes; store/stats/failure_listing.py
has the definitions.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer

from trmon_tui.messages import HostChosen, TestrunChosen
from trmon_tui.model import TYPE_TESTRUNS, Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.failures import SUSPECT
from trmon_tui.widgets.hosts import ago
from trmon_tui.widgets.livetable import Column, LiveTable
from trmon_tui.widgets.textline import TextLine

TYPE_COLUMNS = (Column("testrun", max_width=24), Column("host", max_width=24),
                Column("configuration", max_width=28), "failed", "category",
                Column("group", max_width=16))
HOST_COLUMNS = ("", Column("host", max_width=32), "ended", "errors", "err %", "p")


def type_testrun_cells(row: dict, now: float) -> list[Text]:
    """The table row of one failure_listing.type_testruns row."""
    hosts = " ".join(row.get("hosts") or ()) or "–"
    return [fmt.text(row.get("testrun_id"), limit=40), fmt.text(hosts, limit=60),
            fmt.text(row.get("configuration"), limit=60), fmt.right(ago(row.get("time"), now)),
            fmt.text(row.get("category"), "bold"), fmt.text(row.get("device_group"), limit=40)]


def p_text(p: float | None) -> str:
    """A p-value readably: 0.0312, 2.1e-05; '–' when there is none."""
    if p is None:
        return "–"
    return f"{p:.4f}" if p >= 0.001 else f"{p:.1e}"


def host_cells(row: dict) -> list[Text]:
    """The table row of one failure_listing.configuration_hosts row."""
    suspect = bool(row.get("suspect"))
    return [Text(SUSPECT if suspect else "", style="bold yellow"),
            fmt.text(row.get("host"), "bold yellow" if suspect else "", limit=60),
            fmt.number(row.get("ended")), fmt.number(row.get("errors")),
            fmt.percent(row.get("error_pct")), fmt.right(p_text(row.get("p")))]


def _count(n: int | None, noun: str) -> str:
    """'1 host', '3 hosts'."""
    n = n or 0
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


class _FailureScreen(Screen[None]):
    """Title, a line of figures, a table that follows the snapshots, a line under it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Back", id="close_failure")]
    COLUMNS: tuple = ()
    HINT = ""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.chosen = name
        self.filled = False

    def title_text(self) -> Text:  # pragma: no cover - abstract
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(classes="failure-detail"):
            title = self.title_text()
            title.append(f" · {self.HINT} · Esc: back", style="dim")
            yield TextLine(title, id="failure-title")
            yield TextLine(Text("loading…", style="dim"), id="failure-figures")
            yield LiveTable(*self.COLUMNS, zebra=True, id="failure-rows")
            yield TextLine(id="failure-note")
        yield Footer()

    def _fill(self, figures: Text, rows: list, note: Text) -> None:
        self.filled = True
        self.query_one("#failure-figures", TextLine).show(figures)
        self.query_one("#failure-rows", LiveTable).set_rows(rows)
        self.query_one("#failure-note", TextLine).show(note)


class ErrorTypeScreen(_FailureScreen):
    """The latest testruns that failed with one error type; the highlighted one's whole
    error text under the table; Enter opens that testrun."""

    COLUMNS = TYPE_COLUMNS
    HINT = f"latest {TYPE_TESTRUNS} testruns · Enter: a testrun"

    def __init__(self, error_type: str) -> None:
        super().__init__(error_type)
        self._rows: dict[str, dict] = {}

    def title_text(self) -> Text:
        return Text(f"error type {fmt.clean(self.chosen)}", style="bold")

    def show(self, snapshot: Snapshot) -> None:
        """Fill the screen from a snapshot computed for this type."""
        if snapshot.view.error_type != self.chosen or snapshot.type_testruns is None:
            return
        row = next((t for t in (snapshot.failures or {}).get("types") or ()
                    if t.get("type") == self.chosen), None)
        figures = Text("no testrun failed with it in this window", style="dim") if row is None \
            else Text(f"{_count(row.get('testruns'), 'testrun')} on "
                      f"{_count(row.get('hosts'), 'host')} · "
                      f"last {ago(row.get('last'), snapshot.taken_at)}")
        self._rows = {f"r:{tr.get('run')}": tr for tr in snapshot.type_testruns}
        rows = [(key, type_testrun_cells(tr, snapshot.taken_at)) for key, tr in self._rows.items()]
        self._fill(figures, rows, Text())
        self._show_error(self.query_one("#failure-rows", LiveTable).cursor_key)

    @on(LiveTable.RowHighlighted, "#failure-rows")
    def _highlighted(self, event: LiveTable.RowHighlighted) -> None:
        self._show_error(event.key)

    def _show_error(self, key: str | None) -> None:
        row = self._rows.get(key or "")
        line = Text()
        if row is not None:
            line.append(f"{fmt.clean(row.get('testrun_id'), 40)}: ", style="bold")
            line.append(fmt.clean(row.get("error") or "(no message)"), style="red")
        self.query_one("#failure-note", TextLine).show(line)

    @on(LiveTable.RowSelected, "#failure-rows")
    def _chosen(self, event: LiveTable.RowSelected) -> None:
        row = self._rows.get(event.key or "")
        if row is not None:
            self.post_message(TestrunChosen(str(row.get("testrun_id")), row.get("run")))


class ConfigurationScreen(_FailureScreen):
    """Every host with an ended testrun on one configuration, the most suspect first; Enter
    opens a host's latest testruns (screens/host.py)."""

    COLUMNS = HOST_COLUMNS
    HINT = "hosts, most suspect first · Enter: a host"

    def __init__(self, configuration: str) -> None:
        super().__init__(configuration)
        self._hosts: dict[str, str] = {}

    def title_text(self) -> Text:
        return Text(f"configuration {fmt.clean(self.chosen)}", style="bold")

    def show(self, snapshot: Snapshot) -> None:
        """Fill the screen from a snapshot computed for this configuration."""
        if snapshot.view.configuration != self.chosen or snapshot.configuration_hosts is None:
            return
        row = next((c for c in (snapshot.failures or {}).get("configurations") or ()
                    if c.get("configuration") == self.chosen), None)
        if row is None:
            figures = Text("no testrun ended on it in this window", style="dim")
        else:
            pct = row.get("error_pct")
            figures = Text(f"{row.get('errors', 0):,} errors of {row.get('ended', 0):,} ended "
                           f"testruns ({'–' if pct is None else f'{pct:.1f} %'})")
        self._hosts = {f"h:{h.get('host')}": str(h.get("host"))
                       for h in snapshot.configuration_hosts}
        rows = [(f"h:{h.get('host')}", host_cells(h)) for h in snapshot.configuration_hosts]
        note = Text(f"{SUSPECT} suspect: at least 3 errors on it and p < 0.01 (one-sided Fisher "
                    "test of its errors against the other hosts' on this configuration)",
                    style="dim")
        self._fill(figures, rows, note)

    @on(LiveTable.RowSelected, "#failure-rows")
    def _chosen(self, event: LiveTable.RowSelected) -> None:
        host = self._hosts.get(event.key or "")
        if host is not None:
            self.post_message(HostChosen(host))
