"""Events pane: the latest events, newest first; frozen while the monitor is paused."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from trmon_tui.messages import Snapshot, TestrunChosen
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.table import FittedTable, refill

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


class EventsPane(Pane):
    """Newest first, as they arrive."""

    tab = "events"

    def compose(self) -> ComposeResult:
        yield Static(id="events-info", classes="info")
        yield FittedTable(id="events-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)

    def render_snapshot(self, snapshot: Snapshot) -> None:
        rows = []
        self._ids = {}
        for item in snapshot.events:
            e, key = item.event, f"e:{item.row}"  # keyed by file row: the cursor stays put
            self._ids[key] = str(e.get("testrun_id"))
            name = str(e.get("event"))
            rows.append((key, [
                fmt.text(fmt.clock(e.get("received"))), fmt.text(e.get("testrun_id"), limit=24),
                fmt.text(item.group, limit=14),
                fmt.text(name, STYLES.get(name, ""), limit=14), fmt.text(detail(e), limit=80)]))
        refill(self.query_one(DataTable), rows)
        paused = " · PAUSED (p resumes)" if self.app.paused else " · p pauses"
        group = f" of {snapshot.view.group}" if snapshot.view.group else ""
        self.query_one("#events-info", Static).update(
            Text(f"latest {len(rows)} events{group}, newest first{paused} · Enter: testrun"))

    @on(DataTable.RowSelected, "#events-table")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        testrun_id = getattr(self, "_ids", {}).get(event.row_key.value or "")
        if testrun_id is not None:
            self.post_message(TestrunChosen(testrun_id))
