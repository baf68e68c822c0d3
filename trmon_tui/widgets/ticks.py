"""Round axis steps, shared by the histogram (plots.py) and the time-and-motion axis
(barchart.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator


def round_steps_from(least: float) -> Iterator[float]:
    """Steps of 1, 2 or 5 times a power of ten, ascending, from the power of ten at or below
    ``least`` (the span over the most ticks wanted) up to a thousand times it."""
    power = 10.0 ** math.floor(math.log10(least))
    return (m * power * 10 ** k for k in range(4) for m in (1, 2, 5))


def decimals(step: float) -> int:
    """How many decimals a tick label needs at this step (0.5 -> 1, 20 -> 0)."""
    return max(0, -math.floor(math.log10(step) + 1e-9))
