"""Time-and-motion pane: the seed's stacked bar chart, paged with [ ] / PageUp PageDown."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.events import Resize
from textual.message import Message

from trmon_tui.model import Snapshot
from trmon_tui.widgets import barchart
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.plotview import PlotView
from trmon_tui.widgets.textline import TextLine

MAX_PAGE = 20  # the spike streamed the chart in pages of 20 testruns
CHROME = barchart.CHART_CHROME


class ChartPane(Pane):
    """Chart, legend and page position.  The chart is redrawn when its data or size changed,
    at most about once a second (see PlotView)."""

    tab = "chart"

    class PageSizeChanged(Message):
        """As many bars as fit, one text row each."""

        def __init__(self, limit: int) -> None:
            super().__init__()
            self.limit = limit

    def compose(self) -> ComposeResult:
        yield TextLine(id="chart-info", classes="info")
        yield PlotView(id="chart-plot")
        yield TextLine(id="legend")

    def page_size(self) -> int:
        """Bars per page for the current size of the chart area."""
        height = self.query_one("#chart-plot").size.height or max(1, self.size.height - 2)
        return max(1, min(MAX_PAGE, height - CHROME))

    def on_resize(self, event: Resize) -> None:
        self.post_message(self.PageSizeChanged(self.page_size()))

    def render_snapshot(self, snapshot: Snapshot) -> None:
        mono = self.app.no_color
        segments = snapshot.segments
        self.query_one("#chart-plot", PlotView).plot(
            lambda w, h: barchart.stacked_chart(segments, w, h, mono=mono), key=_data(segments))
        self.query_one("#legend", TextLine).show(barchart.legend(mono))
        total = int(segments.get("total", 0)) if segments else 0
        start = snapshot.view.chart_offset
        shown = len(segments.get("testrun_ids", ())) if segments else 0
        info = Text(f"testruns {start + 1 if shown else 0:,}–{start + shown:,} of {total:,}, "
                    "newest first · [ ] or PgUp/PgDn to page", no_wrap=True, overflow="ellipsis")
        self.query_one("#chart-info", TextLine).show(info)


def _data(segments: dict[str, Any] | None) -> tuple:
    """What the chart draws from ``segments``, as a comparable value."""
    if not segments:
        return ()
    matrix = np.asarray(segments.get("matrix", ()), dtype=float)
    return (int(segments.get("total", 0)), tuple(segments.get("testrun_ids", ())),
            tuple(segments.get("running") or ()), matrix.tobytes())
