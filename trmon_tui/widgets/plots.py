"""plotext 5.x rendering of the statistics pane's histogram.

plotext keeps one global figure: call this only from the main (UI) thread.  It returns rich Text
built from plotext's ANSI output.  (The time-and-motion chart is drawn by barchart.py.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.text import Text

from trmon_tui.widgets.barchart import empty_chart
from trmon_tui.widgets.ticks import decimals, round_steps_from


def histogram(samples: Any, width: int, height: int, *, label: str = "",
              mono: bool = False) -> Text:
    """Histogram of durations (seconds, or minutes when they are long)."""
    if width < 20 or height < 5:
        return Text("")
    data = np.asarray(samples if samples is not None else [], dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return empty_chart(width, height, f"no {label} samples yet")
    import plotext as plt  # here: its import is a tenth of the monitor's start-up

    unit, scale = ("min", 60.0) if data.max() >= 600 else ("s", 1.0)
    data = data / scale
    plt.clf()
    plt.limitsize(False, False)
    plt.plotsize(width, height)
    plt.theme("clear")
    low, high = float(data.min()), float(data.max())
    if low == high:  # one distinct value: a bar in the middle of a range around it
        low, high = low - 1.0, high + 1.0
    bins = int(max(5, min(40, width // 3, 2 * np.sqrt(data.size))))  # few samples: few bins
    # The bars plotext's hist() draws, binned by numpy: plotext bins in pure Python, 0.3 s for
    # the 700,000 samples of a million testruns.
    x, y = _bins(data, low, high, bins)
    plt.bar(x, y, color=None if mono else "green+", marker="█", reset_ticks=False)
    # Round ticks (35, 40, 45 ... rather than plotext's 35.4, 151.6 ...) on both axes.
    xticks = round_steps(low, high, max_ticks=max(2, width // 10))
    plt.xticks(xticks, [_label(v, xticks) for v in xticks])
    yticks = round_steps(0.0, float(max(y)), max_ticks=max(2, (height - 4) // 2), whole=True)
    plt.yticks(yticks, [f"{v:,.0f}" for v in yticks])
    plt.xlabel(f"{label} / {unit}   (n = {data.size:,})")
    return Text.from_ansi(plt.build(), no_wrap=True)


def round_steps(low: float, high: float, *, max_ticks: int, whole: bool = False) -> list[float]:
    """The multiples between ``low`` and ``high`` of the smallest step of 1, 2 or 5 times a
    power of ten (whole numbers only if ``whole``) that gives 2 to ``max_ticks`` of them; when
    every such step gives too many or one, the first and last multiple of the last step that
    gave two or more."""
    span = max(high - low, 1e-9)
    ends = [low, high]
    for step in round_steps_from(span / max(max_ticks, 2)):
        if whole and step < 1:
            continue
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        if last - first + 1 < 2:
            break
        ends = [round(first * step, 9), round(last * step, 9)]
        if last - first + 1 <= max_ticks:
            return [round(j * step, 9) for j in range(first, last + 1)]
    return ends


def _label(value: float, ticks: list[float]) -> str:
    """A tick label with as many decimals as the ticks' step needs."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return f"{value:,.{decimals(step)}f}"


def _bins(data: np.ndarray, low: float, high: float,
          bins: int) -> tuple[list[float], list[int]]:
    """plotext's hist_data (bin lower edges, counts) over [low, high], vectorised."""
    index = ((data - low) / (high - low) * bins).astype(np.int64)
    index[data == high] = bins - 1
    step = (high - low) / (bins - 1)
    return [low + i * step for i in range(bins)], np.bincount(index, minlength=bins).tolist()
