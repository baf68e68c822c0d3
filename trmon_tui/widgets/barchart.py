"""The time-and-motion chart, drawn as text: one stacked horizontal bar per testrun.

plotext drew it in 0.3-0.4 s at 120x36 (it fills every bar segment as a polygon, in pure
Python): at one redraw a second that was a third of a core.  Drawn here, a bar is a few runs of
one character in one colour, the whole chart a millisecond, with plotext's look: a frame, a
tick per bar with its label on the left, round ticks on the time axis (0, 10, 20 ... min: see
round_ticks).  A testrun that ended in error has a red label and ERROR_MARK after it, a running
one "*".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.text import Text

from trmon_tui.widgets.format import clean
from trmon_tui.widgets.ticks import decimals, round_steps_from

SEGMENTS = ("init", "queue", "flash", "boot", "test", "publish")
# Fixed colours from the 16-colour palette, so 256-colour terminals and SSH agree.
COLOURS = ("grey70", "bright_blue", "bright_magenta", "bright_cyan", "bright_green",
           "bright_yellow")
FILL = "█"
# Without colour, each segment needs its own fill character.
FILL_MONO = ("·", "░", "▒", "▓", "█", "=")
RUNNING = "▚"
RUNNING_MONO = ">"
ERROR_MARK = "✗"  # one cell wide in every common terminal font (unlike the emoji ones)
CHART_CHROME = 4
"""Rows drawn besides the bars: frame top and bottom, tick labels, axis label."""
MAX_TICKS = 8
LABEL = 12  # characters of a testrun id shown (the last one "…" when cut)
UNITS = (("s", 1.0), ("min", 60.0), ("h", 3600.0))


def empty_chart(width: int, height: int, message: str) -> Text:
    """A chart area saying why there is nothing to draw."""
    pad = "\n" * max(0, height // 2 - 1)
    return Text(pad + message.center(max(width, len(message))), style="dim")


def stacked_chart(segments: dict[str, Any] | None, width: int, height: int, *,
                  mono: bool = False) -> Text:
    """Bars of the newest testruns on top, the x axis in round steps of a unit that suits the
    longest bar; ``*`` after a label and the hatched fill mark the running phase of an ongoing
    testrun, ERROR_MARK (and red) a testrun that ended in error."""
    if width < 20 or height < 5:
        return Text("")
    if not segments or not len(segments.get("testrun_ids", ())):
        return empty_chart(width, height, "no testruns in this window")
    ids = list(segments["testrun_ids"])
    matrix = np.asarray(segments["matrix"], dtype=float).reshape(len(ids), len(SEGMENTS))
    seconds = np.clip(np.nan_to_num(matrix, nan=0.0), 0.0, None)
    running = list(segments.get("running") or [None] * len(ids))
    status = list(segments.get("status") or [None] * len(ids))
    shown = min(len(ids), height - CHART_CHROME)
    labels = [clean(ids[i], LABEL) + _mark(running[i], status[i]) for i in range(shown)]
    left = max(len(label) for label in labels)
    cells = width - left - 2  # the frame's left and right lines
    unit, ticks = round_ticks(float(seconds[:shown].sum(axis=1).max()), cells)
    values = seconds / dict(UNITS)[unit]
    top = ticks[-1]
    out = Text(no_wrap=True, overflow="crop")
    out.append(" " * left + "┌" + "─" * cells + "┐\n")
    for i in range(shown):
        error = status[i] == "error"
        out.append(labels[i].rjust(left), style="bold red" if error and not mono else "")
        out.append("┤")
        out.append_text(_bar(values[i], running[i], cells, top, mono))
        out.append("│\n")
    at = [round(t / top * (cells - 1)) for t in ticks]
    axis = ["─"] * cells
    for x in at:
        axis[x] = "┬"
    out.append(" " * left + "└" + "".join(axis) + "┘\n")
    out.append(_tick_labels(ticks, at, left + 1, width) + "\n")
    out.append(f"Time / {unit}".center(width).rstrip())
    return out


def _mark(running: str | None, status: str | None) -> str:
    """What follows a bar's label: running, ended in error, or nothing."""
    return "*" if running else ERROR_MARK if status == "error" else " "


def round_ticks(top_seconds: float, cells: int) -> tuple[str, list[float]]:
    """(unit, tick values in that unit) for an axis from 0 covering ``top_seconds``: the unit
    suits the span (seconds under 2 min, minutes up to 3 h, then hours), the step is 1, 2 or 5
    times a power of ten, the smallest giving at most MAX_TICKS ticks (so 4 to 8) whose labels
    fit in ``cells`` columns; the last tick is at or beyond the top."""
    top_seconds = max(top_seconds, 1.0)  # bars of zero length still get an axis
    unit = "s" if top_seconds < 120 else "min" if top_seconds <= 3 * 3600 else "h"
    top = top_seconds / dict(UNITS)[unit]
    for step in round_steps_from(top / MAX_TICKS):
        n = math.ceil(top / step - 1e-9)
        label = len(_format(n * step, step))
        if n + 1 <= MAX_TICKS and (n + 1) * (label + 1) <= cells:
            return unit, [round(j * step, 9) for j in range(n + 1)]
    return unit, [0.0, top]  # too narrow for round steps: the ends only


def _format(value: float, step: float) -> str:
    """A tick label with as many decimals as the step needs (0.5 -> 1, 20 -> 0)."""
    return f"{value:.{decimals(step)}f}"


def _bar(values: np.ndarray, running: str | None, cells: int, top: float, mono: bool) -> Text:
    """One testrun's segments over ``cells`` columns (``top`` at the last): each ends where
    its running total does, so the rounding of one segment never shifts the next."""
    ends = np.rint(np.cumsum(values) / top * cells).astype(int).clip(0, cells)
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
    step = values[1] - values[0] if len(values) > 1 else 1.0
    for value, x in zip(values, ticks, strict=True):
        label = _format(value, step)
        start = max(0, min(width - len(label), offset + x - len(label) // 2))
        line[start:start + len(label)] = label
    return "".join(line).rstrip()


def legend(mono: bool = False) -> Text:
    """One line naming each segment in its colour (or fill character without colour), the
    running fill and the error mark (fits 80 columns)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    for p, name in enumerate(SEGMENTS):
        out.append(FILL_MONO[p] * 2 if mono else FILL * 2, style="" if mono else COLOURS[p])
        out.append(f" {name} ")
    out.append(RUNNING_MONO * 2 if mono else RUNNING * 2)
    out.append(" running (*) ")
    out.append(ERROR_MARK, style="" if mono else "bold red")
    out.append(" error")
    return out
