"""PlotView: a chart (the histogram's plotext figure, the text-drawn time-and-motion and trend
charts) sized to the widget, redrawn at most about once a second, and repainted line by line
(only the lines that differ from the ones on screen).

A chart's output is a full screen of styled cells (plotext also costs 10-40 ms a figure):
drawing it on every snapshot was most of the chart pane's cost.  A figure is drawn only when
its data (the
``key`` given with it) or the widget's size changed, at most once per MIN_INTERVAL (the newest
data waits on a timer), and a line whose text and styles are unchanged is not sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from rich.text import Text
from textual.events import Resize
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

Draw = Callable[[int, int], Text]
MIN_INTERVAL = 1.0


class PlotView(Widget):
    """Holds a draw(width, height) function, run here, on the main thread only (plotext keeps
    one global figure)."""

    DEFAULT_CSS = "PlotView { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._draw: Draw | None = None
        self._key: Hashable = None
        self._drawn: tuple | None = None  # (key, size) of what is on screen
        self._drawn_at = 0.0
        self._timer = None
        self._after_layout = False  # a draw is waiting for the layout: see _schedule
        self._lines: list[Strip] = []
        self.text = Text()
        """The figure on screen (plain text: what tests read)."""

    def plot(self, draw: Draw, key: Hashable = None) -> None:
        """Show ``draw``'s figure; ``key`` names its data (None: always redraw when due)."""
        self._draw, self._key = draw, key
        self._schedule()

    def on_resize(self, event: Resize) -> None:
        self._redraw()  # at once: a figure of the old size would be cut or left short

    def _schedule(self) -> None:
        if self._key is not None and self._drawn == (self._key, self.size):
            return
        wait = self._drawn_at + MIN_INTERVAL - time.monotonic()
        if wait <= 0:
            # After the refresh that lays out what came with the new data (a table above
            # that got its rows changes this widget's size): drawn once, at the size shown.
            if not self._after_layout:
                self._after_layout = True
                self.call_after_refresh(self._laid_out)
        elif self._timer is None:
            self._timer = self.set_timer(wait, self._when_due)

    def _laid_out(self) -> None:
        self._after_layout = False
        if self._key is None or self._drawn != (self._key, self.size):
            self._redraw()

    def _when_due(self) -> None:
        self._timer = None
        self._schedule()

    def _redraw(self) -> None:
        width, height = self.size
        if self._draw is None or min(width, height) <= 0:
            return
        self._drawn, self._drawn_at = (self._key, self.size), time.monotonic()
        self.text = self._draw(width, height)
        console = self.app.console
        lines = [Strip(list(line.render(console))).simplify()
                 for line in self.text.split("\n", allow_blank=True)][:height]
        old, self._lines = self._lines, lines
        for y in range(max(len(old), len(lines))):
            if y >= len(old) or y >= len(lines) or old[y] != lines[y]:
                self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        width, style = self.size.width, self.rich_style
        if y >= len(self._lines):
            return Strip.blank(width, style)
        return self._lines[y].apply_style(style).crop_extend(0, width, style)
