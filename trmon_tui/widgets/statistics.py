"""Statistics pane: n/min/max/mean/std/p50/p95 per phase and iterations, with a histogram."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable

from trmon_tui.messages import PHASES, Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets import plots
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.plotview import PlotView
from trmon_tui.widgets.table import FittedTable, refill

COLUMNS = ("phase", "n", "min", "max", "mean", "std", "p50", "p95")
ITERATIONS = ("flash", "boot", "test")


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

    def compose(self) -> ComposeResult:
        yield FittedTable(id="stats", cursor_type="row")
        yield PlotView(id="histogram")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)

    @on(DataTable.RowHighlighted, "#stats")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value or ""
        if key in PHASES:
            self.post_message(self.PhaseChosen(key))

    def render_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.summary is not None:
            everything = snapshot.summary.get("all") or {}
            durations = everything.get("durations") or {}
            iterations = everything.get("iterations") or {}
            rows = [(p, stats_cells(p, durations.get(p) or {})) for p in PHASES]
            rows += [(f"it:{p}", stats_cells(f"{p} iter.", iterations.get(p) or {}, True))
                     for p in ITERATIONS]
            refill(self.query_one(DataTable), rows)
        self._histogram(snapshot)

    def _histogram(self, snapshot: Snapshot) -> None:
        if snapshot.samples is None:
            return
        samples, phase, mono = snapshot.samples, snapshot.view.phase, self.app.no_color
        self.query_one("#histogram", PlotView).plot(
            lambda w, h: plots.histogram(samples, w, h, label=phase, mono=mono))
