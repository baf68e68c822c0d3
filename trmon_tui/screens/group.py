"""Device group selector (g): every pane narrows to the chosen group."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from trmon_tui.widgets.format import clean

ALL = "\x00all"  # option id for "all groups" (cannot collide with a group name from the file)


class GroupScreen(ModalScreen[tuple[str | None] | None]):
    """Dismisses with (group,) — (None,) for all groups — or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_group")]

    def __init__(self, groups: list[str], current: str | None) -> None:
        super().__init__()
        self.groups = groups
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(Text("all device groups", style="italic"), id=ALL)]
        options += [Option(Text(clean(g, 60)), id=f"g{i}") for i, g in enumerate(self.groups)]
        with Vertical(id="group-box"):
            yield Label("Device group (Enter picks, Esc cancels)")
            yield OptionList(*options, id="group-list")

    def on_mount(self) -> None:
        olist = self.query_one(OptionList)
        index = self.groups.index(self.current) + 1 if self.current in self.groups else 0
        olist.highlighted = index
        olist.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if not self.is_current:  # a second Enter before the first dismiss completed
            return
        oid = event.option.id or ALL
        self.dismiss((None,) if oid == ALL else (self.groups[int(oid[1:])],))

    def action_cancel(self) -> None:
        self.dismiss(None)
