"""Base of the panes: show(snapshot) repaints from an immutable snapshot."""

from __future__ import annotations

from textual import on
from textual.containers import Vertical
from textual.events import Mount

from trmon_tui.model import Snapshot


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

    @on(Mount)
    def _catch_up_when_mounted(self) -> None:
        # A lazily mounted pane can miss the snapshot computed for it (the worker answers a tab
        # switch at once): show the app's latest one once the pane's own on_mount has run.
        self.call_after_refresh(self._catch_up)

    def _catch_up(self) -> None:
        latest = getattr(self.app, "snapshot", None)
        if latest is not None and self.snapshot is None and not getattr(self.app, "paused", False):
            self.show(latest)

    def render_snapshot(self, snapshot: Snapshot) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
