"""Files screen (f): every file the monitor reads, its state and what was read from it.

With several files the status bar may only count them by state; here each has its line: label,
state, events read, testruns, how long ago its latest event was received (freshness: a mirror
gone quiet shows), whether its tables carry checksums, path, and below the table what is wrong
with it, in full.  Paths
and messages come from the file system: shown literally (widgets/format.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from trmon_tui.model import FileView
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.statusbar import state_word

PATH_SHOWN = 40  # a longer path loses its start, not the file's name (the messages show it all)
COLUMNS = ("file", "state", "events", "testruns", "last event", "checksums", "path")


class FilesScreen(ModalScreen[None]):
    """Follows the files' states while open (the app calls ``show`` with each snapshot's)."""

    BINDINGS = [Binding("escape,q,f", "dismiss", "Close", id="close_files")]

    def __init__(self, files: tuple[FileView, ...],
                 now: Callable[[], float] = time.time, back: bool = False) -> None:
        """``back``: looking back (the files were read up to T: READ, not LIVE)."""
        super().__init__()
        self.files = files
        self.now = now  # the data's clock (the app's): ages of the files' latest events
        self.back = back

    def compose(self) -> ComposeResult:
        with Vertical(id="files-box"):
            yield Label("Files (f or Esc closes)")
            yield LiveTable(*COLUMNS, id="files-table")
            yield Static(id="files-messages")

    def on_mount(self) -> None:
        self.show(self.files)
        self.query_one(LiveTable).focus()

    def show(self, files: tuple[FileView, ...]) -> None:
        """Show these states (a snapshot's, with testruns)."""
        self.files = files
        now = self.now()
        self.query_one(LiveTable).set_rows([(f"f{i}", file_cells(f, now, self.back))
                                            for i, f in enumerate(files)])
        messages = Text()
        for f in files:
            if f.message:
                messages.append(f"{fmt.clean(f.label, 20)}: ", style="bold")
                messages.append(fmt.clean(f.message) + "\n")
        messages.rstrip()
        self.query_one("#files-messages", Static).update(
            messages if messages.plain else Text("every file is read", style="dim"))


def file_cells(f: FileView, now: float, back: bool = False) -> list[Text]:
    """The table row of one file (``now``: what the latest event's age is measured to;
    ``back``: see FilesScreen)."""
    events = f"{f.rows_read:,}"
    if f.rows_total > f.rows_read:
        events += f" of {f.rows_total:,}"  # still reading its history
    last = "none" if f.last_event is None else f"{fmt.duration(max(0.0, now - f.last_event))} ago"
    checksums = ("yes", "green") if f.checksums else ("no checksums", "yellow")
    if not f.file_format:
        checksums = ("–", "dim")  # not read yet: unknown
    return [fmt.text(f.label, "bold", limit=20),
            fmt.text(*state_word(f.state, back)),
            fmt.right(events), fmt.number(f.testruns), fmt.right(last), fmt.text(*checksums),
            fmt.text(tail_of(f.path, PATH_SHOWN))]


def tail_of(path: str, limit: int) -> str:
    """The path shown literally, its start cut ("…") when longer than ``limit``."""
    shown = fmt.clean(path)
    return shown if len(shown) <= limit else "…" + shown[len(shown) - limit + 1:]
