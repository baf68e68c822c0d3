"""The devices of one group, serving its queue in order, the host failures that cut a testrun
short on the device it lands on, and the group's outages, during which it pulls nothing
(demo.incidents): which device a testrun gets depends on every earlier testrun's length, so this
is the one step of the model done run by run."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from demo.incidents import DAY

PLANNED, FAILING_HOST, FLAKY_HOST, CONFIG_FAULT, HOST_DOWN = range(5)
"""How a testrun went on its device: as planned, cut short by a failing or by a flaky host, by
a configuration its host cannot boot (demo.farm.CONFIG_FAULTS), or by its group's outage."""
LOOK_AHEAD_DAYS = 7
"""Days of failing-host episodes a device looks up at once (few lookups, short lists)."""

Failing = Callable[[int], tuple[tuple[int, float, float], ...]]
"""failing(day): (device, start, end) of the group's devices whose host fails that UTC day."""
Down = Callable[[int], tuple[tuple[float, float], ...]]
"""down(day): (start, end) of the group's outages overlapping that UTC day."""


@dataclass
class Tasks:
    """The testruns a pool serves, in ready-time order (arrays of equal length)."""

    ready: np.ndarray     # when it may be pulled
    service: np.ndarray   # device time as planned
    at_flash: np.ndarray  # device time when its host fails (its last flash fails)
    at_flaky: np.ndarray  # device time when its flaky device fails it (flash or boot)
    at_boot: np.ndarray   # device time when its host cannot boot its configuration
    luck: np.ndarray      # uniform draws: whether a flaky device fails it
    fault_luck: np.ndarray  # uniform draws: whether a configuration fault fails it
    config: np.ndarray    # index of its configuration (the model's config table)


class DevicePool:
    """The devices of one group: each testrun takes the device that frees up first (FIFO)."""

    def __init__(self, devices: int, failing: Failing, flaky: list[float],
                 faults: list[dict[int, float]], down: Down) -> None:
        """`flaky`: per device, the chance a testrun fails there; `faults`: per device,
        {configuration index: chance that a testrun of it fails at boot there}."""
        self._free = [(-np.inf, d) for d in range(devices)]  # heap of (free from, device)
        self._failing_on = failing
        # Per device: its current or next failing episode [lo, hi), and the time before which
        # nothing fails (lo, or the end of the days looked up); its tasks start in time order.
        self._lo, self._hi = [np.inf] * devices, [np.inf] * devices
        self._check = [-np.inf] * devices
        self._flaky = flaky  # per device: chance a testrun fails there
        self._recovered = [True] * devices  # per device: its last task did not fail as flaky
        self._faults = faults
        self._down_on = down
        # The group's outages [lo, hi) (by lo) of the days looked up, which end before
        # `_down_check`; a task pulled later than the one before it may start earlier on
        # another device, so those that ended before every device is free are dropped.
        self._outages: list[tuple[float, float]] = []
        self._down_check = -np.inf

    def serve(self, tasks: Tasks) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Start time, device, outcome and (HOST_DOWN only, else inf) the device time after
        which an outage cut it short, of each task, in the given (ready-time) order.

        A task starts when its device is free, it is ready and the group is not down; it takes
        `service` seconds of its device as planned, `at_flash` when its host is failing then,
        `at_boot` when its `fault_luck` is below its device's chance of failing its
        configuration, or `at_flaky` when its device is flaky, its `luck` is below the device's
        chance and the device's previous task was not cut short so (the worker power-cycled it
        since).  An outage starting before it ends cuts it short there.
        """
        n = len(tasks.ready)
        starts, devices = np.empty(n), np.empty(n, dtype=np.int64)
        outcome, cut_at = np.full(n, PLANNED, dtype=np.int8), np.full(n, np.inf)
        free, check = self._free, self._check
        flaky, recovered, faults = self._flaky, self._recovered, self._faults
        luck, fault_luck = tasks.luck.tolist(), tasks.fault_luck.tolist()
        config = tasks.config.tolist()
        self._outages = [o for o in self._outages if o[1] > free[0][0]]
        for i, (r, s) in enumerate(zip(tasks.ready.tolist(), tasks.service.tolist(),
                                       strict=True)):
            t, d = free[0]
            t = max(t, r)
            down, up = self._outage(t)
            while down <= t:  # the group is down: nothing is pulled before its hosts are back
                t = up
                down, up = self._outage(t)
            how = PLANNED
            if t >= check[d] and self._failing_at(d, t):
                how, s = FAILING_HOST, float(tasks.at_flash[i])
                recovered[d] = True
            elif fault_luck[i] < faults[d].get(config[i], 0.0):
                how, s = CONFIG_FAULT, float(tasks.at_boot[i])
            elif flaky[d]:
                if luck[i] < flaky[d] and recovered[d]:
                    how, s = FLAKY_HOST, float(tasks.at_flaky[i])
                    recovered[d] = False
                else:
                    recovered[d] = True
            if t + s > down:  # its hosts go down while it runs
                how, s = HOST_DOWN, down - t
                cut_at[i] = s
            heapq.heapreplace(free, (t + s, d))
            starts[i], devices[i], outcome[i] = t, d, how
        return starts, devices, outcome, cut_at

    def _outage(self, t: float) -> tuple[float, float]:
        """The group's outage [lo, hi) running at t or next after it ((inf, inf): none)."""
        while t + DAY >= self._down_check:  # a testrun lasts less than a day
            first = int(max(t, self._down_check) // DAY)
            days = range(first, first + LOOK_AHEAD_DAYS)
            self._outages = sorted(set(self._outages).union(
                *(self._down_on(day) for day in days)))
            self._down_check = days[-1] * DAY
        return next((o for o in self._outages if o[1] > t), (np.inf, np.inf))

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
