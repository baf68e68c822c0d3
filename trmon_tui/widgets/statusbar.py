"""Status bar: file, live/paused/waiting/error state, overdue testruns and starved device groups,
last update age, counts, narrowing;
a progress bar beside it while history loads.  With several files: each file's label and state
when they fit ("a LIVE · lab2 LIVE · c WAITING"), else a count by state ("3 files: 2 LIVE,
1 WAITING (f)": the files screen has the detail); the first word is the worst file's state.
Looking back, "AT 2026-12-07 03:00 UTC" stands where LIVE would, with the keys that move
("< > L"), and no "updated ... ago": nothing shown is live.

It is repainted every second (the age) and on every snapshot, so it is two TextLines that
repaint only when their text changed; the progress bar is text too (Textual's ProgressBar
animates on a timer even while hidden)."""

from __future__ import annotations

import os
from collections import Counter

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal

from trmon_tui.messages import ReadProgress
from trmon_tui.model import STATES, FileView, Snapshot, combined
from trmon_tui.plain import utc_minute
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.textline import TextLine

FILES_KEY = Text(" (f)", style="dim")  # the key of the files screen
STATE_STYLE = {"live": "bold green", "paused": "bold yellow", "waiting": "bold yellow",
               "locked": "bold yellow", "error": "bold red", "loading": "bold cyan",
               "at": "bold magenta"}
AT_KEYS = Text(" < > L", style="dim")  # step back, forward, live


class StatusBar(Horizontal):
    """One line at the bottom; the state is also a CSS class (-live, -error, ...)."""

    def __init__(self, path: str, at: float | None = None, **kwargs) -> None:
        """``at``: the time looked back at until the first snapshot says (--at)."""
        super().__init__(**kwargs)
        self.path = path
        self.first_at = at
        self.snapshot: Snapshot | None = None
        self.file = FileView()
        self.files: tuple[FileView, ...] = ()
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
        if self.file.loading:
            return "loading"
        return "live" if self.at is None else "at"

    @property
    def at(self) -> float | None:
        """The time the shown data stands at (looking back), None live."""
        return self.first_at if self.snapshot is None else self.snapshot.at

    def update_from(self, *, snapshot: Snapshot | None = None, paused: bool | None = None,
                    problem: str | None = None, progress: ReadProgress | None = None,
                    now: float | None = None, files: tuple[FileView, ...] | None = None) -> None:
        """Store whatever changed and repaint the line (``files``: every file's state)."""
        if snapshot is not None:
            self.snapshot, self.file, self.counts = snapshot, snapshot.file, snapshot.counts
            self.files = snapshot.files or self.files
        if progress is not None:
            self.file, self.files = progress.file, progress.files
            self.counts = {"events": progress.file.rows_read, "testruns": progress.testruns}
        if files is not None:
            self.files, self.file = files, combined(files)
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
        text = texts.first(TextLine)
        text.show(self._line(state, now, text.size.width or self.app.size.width))
        bar = bars.first(TextLine)
        loading = self.file.loading
        bar.set_class(not loading, "-hidden")
        if loading:
            bar.show(progress(self.file.rows_read, self.file.rows_total, bar.size.width))

    def _line(self, state: str, now: float | None, width: int) -> Text:
        """The status text: state, file(s), overdue, age, counts, view, then what is wrong (the
        part cut short when the line is too long; at 80 columns the events count goes first)."""
        line = Text(no_wrap=True, overflow="ellipsis")
        word = f"AT {utc_minute(self.at)}" if state == "at" else state.upper()
        line.append(f" {word} ", style=STATE_STYLE.get(state, "bold") + " reverse")
        if state == "at":
            line.append_text(AT_KEYS)
        line.append(" ")
        rest = self._rest(now, with_events=False)
        if len(self.files) > 1:
            back = self.at is not None
            files = each_file(self.files, back)
            files.append(FILES_KEY)
            if line.cell_len + files.cell_len + rest.cell_len > width:
                files = files_by_state(self.files, back)
                files.append(FILES_KEY)
        else:
            files = Text(fmt.clean(os.path.basename(self.path), 28))
        line.append_text(files)
        full = self._rest(now, with_events=True)
        if line.cell_len + full.cell_len <= width:
            rest = full
        line.append_text(rest)
        message = self.file.message or self.problem
        if message:
            line.append(" · " + fmt.clean(message), style="yellow")
        return line

    def _rest(self, now: float | None, *, with_events: bool) -> Text:
        """What follows the file(s): overdue, update age, counts, the view."""
        rest = Text()
        snap = self.snapshot
        if snap is not None and snap.overdue and not self.file.loading:
            rest.append(f" · {snap.overdue:,} overdue", style="bold red")
        starved = starved_count(snap)
        if starved and not self.file.loading:
            rest.append(f" · {starved:,} starved", style="bold red")
        if snap is not None and snap.last_data_at is not None and now is not None:
            rest.append(f" · {fmt.duration(max(0.0, now - snap.last_data_at))} ago")
        if self.counts:
            if with_events:
                rest.append(f" · {self.counts.get('events', 0):,} ev")
            rest.append(f" · {self.counts.get('testruns', 0):,} runs")
        if snap is not None:
            view = snap.view
            rest.append(f" · {fmt.clean(view.group or 'all groups', 20)} · {view.window}")
        return rest


def starved_count(snapshot: Snapshot | None) -> int:
    """How many device groups are starved now (of the view's group, when narrowed to one)."""
    if snapshot is None or snapshot.alerts is None:
        return 0
    starved = snapshot.alerts.starved_groups
    group = snapshot.view.group
    return len(starved) if group is None else int(group in starved)


def each_file(files: tuple[FileView, ...], back: bool = False) -> Text:
    """ "a LIVE · lab2 LIVE · c WAITING" (looking ``back``, a file read up to T is READ, not
    LIVE)."""
    return Text(" · ").join(Text.assemble(fmt.clean(f.label, 16) + " ",
                                          state_word(f.state, back)) for f in files)


def files_by_state(files: tuple[FileView, ...], back: bool = False) -> Text:
    """ "3 files: 2 LIVE, 1 WAITING", the best state first (READ for LIVE looking ``back``)."""
    by_state = Counter(f.state for f in files)
    ranked = sorted(by_state, key=lambda s: STATES.index(s) if s in STATES else len(STATES))
    text = Text(f"{len(files)} files: ")
    text.append_text(Text(", ").join(Text.assemble(f"{by_state[s]} ", state_word(s, back))
                                     for s in ranked))
    return text


def state_word(state: str, back: bool = False) -> tuple[str, str]:
    """(word, style) of a file's state; looking ``back``, a file read up to T is READ."""
    if back and state == "live":
        return "READ", STATE_STYLE["at"]
    return fmt.clean(state.upper(), 10), STATE_STYLE.get(state, "bold")


def progress(done: int, total: int, width: int) -> Text:
    """A bar of ``width`` cells with the percentage at its end."""
    fraction = min(1.0, done / total) if total else 0.0
    cells = max(1, width - 5)
    filled = int(fraction * cells)
    bar = Text("━" * filled, no_wrap=True)
    bar.append("━" * (cells - filled), style="dim")
    bar.append(f"{fraction:5.0%}")
    return bar
