"""Base of the five panes: show(snapshot) repaints from an immutable snapshot."""

from __future__ import annotations

from textual.containers import Vertical

from trmon_tui.messages import Snapshot


class Pane(Vertical):
    """A tab's content.  ``tab`` names the ViewState.tab whose snapshot it can show."""

    tab = ""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None

    def show(self, snapshot: Snapshot) -> None:
        """Repaint from ``snapshot`` if it was computed for this pane."""
        if snapshot.view.tab != self.tab or not self.is_mounted:
            return
        self.snapshot = snapshot
        self.render_snapshot(snapshot)

    def render_snapshot(self, snapshot: Snapshot) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
