"""A Static that draws a plotext figure sized to itself, and redraws when resized."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.events import Resize
from textual.widgets import Static

Draw = Callable[[int, int], Text]


class PlotView(Static):
    """Holds a draw(width, height) function; plotext runs here, on the main thread only."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._draw: Draw | None = None
        self._drawn_size: tuple[int, int] | None = None

    def plot(self, draw: Draw) -> None:
        """Draw now if the widget has a size, else as soon as it gets one."""
        self._draw = draw
        self._drawn_size = None
        self._redraw()

    def on_resize(self, event: Resize) -> None:
        self._redraw()

    def _redraw(self) -> None:
        size = (self.size.width, self.size.height)
        if self._draw is None or size == self._drawn_size or min(size) <= 0:
            return
        self._drawn_size = size
        self.update(self._draw(*size))
