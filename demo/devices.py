"""The devices of one group, serving its queue in order, and the host failures that cut a
testrun short on the device it lands on (demo.incidents): which device a testrun gets depends on
every earlier testrun's length, so this is the one step of the model done run by run."""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from demo.incidents import DAY

PLANNED, FAILING_HOST, FLAKY_HOST = range(3)
"""How a testrun went on its device: as planned, cut short by a failing or by a flaky host."""


class DevicePool:
    """The devices of one group: each testrun takes the device that frees up first (FIFO)."""

    def __init__(self, devices: int, flaky: list[float] | None = None) -> None:
        self._free = [(-np.inf, d) for d in range(devices)]  # heap of (free from, device)
        self._flaky = flaky or [0.0] * devices  # per device: chance a testrun fails there
        self._recovered = [True] * devices  # per device: its last task did not fail as flaky

    def serve(self, ready: np.ndarray, service: np.ndarray, failing_service: np.ndarray,
              flaky_service: np.ndarray, luck: np.ndarray,
              failing: Callable[[int], tuple[tuple[int, float, float], ...]],
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start time, device and outcome of each task, in the given (ready-time) order.

        A task takes `service` seconds of its device as planned, `failing_service` when its host
        is failing then (`failing(day)` lists the (device, start, end) failing that UTC day), or
        `flaky_service` when its device is flaky, its `luck` is below the device's chance and
        the device's previous task was not cut short so (the worker power-cycled it since).
        """
        starts, devices, outcomes = [], [], []
        free, flaky, failing_on, recovered = self._free, self._flaky, {}, self._recovered
        for r, s, fs, ks, u in zip(ready.tolist(), service.tolist(), failing_service.tolist(),
                                   flaky_service.tolist(), luck.tolist(), strict=True):
            t, d = free[0]
            if t < r:
                t = r
            day = t // DAY
            bad = failing_on.get(day)
            if bad is None:
                bad = failing_on[day] = failing(int(day))
            outcome = PLANNED
            if bad and any(b == d and lo <= t < hi for b, lo, hi in bad):
                s, outcome = fs, FAILING_HOST
            elif u < flaky[d] and recovered[d]:
                s, outcome = ks, FLAKY_HOST
            recovered[d] = outcome != FLAKY_HOST
            heapq.heapreplace(free, (t + s, d))
            starts.append(t)
            devices.append(d)
            outcomes.append(outcome)
        return (np.array(starts, dtype=float), np.array(devices, dtype=np.int64),
                np.array(outcomes, dtype=np.int8))
