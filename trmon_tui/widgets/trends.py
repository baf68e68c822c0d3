"""Trends pane: testruns per UTC hour or day of their request (DESIGN "Trends"), over the time
window of `t`: a chart of finished and error testruns per bucket, and a table of the buckets,
newest first, with error % and the p50 / p95 of testrun time and queue wait.

By hour over a window of up to two days, by day over a longer one or the whole history; `h`
switches (the app's toggle_bucket).  A trend of too many buckets (an hourly one over years) is
refused by the engine with a sentence, which the pane shows instead of rows.

`c` (the view's ``compare``) shows instead the last 24h, then 7d, against the period before
(trmon_tui.widgets.comparison), and back to the trend rows.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult

from trmon_tui.model import Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets import trendbars
from trmon_tui.widgets.barchart import empty_chart
from trmon_tui.widgets.comparison import COLUMNS as COMPARE_COLUMNS
from trmon_tui.widgets.comparison import compare_rows, headline
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.plotview import PlotView
from trmon_tui.widgets.textline import TextLine

# Fits 80 columns: "runs" = testruns requested in the bucket, "done" = finished,
# "run" = testrun time, "wait" = queue wait.
COLUMNS = ("bucket", "runs", "done", "err", "err %", "run p50", "run p95", "wait p50",
           "wait p95")


def trend_cells(row: dict, bucket: str) -> list[Text]:
    """The table row of one trend ROW."""
    times = [(row.get(sample) or {}).get(p) for sample in ("testrun", "queue")
             for p in ("p50", "p95")]
    return [fmt.text(trendbars.bucket_label(row.get("start", 0.0), bucket, long=True)),
            fmt.number(row.get("requests")), fmt.number(row.get("finished")),
            fmt.number(row.get("errors")), fmt.percent(row.get("error_pct")),
            *(fmt.right(fmt.duration(t)) for t in times)]


class TrendsPane(Pane):
    """Chart and table of the trend rows; the chart is redrawn at most about once a second
    and only when the rows or its size changed (PlotView)."""

    tab = "trends"

    def compose(self) -> ComposeResult:
        yield TextLine(id="trends-info", classes="info")
        yield PlotView(id="trend-plot")
        yield TextLine(id="trend-legend")
        yield LiveTable(*COLUMNS, zebra=True, follow_top=True, id="trend-table")
        yield LiveTable(*COMPARE_COLUMNS, zebra=True, id="compare-table", classes="-hidden")

    def render_snapshot(self, snapshot: Snapshot) -> None:
        comparing = snapshot.view.compare is not None
        if comparing and snapshot.comparison is None:
            return
        for part in ("#trend-plot", "#trend-legend", "#trend-table"):
            self.query_one(part).set_class(comparing, "-hidden")
        self.query_one("#compare-table").set_class(not comparing, "-hidden")
        if comparing:
            self._show_comparison(snapshot)
            return
        if snapshot.trend is None and not snapshot.trend_refused:
            return
        rows, bucket, mono = list(snapshot.trend or ()), snapshot.trend_bucket, self.app.no_color
        self.query_one("#trends-info", TextLine).show(_info(snapshot, len(rows)))
        message = "a trend this long is not shown" if snapshot.trend_refused else ""
        self.query_one("#trend-plot", PlotView).plot(
            lambda w, h: empty_chart(w, h, message) if message
            else trendbars.trend_chart(rows, bucket, w, h, mono=mono),
            key=(bucket, message, tuple(_drawn(r) for r in rows)))
        self.query_one("#trend-legend", TextLine).show(trendbars.legend(mono))
        self.query_one("#trend-table", LiveTable).set_rows(
            [(f"b:{r.get('start')}", trend_cells(r, bucket)) for r in reversed(rows)])


    def _show_comparison(self, snapshot: Snapshot) -> None:
        one = snapshot.comparison["all"]  # the view's group's, when it has one (engine)
        self.query_one("#trends-info", TextLine).show(
            headline(one, snapshot.view.compare, snapshot.view.group))
        self.query_one("#compare-table", LiveTable).set_rows(compare_rows(one))


def _drawn(row: dict) -> tuple:
    """What the chart draws of a row."""
    return row.get("start"), row.get("finished"), row.get("errors")


def _info(snapshot: Snapshot, n: int) -> Text:
    view, bucket = snapshot.view, snapshot.trend_bucket
    other = "day" if bucket == "hour" else "hour"
    why = "chosen" if view.trend_bucket else f"for window {view.window}"
    line = Text(f"by {bucket} ({why}; h: by {other}; c: compare) · ", no_wrap=False)
    if snapshot.trend_refused:
        line.append(fmt.clean(snapshot.trend_refused), style="yellow")
        return line
    line.append(f"{n:,} {bucket}{'' if n == 1 else 's'}, newest first")
    return line
