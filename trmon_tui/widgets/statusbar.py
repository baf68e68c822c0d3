"""Status bar: file, live/paused/waiting/error state, last update age, counts, narrowing;
a progress bar beside it while history loads.

It is repainted every second (the age) and on every snapshot, so it is two TextLines that
repaint only when their text changed; the progress bar is text too (Textual's ProgressBar
animates on a timer even while hidden)."""

from __future__ import annotations

import os

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal

from trmon_tui.messages import FileState, ReadProgress, Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.textline import TextLine

STATE_STYLE = {"live": "bold green", "paused": "bold yellow", "waiting": "bold yellow",
               "locked": "bold yellow", "error": "bold red", "loading": "bold cyan"}


class StatusBar(Horizontal):
    """One line at the bottom; the state is also a CSS class (-live, -error, ...)."""

    def __init__(self, path: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.snapshot: Snapshot | None = None
        self.file = FileState()
        self.paused = False
        self.problem = ""
        self.counts: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield TextLine(id="status-text")
        yield TextLine(id="progress", classes="-hidden")

    def state(self) -> str:
        """The word shown first: paused wins, then file trouble, then loading, then live."""
        if self.paused:
            return "paused"
        if self.file.state != "live":
            return self.file.state
        if self.problem:
            return "error"
        return "loading" if self.file.loading else "live"

    def update_from(self, *, snapshot: Snapshot | None = None, file: FileState | None = None,
                    paused: bool | None = None, problem: str | None = None,
                    progress: ReadProgress | None = None, now: float | None = None) -> None:
        """Store whatever changed and repaint the line."""
        if snapshot is not None:
            self.snapshot, self.file, self.counts = snapshot, snapshot.file, snapshot.counts
        if progress is not None:
            self.file = progress.file
            self.counts = {"events": progress.file.rows_read, "testruns": progress.testruns}
        if file is not None:
            self.file = file
        if paused is not None:
            self.paused = paused
        if problem is not None:
            self.problem = problem
        self.repaint(now)

    def on_mount(self) -> None:
        self.repaint(None)  # what arrived before the line existed (see repaint)

    def repaint(self, now: float | None) -> None:
        """Rebuild the text (also called each second for the update age)."""
        texts, bars = self.query("#status-text"), self.query("#progress")
        if not texts or not bars:
            # Not composed yet, or being torn down: a snapshot or tick can arrive in either
            # window (seen on a busy machine). Stored state is painted by on_mount.
            return
        state = self.state()
        for name in STATE_STYLE:
            self.set_class(state == name, f"-{name}")
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" {state.upper()} ", style=STATE_STYLE.get(state, "bold") + " reverse")
        line.append(" " + fmt.clean(os.path.basename(self.path), 28))
        snap = self.snapshot
        if snap is not None and snap.last_data_at is not None and now is not None:
            line.append(f" · {fmt.duration(max(0.0, now - snap.last_data_at))} ago")
        if self.counts:
            counts = self.counts
            line.append(f" · {counts.get('events', 0):,} ev · {counts.get('testruns', 0):,} runs")
        if snap is not None and snap.overdue and not self.file.loading:
            line.append(f" · {snap.overdue:,} overdue", style="bold red")
        if snap is not None:
            view = snap.view
            line.append(f" · {fmt.clean(view.group or 'all groups', 20)} · {view.window}")
        message = self.file.message or self.problem
        if message:
            line.append(" · " + fmt.clean(message), style="yellow")
        texts.first(TextLine).show(line)
        bar = bars.first(TextLine)
        loading = self.file.loading
        bar.set_class(not loading, "-hidden")
        if loading:
            bar.show(progress(self.file.rows_read, self.file.rows_total, bar.size.width))


def progress(done: int, total: int, width: int) -> Text:
    """A bar of ``width`` cells with the percentage at its end."""
    fraction = min(1.0, done / total) if total else 0.0
    cells = max(1, width - 5)
    filled = int(fraction * cells)
    bar = Text("━" * filled, no_wrap=True)
    bar.append("━" * (cells - filled), style="dim")
    bar.append(f"{fraction:5.0%}")
    return bar
