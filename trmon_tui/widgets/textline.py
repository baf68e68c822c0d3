"""TextLine: a Static for live text that repaints only when its text changed."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from trmon_tui.widgets.livetable import follows_content


def _look(text: Text) -> tuple:
    return text.plain, text.style, tuple(text.spans)


def _shape(text: Text) -> list[int]:
    """Word lengths per line: equal shapes wrap alike, so the height cannot change."""
    return [len(word) for word in text.plain.replace("\n", " \n ").split(" ")]


class TextLine(Static):
    """``show(text)`` does nothing when the text looks the same as the one shown, and asks
    for a layout (a pass over the whole screen, ~0.1 s here) only when its height may change:
    it follows its text (height auto) and the text's shape changed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.text: Text | None = None

    def show(self, text: Text) -> bool:
        """Show ``text``; returns whether anything changed."""
        if self.text is not None and _look(text) == _look(self.text):
            return False
        layout = self.text is None or \
            (follows_content(self) and _shape(text) != _shape(self.text))
        self.text = text
        self.update(text, layout=layout)
        return True
