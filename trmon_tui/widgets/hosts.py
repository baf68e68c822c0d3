"""Hosts pane: one row per worker host, the bad and suspect ones first (DESIGN "Operator
insight"); Enter opens the host's latest testruns (screens/host.py).

The rows are StatsEngine.hosts's, in its order: bad, then suspect, then good, each by error %
descending.  Health is a colour and a mark (HEALTH), so it reads without colour too.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult

from trmon_tui.messages import HostChosen
from trmon_tui.model import Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.livetable import Column, LiveTable
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.textline import TextLine

# Single-cell marks (no emoji: those are two cells wide in some terminals).
HEALTH = {"bad": ("✗", "bold red"), "suspect": ("!", "bold yellow"), "good": ("✓", "green")}
# The most telling first: at 80 columns "last ok" and "running" are cut (the detail screen
# shows them).  "busy": a testrun occupies the host now; "1h %" / "24h %": how much of the
# last hour / day one did (DESIGN "Why it waits").
COLUMNS = ("health", "host", "streak", "err/runs", "err %", "infra", "busy", "1h %", "24h %",
           "last ok", Column("running", max_width=28))


def health_cell(health: str | None) -> Text:
    """The health as mark + word, coloured (the mark survives NO_COLOR)."""
    mark, style = HEALTH.get(str(health), ("?", ""))
    return Text(f"{mark} {fmt.clean(health)}", style=style, no_wrap=True)


def ago(then: float | None, now: float) -> str:
    """'3h07m ago', or 'never' when there is no such time."""
    return "never" if then is None else f"{fmt.duration(max(0.0, now - then))} ago"


def busy_cell(busy: bool | None) -> Text:
    """'busy' or 'idle' (a word: it reads without colour too); '–' when unknown."""
    if busy is None:
        return Text("–")
    return Text("busy", style="bold green") if busy else Text("idle", style="dim")


def share(fraction: float | None) -> str:
    """A fraction 0..1 as a whole percentage ('45'); '–' when unknown."""
    return "–" if fraction is None else f"{100 * fraction:.0f}"


def running_text(running: list[dict] | None) -> str:
    """The host's newest ongoing testrun and its phase, and how many more it runs."""
    if not running:
        return ""
    first = running[0]
    more = f" +{len(running) - 1}" if len(running) > 1 else ""
    return f"{fmt.clean(first.get('testrun_id'), 20)} {fmt.clean(first.get('phase'))}{more}"


def host_cells(row: dict, now: float) -> list[Text]:
    """The table row of one StatsEngine.hosts row."""
    pct, streak = row.get("error_pct"), int(row.get("streak") or 0)
    return [
        health_cell(row.get("health")),
        fmt.text(row.get("host"), limit=24),
        fmt.right(f"{streak:,}", "bold red" if row.get("health") == "bad" else ""),
        fmt.right(f"{row.get('errors', 0):,}/{row.get('testruns', 0):,}"),
        fmt.percent(pct),
        fmt.number(row.get("infra_errors")),
        busy_cell(row.get("busy")), fmt.right(share(row.get("busy_1h"))),
        fmt.right(share(row.get("busy_24h"))),
        fmt.right(ago(row.get("last_ok"), now), "dim" if row.get("last_ok") is None else ""),
        fmt.text(running_text(row.get("running")), "green"),
    ]


class HostsPane(Pane):
    """Worker hosts, worst first; Enter opens one (posts HostChosen)."""

    tab = "hosts"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._hosts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield TextLine(id="hosts-info", classes="info")
        yield LiveTable(*COLUMNS, zebra=True, id="hosts-table")

    def render_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.hosts is None:
            return
        now, rows, self._hosts = snapshot.taken_at, [], {}
        for row in snapshot.hosts:
            key = f"h:{row.get('host')}"
            self._hosts[key] = str(row.get("host"))
            rows.append((key, host_cells(row, now)))
        self.query_one("#hosts-table", LiveTable).set_rows(rows)
        self.query_one("#hosts-info", TextLine).show(_summary_line(snapshot.hosts))

    @on(LiveTable.RowSelected, "#hosts-table")
    def _chosen(self, event: LiveTable.RowSelected) -> None:
        host = self._hosts.get(event.key or "")
        if host is not None:
            self.post_message(HostChosen(host))


def _summary_line(hosts: tuple[dict, ...]) -> Text:
    counts = {name: sum(1 for h in hosts if h.get("health") == name) for name in HEALTH}
    line = Text(f"{len(hosts):,} hosts:")
    for name in ("bad", "suspect"):
        mark, style = HEALTH[name]
        line.append(f" {mark} {counts[name]:,} {name}", style=style if counts[name] else "")
    busy = sum(1 for h in hosts if h.get("busy"))
    line.append(f" · {busy:,} busy · worst first · Enter: its testruns")
    return line
