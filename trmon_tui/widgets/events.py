"""Events pane: the latest events, newest first; frozen while the monitor is paused."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult

from trmon_tui.messages import TestrunChosen
from trmon_tui.model import EVENTS_SHOWN, EventRow, Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.textline import TextLine

COLUMNS = ("received", "testrun", "group", "event", "detail")
STYLES = {"error": "bold red", "publish": "green", "request": "cyan"}
DETAIL_KEYS = ("requestor", "queue", "configuration", "request_id")


def detail(event: dict) -> str:
    """The interesting extra fields of an event on one line."""
    if event.get("error"):
        return str(event["error"])
    parts = [str(event[k]) for k in DETAIL_KEYS if event.get(k)]
    if event.get("hosts"):
        parts.append(fmt.hosts(event["hosts"]))
    return " · ".join(parts)


def event_cells(item: EventRow) -> list[Text]:
    """The table row of one event."""
    e = item.event
    name = str(e.get("event"))
    return [fmt.text(fmt.clock(e.get("received"))), fmt.text(e.get("testrun_id"), limit=24),
            fmt.text(item.group, limit=14), fmt.text(name, STYLES.get(name, ""), limit=14),
            fmt.text(detail(e), limit=80)]


class EventsPane(Pane):
    """Newest first, as they arrive."""

    tab = "events"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._ids: dict[str, tuple[str, int]] = {}  # row key -> (testrun id, run)
        self._cells: dict[int, list[Text]] = {}  # by file row: an event never changes

    def compose(self) -> ComposeResult:
        yield TextLine(id="events-info", classes="info")
        yield LiveTable(*COLUMNS, zebra=True, follow_top=True, id="events-table")

    def render_snapshot(self, snapshot: Snapshot) -> None:
        rows, cells, self._ids = [], {}, {}
        for item in snapshot.events:
            key = f"e:{item.row}"  # keyed by file row: the cursor stays on its event
            self._ids[key] = (str(item.event.get("testrun_id")), item.run)
            cells[item.row] = self._cells.get(item.row) or event_cells(item)
            rows.append((key, cells[item.row]))
        self._cells = cells if len(cells) <= 2 * EVENTS_SHOWN else {}
        self.query_one("#events-table", LiveTable).set_rows(rows)
        paused = " · PAUSED (p resumes)" if self.app.paused else " · p pauses"
        group = f" of {fmt.clean(snapshot.view.group, 30)}" if snapshot.view.group else ""
        self.query_one("#events-info", TextLine).show(
            Text(f"latest {len(rows)} events{group}, newest first{paused} · Enter: testrun"))

    @on(LiveTable.RowSelected, "#events-table")
    def _chosen(self, event: LiveTable.RowSelected) -> None:
        chosen = self._ids.get(event.key or "")
        if chosen is not None:
            self.post_message(TestrunChosen(*chosen))
