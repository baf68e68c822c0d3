"""When requests arrive: a Poisson process whose rate follows the farm's week (demo.farm).

The rate is piecewise constant per hour of the week.  Its cumulative intensity C(t) is
piecewise linear, so arrival times are unit-rate Poisson points mapped through C^-1: exact,
vectorised, and continuable (the live generator asks for the next window of time).
"""

from __future__ import annotations

import numpy as np

from demo import farm

WEEK = 7 * 24 * farm.HOUR
MONDAY = 4 * 24 * farm.HOUR
"""1970-01-05 00:00 UTC, the first Monday of the epoch: hour 0 of the weekly profile."""


class ArrivalProcess:
    """Requests at `rate` per second on average, shaped by the hourly profile of the week.

    `phase` shifts the week against the calendar (the live demo uses it to start on a busy
    weekday afternoon whatever the real day).
    """

    def __init__(self, rate: float, profile: list[float] | None = None,
                 phase: float = 0.0) -> None:
        weights = np.asarray(profile or farm.hourly_profile(), dtype=float)
        hourly = weights / weights.mean() * rate * farm.HOUR  # expected requests per hour
        self.rate = rate
        self.phase = phase  # seconds added to a time before looking up its hour of the week
        self._t = np.arange(len(hourly) + 1) * farm.HOUR       # seconds into the week
        self._c = np.concatenate([[0.0], np.cumsum(hourly)])   # expected requests so far
        self._per_week = float(self._c[-1])

    def intensity(self, t: np.ndarray | float) -> np.ndarray:
        """Expected number of requests between the epoch's first Monday and time t."""
        weeks, rem = np.divmod(np.asarray(t, dtype=float) + self.phase - MONDAY, WEEK)
        return weeks * self._per_week + np.interp(rem, self._t, self._c)

    def inverse(self, v: np.ndarray) -> np.ndarray:
        """The time at which the cumulative intensity reaches v (inverse of intensity)."""
        weeks, rem = np.divmod(np.asarray(v, dtype=float), self._per_week)
        return MONDAY - self.phase + weeks * WEEK + np.interp(rem, self._c, self._t)

    def last_n(self, n: int, end: float, rng: np.random.Generator) -> np.ndarray:
        """n sorted request times, the last one exactly at `end` (a history up to a moment)."""
        if n <= 0:
            return np.empty(0)
        gaps = rng.exponential(1.0, n - 1)
        back = np.concatenate([np.cumsum(gaps[::-1])[::-1], [0.0]])
        times = self.inverse(self.intensity(end) - back)
        times[-1] = end
        return times

    def between(self, t0: float, t1: float, rng: np.random.Generator) -> np.ndarray:
        """Sorted request times in [t0, t1): the next window of a live farm."""
        c0, c1 = float(self.intensity(t0)), float(self.intensity(t1))
        n = rng.poisson(max(c1 - c0, 0.0))
        times = self.inverse(np.sort(rng.uniform(c0, c1, n)))
        return np.clip(times, t0, np.nextafter(t1, t0))
