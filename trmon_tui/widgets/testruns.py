"""Testruns pane: ongoing and queued testruns, filterable with / and sortable with s.

An overdue testrun (DESIGN "Operator insight": in its phase for longer than the p95 of that
phase in its device group) has OVERDUE_MARK before its time in phase, in red; the sort "overdue"
puts the most overdue first (elapsed / p95), and asks the worker for them first too (the pane
lists at most LIST_LIMIT testruns of each state)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from trmon_tui.messages import TestrunChosen
from trmon_tui.model import LIST_LIMIT, Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.textline import TextLine

COLUMNS = ("state", "testrun", "group", "phase", "for", "hosts", "requestor")
SORTS = ("newest", "overdue", "longest", "group", "testrun", "requestor")
OVERDUE_MARK = "!"  # plain ASCII: one cell everywhere, and readable without colour


def waited(row: dict, now: float) -> float | None:
    """Seconds in the current phase (ongoing) or in the queue (queued)."""
    if row.get("status") == "queued" and row.get("waited") is not None:
        return row["waited"]
    since = row.get("phase_since")
    return now - since if since is not None else row.get("age")


def matches(row: dict, needle: str) -> bool:
    """Case-insensitive substring match on the id, group, phase, hosts and requestor."""
    hay = " ".join(str(row.get(k) or "") for k in ("testrun_id", "device_group", "phase",
                                                    "requestor", "status"))
    return needle in (hay + " " + fmt.hosts(row.get("hosts"))).lower()


def sort_rows(rows: list[dict], how: str, now: float) -> list[dict]:
    """Rows in the chosen order (the engine's order, newest first, is 'newest')."""
    if how == "overdue":  # stable: the others stay newest first
        return sorted(rows, key=lambda r: -(r.get("overdue") or 0.0))
    if how == "longest":
        return sorted(rows, key=lambda r: -(waited(r, now) or 0.0))
    if how in ("group", "testrun", "requestor"):
        key = {"group": "device_group", "testrun": "testrun_id"}.get(how, how)
        return sorted(rows, key=lambda r: str(r.get(key) or ""))
    return rows


class TestrunsPane(Pane):
    """The live testruns; Enter opens one (posts TestrunChosen)."""

    tab = "testruns"

    class SortChanged(Message):
        """The sort changed: the worker lists the overdue testruns first for "overdue"."""

        def __init__(self, sort: str) -> None:
            super().__init__()
            self.sort = sort

    BINDINGS = [Binding("s", "cycle_sort", "Sort", id="sort"),
                Binding("escape", "clear_filter", "Clear filter", show=False, id="unfilter")]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filter_text = ""
        self.sort = SORTS[0]
        self._ids: dict[str, tuple[str, int | None]] = {}  # row key -> (testrun id, run)

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: id, group, phase, host, requestor  (Esc clears)",
                    id="filter", classes="-hidden")
        yield TextLine(id="testruns-info", classes="info")
        yield LiveTable(*COLUMNS, zebra=True, follow_top=True,
                        id="testruns-table")

    def open_filter(self) -> None:
        """Show and focus the filter box."""
        box = self.query_one("#filter", Input)
        box.remove_class("-hidden")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip().lower()
        if self.snapshot:
            self.render_snapshot(self.snapshot)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#testruns-table", LiveTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.add_class("-hidden")
        self.query_one("#testruns-table", LiveTable).focus()

    def action_cycle_sort(self) -> None:
        self._sort_by(SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)])

    @on(LiveTable.HeaderSelected, "#testruns-table")
    def _header(self, event: LiveTable.HeaderSelected) -> None:
        label = event.label
        sort = {"for": "longest", "state": "newest"}.get(label, label)
        self._sort_by(sort if sort in SORTS else "newest")

    def _sort_by(self, sort: str) -> None:
        self.sort = sort
        self.post_message(self.SortChanged(sort))
        if self.snapshot:
            self.render_snapshot(self.snapshot)

    @on(LiveTable.RowSelected, "#testruns-table")
    def _chosen(self, event: LiveTable.RowSelected) -> None:
        chosen = self._ids.get(event.key or "")
        if chosen is not None:
            self.post_message(TestrunChosen(*chosen))

    def render_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.ongoing is None and snapshot.queued is None:
            return
        now = snapshot.taken_at
        everything = list(snapshot.ongoing or ()) + list(snapshot.queued or ())
        rows = [r for r in everything if matches(r, self.filter_text)] if self.filter_text \
            else everything
        rows = sort_rows(rows, self.sort, now)
        self._ids = {}
        table_rows = []
        for r in rows:
            key = f"{r.get('run')}"
            self._ids[key] = (str(r.get("testrun_id")), r.get("run"))
            ongoing = r.get("status") == "ongoing"
            table_rows.append((key, [
                fmt.text(r.get("status"), "green" if ongoing else "yellow"),
                fmt.text(r.get("testrun_id"), limit=28), fmt.text(r.get("device_group"), limit=16),
                fmt.text(r.get("phase") or ("queue" if not ongoing else "")),
                _time_in_phase(r, now),
                fmt.text(fmt.hosts(r.get("hosts")), limit=24),
                fmt.text(r.get("requestor"), limit=32)]))
        self.query_one("#testruns-table", LiveTable).set_rows(table_rows)
        n_on, n_q = len(snapshot.ongoing or ()), len(snapshot.queued or ())
        late = sum(1 for r in everything if r.get("overdue") is not None)
        info = f"{_count(n_on)} ongoing · {_count(n_q)} queued"
        if late:
            info += f" · {late:,} overdue ({OVERDUE_MARK})"
        info += f" · sorted by {self.sort} (s)"
        if self.filter_text:
            info += f" · {len(rows):,} match filter “{fmt.clean(self.filter_text, 30)}”"
        self.query_one("#testruns-info", TextLine).show(Text(info))


def _time_in_phase(row: dict, now: float) -> Text:
    """The "for" cell: time in phase, marked and red when the testrun is overdue."""
    shown = fmt.duration(waited(row, now))
    if row.get("overdue") is None:
        return fmt.right(shown)
    return fmt.right(f"{OVERDUE_MARK}{shown}", "bold red")


def _count(n: int) -> str:
    """A list length, marked when the worker capped the list at LIST_LIMIT."""
    return f"newest {n:,}" if n >= LIST_LIMIT else f"{n:,}"
