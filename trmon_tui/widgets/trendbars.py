"""The trends pane's chart, drawn as text: per hour or day bucket a column of finished testruns
with their errors stacked on top, the newest bucket on the right.

As barchart.py: a few runs of one character in one colour per line, so a redraw costs about a
millisecond and few escape sequences; without colour, errors have their own fill character.
"""

from __future__ import annotations

import math
import time

from rich.text import Text

from trmon_tui.widgets.barchart import empty_chart

FILL = "█"
ERROR_FILL_MONO = "▒"
STYLES = ("green", "red")  # finished, errors
MAX_SLOT = 10  # columns per bucket at most (bar and a gap): a few buckets stay bars, not blocks
LABELS = {"hour": "%H:00", "day": "%m-%d"}


def bucket_label(start: float, bucket: str, long: bool = False) -> str:
    """A bucket's start as the chart (short) or the table (``long``) shows it, UTC."""
    if long:
        return time.strftime("%Y-%m-%d" if bucket == "day" else "%m-%d %H:00",
                             time.gmtime(start))
    return time.strftime(LABELS.get(bucket, "%m-%d"), time.gmtime(start))


def trend_chart(rows: list[dict], bucket: str, width: int, height: int, *,
                mono: bool = False) -> Text:
    """Stacked columns of finished and error testruns per bucket (``rows`` oldest first), as
    many of the newest buckets as fit, a count axis on the left and bucket labels below."""
    if width < 20 or height < 4:
        return Text("")
    if not rows:
        return empty_chart(width, height, "no testruns requested in this window")
    top = max(max((r.get("finished") or 0) + (r.get("errors") or 0) for r in rows), 1)
    left = len(f"{top:,}")
    room = width - left - 1  # the axis line
    slot = max(2, min(MAX_SLOT, room // len(rows)))
    rows = rows[-(room // slot):]  # the newest that fit
    high = height - 2  # the axis and its labels below the bars
    levels = [_levels(r, top, high) for r in rows]
    out = Text(no_wrap=True, overflow="crop")
    for y in range(high, 0, -1):
        out.append((f"{top:,}" if y == high else "").rjust(left) + "│")
        for finished, total in levels:
            kind = 0 if y <= finished else 1 if y <= total else None
            cell = " " if kind is None else ERROR_FILL_MONO if kind and mono else FILL
            out.append(cell * (slot - 1), style="" if kind is None or mono else STYLES[kind])
            out.append(" ")
        out.append("\n")
    out.append("0".rjust(left) + "└" + "─" * (slot * len(rows)) + "\n")
    out.append(_labels([r["start"] for r in rows], bucket, left + 1, slot, width))
    return out


def _levels(row: dict, top: int, high: int) -> tuple[int, int]:
    """(rows of finished, rows of finished + errors) of one column: any error gets a cell."""
    finished, errors = row.get("finished") or 0, row.get("errors") or 0
    total = math.ceil((finished + errors) / top * high) if finished + errors else 0
    if errors and finished:
        return min(math.floor(finished / top * high), total - 1), total
    return (total, total) if not errors else (0, total)


def _labels(starts: list[float], bucket: str, offset: int, slot: int, width: int) -> str:
    """Bucket labels under their columns, every few columns counted from the newest."""
    line = [" "] * width
    size = len(bucket_label(starts[0], bucket)) + 1
    every = math.ceil(size / slot)
    for i in range(len(starts) - 1, -1, -every):
        label = bucket_label(starts[i], bucket)
        x = offset + i * slot
        if x + len(label) <= width:
            line[x:x + len(label)] = label
    return "".join(line).rstrip()


def legend(mono: bool = False) -> Text:
    """What the chart's fills mean."""
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(FILL * 2, style="" if mono else STYLES[0])
    out.append(" finished  ")
    out.append((ERROR_FILL_MONO if mono else FILL) * 2, style="" if mono else STYLES[1])
    out.append(" errors (by request, UTC) · run: testrun time · wait: queue wait")
    return out
