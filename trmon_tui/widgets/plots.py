"""plotext 5.x rendering of the time-and-motion chart and the histograms.

plotext keeps one global figure: call these functions only from the main (UI) thread.  They return
rich Text built from plotext's ANSI output; labels from the file are cleaned before plotext sees
them so a testrun id cannot smuggle escape sequences into the chart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotext as plt
from rich.text import Text

from trmon_tui.widgets.format import clean

SEGMENTS = ("init", "queue", "flash", "boot", "test", "publish")
# Fixed colours (plotext names, 16-colour palette so 256-colour terminals and SSH agree) and the
# matching rich styles for our own legend.
COLOURS = ("gray+", "blue+", "magenta+", "cyan+", "green+", "orange+")
RICH = ("grey70", "bright_blue", "bright_magenta", "bright_cyan", "bright_green", "bright_yellow")
# Without colour, each segment needs its own fill character.
MARKERS_MONO = ("·", "░", "▒", "▓", "█", "=")
RUNNING_MARK = "▚"
RUNNING_MONO = ">"
CHART_CHROME = 4
"""Rows plotext draws besides the bars: frame top and bottom, tick labels, x label."""


def _empty(width: int, height: int, message: str) -> Text:
    pad = "\n" * max(0, height // 2 - 1)
    return Text(pad + message.center(max(width, len(message))), style="dim")


def stacked_chart(segments: dict[str, Any] | None, width: int, height: int, *,
                  mono: bool = False) -> Text:
    """Horizontal stacked bars, one per testrun (newest on top), x axis in minutes.

    The running phase of an ongoing testrun is drawn with its own fill so it stands out."""
    if width < 20 or height < 5:
        return Text("")
    if not segments or not len(segments.get("testrun_ids", ())):
        return _empty(width, height, "no testruns in this window")
    ids = list(segments["testrun_ids"])
    matrix = np.asarray(segments["matrix"], dtype=float).reshape(len(ids), 6)
    matrix = np.clip(np.nan_to_num(matrix, nan=0.0), 0.0, None) / 60.0
    running = list(segments.get("running") or [None] * len(ids))
    # plotext draws the first label at the bottom: reverse so the newest testrun is on top.
    order = list(range(len(ids)))[::-1]
    labels = [clean(ids[i], 12) + ("*" if running[i] else " ") for i in order]
    series, colours, markers = [], [], []
    for p, name in enumerate(SEGMENTS):
        closed = [0.0 if running[i] == name else matrix[i, p] for i in order]
        opened = [matrix[i, p] if running[i] == name else 0.0 for i in order]
        series += [closed, opened]
        colours += [COLOURS[p], COLOURS[p]]
        markers += [MARKERS_MONO[p] if mono else "█", RUNNING_MONO if mono else RUNNING_MARK]
    if not any(any(s) for s in series):
        series[0] = [1e-9] * len(order)  # plotext cannot scale an all-zero chart
    k = len(order)
    plt.clf()
    # Exactly one text row per bar: plotext maps y linearly onto rows (ends included), so k bars
    # on k rows with ylim(1, k) put each bar on its own row; any other ratio lets bars bleed
    # into their neighbours' rows.  A short page makes a shorter chart.
    plt.limitsize(False, False)  # plotext would clip to the real terminal, not our widget
    plt.plotsize(width, min(height, k + CHART_CHROME))
    plt.theme("clear")
    plt.stacked_bar(labels, series, orientation="h", color=colours, marker=markers, width=0.7)
    plt.ylim(*((0.5, 1.5) if k == 1 else (1, k)))
    plt.xlabel("Time / min")
    return Text.from_ansi(plt.build(), no_wrap=True)


def legend(mono: bool = False) -> Text:
    """One line naming each segment in its fixed colour (or fill character without colour)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    for p, name in enumerate(SEGMENTS):
        mark = MARKERS_MONO[p] * 2 if mono else "██"
        out.append(mark, style="" if mono else RICH[p])
        out.append(f" {name}  ")
    out.append(RUNNING_MONO * 2 if mono else RUNNING_MARK * 2)
    out.append(" running (*)")
    return out


def histogram(samples: Any, width: int, height: int, *, label: str = "",
              mono: bool = False) -> Text:
    """Histogram of durations (seconds, or minutes when they are long)."""
    if width < 20 or height < 5:
        return Text("")
    data = np.asarray(samples if samples is not None else [], dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return _empty(width, height, f"no {label} samples yet")
    unit, scale = ("min", 60.0) if data.max() >= 600 else ("s", 1.0)
    data = data / scale
    plt.clf()
    plt.limitsize(False, False)
    plt.plotsize(width, height)
    plt.theme("clear")
    if float(data.min()) == float(data.max()):
        data = np.append(data, data[0] + 1e-6)  # one distinct value: give plotext a range
    bins = int(max(5, min(40, width // 3, 2 * np.sqrt(data.size))))  # few samples: few bins
    plt.hist(data.tolist(), bins=bins,
             color=None if mono else "green+", marker="█")
    plt.xlabel(f"{label} / {unit}   (n = {data.size:,})")
    return Text.from_ansi(plt.build(), no_wrap=True)
