"""Overview pane: one row per device group, the requestors ranked, event counts."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.events import Resize

from trmon_tui.model import Snapshot
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.pane import Pane
from trmon_tui.widgets.textline import TextLine

# Fits 80 columns ("done" = finished, "err" = errors, "oldest" = the longest wait of a queued
# testrun, "hosts" = busy / total hosts of the group's testruns ("✗" before it when the group is
# starved), "overdue" = live testruns in a phase for longer than its p95 (the testruns pane marks
# them); a group's total of testruns is the sum of the first four (and the status bar counts
# them all).  When the table would not fit its width otherwise (a large file at 80 columns),
# counts of five digits and more are shown in thousands ("89k", "876k") and the row of all
# groups is called "all": the last column stays on screen.
GROUP_COLUMNS = ("group", "queued", "ongoing", "done", "err", "err %", "median", "oldest",
                 "hosts", "overdue")
STARVED = "✗"  # a single-cell mark, as the hosts pane's bad host: survives NO_COLOR


def _median(summary: dict) -> float | None:
    return ((summary.get("durations") or {}).get("testrun") or {}).get("p50")


def _oldest(summary: dict) -> float | None:
    value = summary.get("oldest_queued_wait")
    return value.get("wait") if isinstance(value, dict) else value


def group_cells(name: str, s: dict, style: str = "", loading: bool = False,
                compact: bool = False) -> list[Text]:
    """The overview row of one SUMMARY (``compact``: large counts in thousands, fmt.count).

    While history is still loading, a testrun whose queue_end is not read yet looks queued
    since its request, months ago: the oldest wait and the overdue count are only shown once
    the file is read."""
    oldest = fmt.right("loading", "dim") if loading else fmt.right(fmt.duration(_oldest(s)))
    late = len(s.get("overdue") or ())
    overdue = fmt.right("loading", "dim") if loading else \
        fmt.right(f"{late:,}", "bold red" if late else "")
    return [
        fmt.text(name, style, limit=24),
        fmt.count(s.get("queued"), compact), fmt.count(s.get("ongoing"), compact),
        fmt.count(s.get("finished"), compact), fmt.count(s.get("errors"), compact),
        fmt.percent(s.get("error_pct")), fmt.right(fmt.duration(_median(s))), oldest,
        hosts_cell(s, loading), overdue,
    ]


def hosts_cell(s: dict, loading: bool = False) -> Text:
    """'busy/total' hosts of a SUMMARY, '✗0/4' in red when the group is starved (work waits
    and none of it runs; not judged while history loads, as the oldest wait).  The row of all
    groups (the SUMMARY with "starved_groups") is not marked: it is starved when any group is,
    the line under the table names those, and its wider cell would push the table past 80
    columns."""
    total, busy = s.get("hosts_total"), s.get("hosts_busy")
    figures = "–" if total is None else f"{busy or 0:,}/{total:,}"
    if s.get("starved") and not loading and "starved_groups" not in s:
        return fmt.right(f"{STARVED}{figures}", "bold red")
    return fmt.right(figures)


class OverviewPane(Pane):
    """Per device group totals and the busiest requestors."""

    tab = "overview"

    def compose(self) -> ComposeResult:
        yield LiveTable(*GROUP_COLUMNS, zebra=True, id="groups")
        yield TextLine(id="overview-events", classes="info")
        yield LiveTable("requestor", "requests", "errors", id="requestors")

    def on_resize(self, event: Resize) -> None:
        if self.snapshot is not None:  # the counts' form follows the width (group_rows)
            self.render_snapshot(self.snapshot)

    def render_snapshot(self, snapshot: Snapshot) -> None:
        summary = snapshot.summary
        if summary is None:
            return
        loading = snapshot.file.loading
        everything = summary.get("all") or {}
        table = self.query_one("#groups", LiveTable)

        def group_rows(compact: bool) -> list:
            rows = [(f"g:{name}", group_cells(name, s, loading=loading, compact=compact))
                    for name, s in sorted((summary.get("groups") or {}).items())]
            rows.append(("*all*", group_cells("all" if compact else "all groups", everything,
                                              "bold", loading, compact)))
            return rows

        rows = group_rows(False)
        room = self.scrollable_content_region.width or self.app.size.width
        if table.width_of(rows) > room:
            rows = group_rows(True)
        table.set_rows(rows)
        reqs = [(f"r:{i}", [fmt.text(r.get("requestor"), limit=40), fmt.number(r.get("requests")),
                            fmt.number(r.get("errors"))])
                for i, r in enumerate(everything.get("requestors") or [])]
        self.query_one("#requestors", LiveTable).set_rows(reqs)
        self.query_one("#overview-events", TextLine).show(
            _counts_line(everything, [] if loading else starved_names(summary)))


def starved_names(summary: dict) -> list[str]:
    """The starved device groups of a summary (of all groups, or the one narrowed to)."""
    everything = summary.get("all") or {}
    if "starved_groups" in everything:
        return list(everything["starved_groups"])
    return [name for name, s in (summary.get("groups") or {}).items() if s.get("starved")]


def _counts_line(summary: dict, starved: list[str]) -> Text:
    """The starved groups named (if any), events by name, and anomalies if any, each on
    one wrapped line."""
    line = Text()
    if starved:
        line.append(f"{STARVED} starved: ", style="bold red")
        line.append(", ".join(fmt.clean(name, 24) for name in starved), style="bold red")
        line.append(" (testruns wait over 10 min, none runs)\n")
    line.append("events ", style="bold")
    counts = summary.get("event_counts") or {}
    line.append_text(Text("  ".join(f"{fmt.clean(k, 20)} {v:,}" for k, v in counts.items())
                          or "none yet"))
    anomalies = summary.get("anomalies")
    if isinstance(anomalies, dict) and any(anomalies.values()):
        line.append("\nanomalies ", style="bold yellow")
        line.append("  ".join(f"{fmt.clean(k, 30)} {v:,}" for k, v in anomalies.items() if v))
    return line
