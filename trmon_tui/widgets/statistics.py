"""Statistics pane: n/min/max/mean/std/p50/p95 per phase and iterations, with a histogram."""

from __future__ import annotations

import numpy as np
from textual import on
from textual.app import ComposeResult
from textual.message import Message

from store.stats.names import DURATIONS, ITERATED
from trmon_tui.model import Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets import plots
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.plotview import PlotView

COLUMNS = ("phase", "n", "min", "max", "mean", "std", "p50", "p95")


def stats_cells(name: str, stats: dict, as_count: bool = False) -> list:
    """One table row of a STATS dict (durations, or iteration counts)."""
    def cell(key: str):
        value = stats.get(key)
        if as_count:
            return fmt.right("–" if value is None else f"{value:.2f}".rstrip("0").rstrip("."))
        return fmt.right(fmt.duration(value))
    return [fmt.text(name), fmt.number(stats.get("n"))] + [
        cell(k) for k in ("min", "max", "mean", "std", "p50", "p95")]


class StatisticsPane(Pane):
    """Choosing a phase row shows its histogram (posts PhaseChosen)."""

    tab = "statistics"

    class PhaseChosen(Message):
        """The highlighted phase changed: the worker computes its samples."""

        def __init__(self, phase: str) -> None:
            super().__init__()
            self.phase = phase

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._samples: tuple[str, np.ndarray] | None = None  # what the histogram shows
        self._samples_changes = 0

    def compose(self) -> ComposeResult:
        yield LiveTable(*COLUMNS, id="stats")
        yield PlotView(id="histogram")

    @on(LiveTable.RowHighlighted, "#stats")
    def _highlighted(self, event: LiveTable.RowHighlighted) -> None:
        key = event.key or ""
        if key in DURATIONS:
            self.post_message(self.PhaseChosen(key))

    def render_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.summary is not None:
            everything = snapshot.summary.get("all") or {}
            durations = everything.get("durations") or {}
            iterations = everything.get("iterations") or {}
            rows = [(p, stats_cells(p, durations.get(p) or {})) for p in DURATIONS]
            rows += [(f"it:{p}", stats_cells(f"{p} iter.", iterations.get(p) or {}, True))
                     for p in ITERATED]
            self.query_one("#stats", LiveTable).set_rows(rows)
        self._histogram(snapshot)

    def _histogram(self, snapshot: Snapshot) -> None:
        if snapshot.samples is None:
            return
        samples, phase, mono = snapshot.samples, snapshot.view.phase, self.app.no_color
        shown = self._samples
        if shown is None or shown[0] != phase or not np.array_equal(shown[1], samples):
            self._samples = (phase, samples)
            self._samples_changes += 1
        # The key changes only with the samples: the same ones again draw nothing.
        self.query_one("#histogram", PlotView).plot(
            lambda w, h: plots.histogram(samples, w, h, label=phase, mono=mono),
            key=self._samples_changes)
