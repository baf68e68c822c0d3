"""The time-and-motion chart, drawn as text: one stacked horizontal bar per testrun.

plotext drew it in 0.3-0.4 s at 120x36 (it fills every bar segment as a polygon, in pure
Python): at one redraw a second that was a third of a core.  Drawn here, a bar is a few runs of
one character in one colour, the whole chart a millisecond, with plotext's look: a frame, a
tick per bar with its label on the left, five ticks on the time axis (minutes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.text import Text

from trmon_tui.widgets.format import clean

SEGMENTS = ("init", "queue", "flash", "boot", "test", "publish")
# Fixed colours from the 16-colour palette, so 256-colour terminals and SSH agree.
COLOURS = ("grey70", "bright_blue", "bright_magenta", "bright_cyan", "bright_green",
           "bright_yellow")
FILL = "█"
# Without colour, each segment needs its own fill character.
FILL_MONO = ("·", "░", "▒", "▓", "█", "=")
RUNNING = "▚"
RUNNING_MONO = ">"
CHART_CHROME = 4
"""Rows drawn besides the bars: frame top and bottom, tick labels, axis label."""
TICKS = 5
LABEL = 12  # characters of a testrun id shown (the last one "…" when cut)


def empty_chart(width: int, height: int, message: str) -> Text:
    """A chart area saying why there is nothing to draw."""
    pad = "\n" * max(0, height // 2 - 1)
    return Text(pad + message.center(max(width, len(message))), style="dim")


def stacked_chart(segments: dict[str, Any] | None, width: int, height: int, *,
                  mono: bool = False) -> Text:
    """Bars of the newest testruns on top, the x axis in minutes; ``*`` after a label and
    the hatched fill mark the running phase of an ongoing testrun."""
    if width < 20 or height < 5:
        return Text("")
    if not segments or not len(segments.get("testrun_ids", ())):
        return empty_chart(width, height, "no testruns in this window")
    ids = list(segments["testrun_ids"])
    matrix = np.asarray(segments["matrix"], dtype=float).reshape(len(ids), len(SEGMENTS))
    minutes = np.clip(np.nan_to_num(matrix, nan=0.0), 0.0, None) / 60.0
    running = list(segments.get("running") or [None] * len(ids))
    shown = min(len(ids), height - CHART_CHROME)
    labels = [clean(ids[i], LABEL) + ("*" if running[i] else " ") for i in range(shown)]
    left = max(len(label) for label in labels)
    cells = width - left - 2  # the frame's left and right lines
    top = float(minutes[:shown].sum(axis=1).max()) or 1.0
    out = Text(no_wrap=True, overflow="crop")
    out.append(" " * left + "┌" + "─" * cells + "┐\n")
    for i in range(shown):
        out.append(labels[i].rjust(left) + "┤")
        out.append_text(_bar(minutes[i], running[i], cells, top, mono))
        out.append("│\n")
    ticks = [round(j * (cells - 1) / (TICKS - 1)) for j in range(TICKS)]
    axis = ["─"] * cells
    for x in ticks:
        axis[x] = "┬"
    out.append(" " * left + "└" + "".join(axis) + "┘\n")
    out.append(_tick_labels([j * top / (TICKS - 1) for j in range(TICKS)], ticks, left + 1,
                            width) + "\n")
    out.append("Time / min".center(width).rstrip())
    return out


def _bar(minutes: np.ndarray, running: str | None, cells: int, top: float, mono: bool) -> Text:
    """One testrun's segments over ``cells`` columns: each ends where its running total
    does, so the rounding of one segment never shifts the next."""
    ends = np.rint(np.cumsum(minutes) / top * cells).astype(int).clip(0, cells)
    bar, start = Text(), 0
    for p, end in enumerate(ends.tolist()):
        if end > start:
            mark = (RUNNING_MONO if mono else RUNNING) if running == SEGMENTS[p] else \
                (FILL_MONO[p] if mono else FILL)
            bar.append(mark * (end - start), style="" if mono else COLOURS[p])
            start = end
    bar.append(" " * (cells - start))
    return bar


def _tick_labels(values: list[float], ticks: list[int], offset: int, width: int) -> str:
    """Each value centred under its tick (kept inside the line)."""
    line = [" "] * width
    digits = 1 if values[-1] < 100 else 0
    for value, x in zip(values, ticks, strict=True):
        label = f"{value:.{digits}f}"
        start = max(0, min(width - len(label), offset + x - len(label) // 2))
        line[start:start + len(label)] = label
    return "".join(line).rstrip()


def legend(mono: bool = False) -> Text:
    """One line naming each segment in its colour (or fill character without colour)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    for p, name in enumerate(SEGMENTS):
        out.append(FILL_MONO[p] * 2 if mono else FILL * 2, style="" if mono else COLOURS[p])
        out.append(f" {name}  ")
    out.append(RUNNING_MONO * 2 if mono else RUNNING * 2)
    out.append(" running (*)")
    return out
