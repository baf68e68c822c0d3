"""Testrun detail (Enter on a testrun): attributes, event timeline, error."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from trmon_tui.messages import TestrunLoaded
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.events import detail
from trmon_tui.widgets.livetable import LiveTable


class TestrunScreen(Screen[None]):
    """Shows 'loading…' until the tail worker answers with TestrunLoaded."""

    __test__ = False  # not a pytest class, despite the name

    BINDINGS = [Binding("escape,q", "dismiss", "Back", id="close_detail")]

    def __init__(self, testrun_id: str, run: int | None = None) -> None:
        super().__init__()
        self.testrun_id = testrun_id
        self.run = run  # which testrun of that id (ids are scoped by file)

    def compose(self) -> ComposeResult:
        with Vertical(id="detail"):
            yield Static(Text(f"testrun {fmt.clean(self.testrun_id)}", style="bold"),
                         id="detail-title")
            yield Static(Text("loading…", style="dim"), id="detail-attrs")
            yield Static(id="detail-error")
            yield LiveTable("received", "+ since request", "event", "detail", zebra=True,
                            id="timeline")
        yield Footer()

    def show(self, loaded: TestrunLoaded) -> None:
        """Fill the screen from the worker's answer."""
        attrs = Text()
        for key, value in loaded.attributes.items():
            shown = fmt.hosts(value) if key == "hosts" else value
            attrs.append(f"{fmt.clean(key, 20)}: ", style="bold")
            attrs.append(fmt.clean(shown, 120) + "\n")
        if not loaded.attributes:
            attrs.append("no attributes (no request event seen)", style="dim")
        self.query_one("#detail-attrs", Static).update(attrs)
        errors = [str(e.get("error")) for e in loaded.events if e.get("error")]
        message = loaded.error and f"could not read this testrun: {loaded.error}"
        error = Text(fmt.clean(message or " · ".join(errors)), style="bold red")
        self.query_one("#detail-error", Static).update(error)
        self.query_one("#detail-error").display = bool(error.plain)
        start = next((e.get("received") for e in loaded.events if e.get("event") == "request"),
                     None)
        rows = []
        for i, e in enumerate(loaded.events):
            rel = None if start is None or e.get("received") is None else e["received"] - start
            rows.append((str(i), [fmt.text(fmt.stamp(e.get("received"))),
                                  fmt.right(fmt.duration(rel)), fmt.text(e.get("event"), limit=20),
                                  fmt.text(detail(e), limit=100)]))
        if not loaded.events and not loaded.error:
            rows.append(("none", [Text("no events found"), "", "", ""]))
        self.query_one("#timeline", LiveTable).set_rows(rows)
