"""plotext 5.x rendering of the statistics pane's histogram.

plotext keeps one global figure: call this only from the main (UI) thread.  It returns rich Text
built from plotext's ANSI output.  (The time-and-motion chart is drawn by barchart.py.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.text import Text

from trmon_tui.widgets.barchart import empty_chart


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
    if float(data.min()) == float(data.max()):
        data = np.append(data, data[0] + 1e-6)  # one distinct value: give plotext a range
    bins = int(max(5, min(40, width // 3, 2 * np.sqrt(data.size))))  # few samples: few bins
    # The bars plotext's hist() draws, binned by numpy: plotext bins in pure Python, 0.3 s for
    # the 700,000 samples of a million testruns.
    x, y = _bins(data, bins)
    plt.bar(x, y, color=None if mono else "green+", marker="█", reset_ticks=False)
    plt.xlabel(f"{label} / {unit}   (n = {data.size:,})")
    return Text.from_ansi(plt.build(), no_wrap=True)


def _bins(data: np.ndarray, bins: int) -> tuple[list[float], list[int]]:
    """plotext's hist_data (bin lower edges, counts), vectorised."""
    low, high = float(data.min()), float(data.max())
    index = ((data - low) / (high - low) * bins).astype(np.int64)
    index[data == high] = bins - 1
    step = (high - low) / (bins - 1)
    return [low + i * step for i in range(bins)], np.bincount(index, minlength=bins).tolist()
