"""Deferred: a tab's pane, mounted when it is first needed rather than at start-up.

textual.lazy.Lazy mounts its widget right after the first refresh: for the monitor that is while
the history is read, when both cores are busy and every millisecond the UI thread holds the GIL
delays the catch-up.  A Deferred pane is mounted when its tab is activated, or when the app
says the files have been read (MonitorApp mounts the rest then, with the CPU free).
"""

from __future__ import annotations

from textual.widget import Widget


class Deferred(Widget):
    """Holds ``pane`` unmounted (this placeholder shows nothing) until ``mount_pane()``."""

    DEFAULT_CSS = "Deferred { display: none; }"

    def __init__(self, pane: Widget) -> None:
        super().__init__()
        self.pane = pane
        self._mounting = False

    async def mount_pane(self) -> None:
        """Put the pane in this placeholder's place (once; later calls do nothing)."""
        parent = self.parent
        if self._mounting or parent is None:
            return
        self._mounting = True
        await parent.mount(self.pane, after=self)
        await self.remove()
