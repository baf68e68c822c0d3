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
LOOK_AHEAD_DAYS = 7
"""Days of failing-host episodes a device looks up at once (few lookups, short lists)."""

Failing = Callable[[int], tuple[tuple[int, float, float], ...]]
"""failing(day): (device, start, end) of the group's devices whose host fails that UTC day."""


class DevicePool:
    """The devices of one group: each testrun takes the device that frees up first (FIFO)."""

    def __init__(self, devices: int, failing: Failing, flaky: list[float]) -> None:
        self._free = [(-np.inf, d) for d in range(devices)]  # heap of (free from, device)
        self._failing_on = failing
        # Per device: its current or next failing episode [lo, hi), and the time before which
        # nothing fails (lo, or the end of the days looked up); its tasks start in time order.
        self._lo, self._hi = [np.inf] * devices, [np.inf] * devices
        self._check = [-np.inf] * devices
        self._flaky = flaky  # per device: chance a testrun fails there
        self._recovered = [True] * devices  # per device: its last task did not fail as flaky

    def serve(self, ready: np.ndarray, service: np.ndarray, failing_service: np.ndarray,
              flaky_service: np.ndarray, luck: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start time, device and outcome of each task, in the given (ready-time) order.

        A task takes `service` seconds of its device as planned, `failing_service` when its host
        is failing then, or `flaky_service` when its device is flaky, its `luck` is below the
        device's chance and the device's previous task was not cut short so (the worker
        power-cycled it since).
        """
        starts, devices, failed, flaked = [], [], [], []
        free, check = self._free, self._check
        flaky, recovered, luck = self._flaky, self._recovered, luck.tolist()
        for i, (r, s) in enumerate(zip(ready.tolist(), service.tolist(), strict=True)):
            t, d = free[0]
            if t < r:
                t = r
            if t >= check[d] and self._failing_at(d, t):
                s = float(failing_service[i])
                failed.append(i)
                recovered[d] = True
            elif flaky[d]:
                if luck[i] < flaky[d] and recovered[d]:
                    s = float(flaky_service[i])
                    flaked.append(i)
                    recovered[d] = False
                else:
                    recovered[d] = True
            heapq.heapreplace(free, (t + s, d))
            starts.append(t)
            devices.append(d)
        outcome = np.full(len(ready), PLANNED, dtype=np.int8)
        outcome[failed], outcome[flaked] = FAILING_HOST, FLAKY_HOST
        return np.array(starts, dtype=float), np.array(devices, dtype=np.int64), outcome

    def _failing_at(self, device: int, t: float) -> bool:
        """Whether the device's host is failing at t (t at or after its last task's start)."""
        if t >= self._hi[device] or self._lo[device] == np.inf:
            self._look_ahead(device, t)  # past its episode, or past the days looked up
        return self._lo[device] <= t

    def _look_ahead(self, device: int, t: float) -> None:
        """Find the device's first failing episode still running at or after t."""
        first = int(t // DAY)
        days = range(first, first + LOOK_AHEAD_DAYS)
        ahead = sorted((lo, hi) for day in days for d, lo, hi in self._failing_on(day)
                       if d == device and hi > t)
        if ahead:
            self._lo[device], self._hi[device] = ahead[0]
            self._check[device] = ahead[0][0]
        else:
            self._lo[device] = self._hi[device] = np.inf
            self._check[device] = (first + LOOK_AHEAD_DAYS) * DAY
