"""Incidents of the demo farm (the knobs are in demo.farm): failing and flaky worker hosts, group
outages, bad and slow days.  Hangs are per testrun and drawn in demo.model.

A day's plan (its error and test-time factors, the failing-host episodes and outages starting
that day)
is drawn from the seed and the UTC day alone, with a random stream of its own, never from the
model's running generator: a day has the same incidents whether the farm is generated at once,
block by block or live window by window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo import farm

DAY = 24 * farm.HOUR
_FIXED, _DAYS = 0, 1
"""Random streams: choices made once per farm, and one stream per UTC day."""


@dataclass(frozen=True)
class Host:
    """A worker host: its group (index) and the group's devices attached to it."""

    group: int
    name: str
    devices: tuple[int, ...]


@dataclass(frozen=True)
class Episode:
    """A worker host failing every flash from `start` to `end` (farm seconds)."""

    host: Host
    start: float
    end: float


@dataclass(frozen=True)
class Outage:
    """Every worker host of group `group` (index) down from `start` to `end` (farm seconds)."""

    group: int
    start: float
    end: float


@dataclass(frozen=True)
class DayPlan:
    """What is special about one UTC day."""

    errors: float
    """Factor on every group's error rate (above 1 on a bad day)."""
    test: float
    """Factor on test durations (above 1 on a slow day)."""
    episodes: tuple[Episode, ...]
    """Failing-host episodes starting that day."""
    outages: tuple[Outage, ...] = ()
    """Group outages starting that day."""


class Incidents:
    """The incidents of one farm, fixed by its seed (a random one without)."""

    def __init__(self, seed: int | None, groups: tuple[farm.Group, ...]) -> None:
        self._entropy = np.random.SeedSequence(seed).entropy
        self._devices = [g.devices for g in groups]
        self._names = [g.name for g in groups]
        self.hosts: list[Host] = []
        for gi, group in enumerate(groups):
            names = [group.host(d)[0] for d in range(group.devices)]
            for name in dict.fromkeys(names):
                devices = tuple(d for d, n in enumerate(names) if n == name)
                self.hosts.append(Host(gi, name, devices))
        self.flaky = self._choose_flaky(len(groups))
        self._days: dict[int, DayPlan] = {}
        self._failing: dict[tuple[int, int], tuple[tuple[int, float, float], ...]] = {}
        self._extra: list[Episode] = []
        self._outages: dict[tuple[int, int], tuple[tuple[float, float], ...]] = {}
        self._extra_outages: list[Outage] = []

    def _choose_flaky(self, groups: int) -> frozenset[str]:
        """Names of the flaky hosts: each in another group with enough hosts to stand out."""
        per_group = np.bincount([h.group for h in self.hosts], minlength=groups)
        candidates = np.flatnonzero(per_group >= farm.FLAKY_MIN_HOSTS)
        rng = self._rng(_FIXED, 0)
        chosen = rng.choice(candidates, min(farm.FLAKY_HOSTS, len(candidates)), replace=False)
        names = set()
        for group in chosen.tolist():
            hosts = [h for h in self.hosts if h.group == group]
            names.add(hosts[int(rng.integers(len(hosts)))].name)
        return frozenset(names)

    def _rng(self, stream: int, key: int) -> np.random.Generator:
        return np.random.default_rng([self._entropy, stream, key])

    def day(self, day: int) -> DayPlan:
        """The plan of UTC day `day` (days since the epoch)."""
        plan = self._days.get(day)
        if plan is None:
            plan = self._days[day] = self._draw_day(day)
        return plan

    def _draw_day(self, day: int) -> DayPlan:
        rng = self._rng(_DAYS, day)
        bad, bad_factor, slow, slow_factor = rng.random(4)
        lo, hi = farm.BAD_DAY_ERRORS
        errors = lo + bad_factor * (hi - lo) if bad < farm.BAD_DAY_SHARE else 1.0
        lo, hi = farm.SLOW_DAY_TEST
        test = lo + slow_factor * (hi - lo) if slow < farm.SLOW_DAY_SHARE else 1.0
        n = rng.poisson(farm.FAILING_HOST_EPISODES_PER_DAY)
        hosts = rng.integers(len(self.hosts), size=n)
        starts = (day + rng.random(n)) * DAY
        lo, hi = farm.FAILING_HOST_HOURS
        ends = starts + (lo + rng.random(n) * (hi - lo)) * farm.HOUR
        episodes = tuple(Episode(self.hosts[h], s, e)
                         for h, s, e in zip(hosts.tolist(), starts.tolist(), ends.tolist(),
                                            strict=True))
        # Drawn last, so the draws above (and the incidents they make) stay as they were.
        n = rng.poisson(farm.GROUP_OUTAGES_PER_DAY)
        groups = rng.integers(len(self._devices), size=n)
        starts = (day + rng.random(n)) * DAY
        lo, hi = farm.GROUP_OUTAGE_HOURS
        ends = starts + (lo + rng.random(n) * (hi - lo)) * farm.HOUR
        outages = tuple(Outage(g, s, e) for g, s, e in zip(
            groups.tolist(), starts.tolist(), ends.tolist(), strict=True))
        return DayPlan(errors, test, episodes, outages)

    def day_factors(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Error-rate and test-duration factors of the days of these times."""
        days, at = np.unique((np.asarray(times) // DAY).astype(np.int64), return_inverse=True)
        plans = [self.day(d) for d in days.tolist()]
        errors = np.array([p.errors for p in plans])
        test = np.array([p.test for p in plans])
        return errors[at], test[at]

    def episodes(self, first_day: int, last_day: int) -> list[Episode]:
        """Every failing-host episode overlapping UTC days first_day..last_day, by start."""
        longest = int(np.ceil(farm.FAILING_HOST_HOURS[1] * farm.HOUR / DAY))
        lo, hi = first_day * DAY, (last_day + 1) * DAY
        found = [e for d in range(first_day - longest, last_day + 1) for e in self.day(d).episodes]
        return sorted((e for e in found + self._extra if e.start < hi and e.end > lo),
                      key=lambda e: e.start)

    def failing(self, group: int, day: int) -> tuple[tuple[int, float, float], ...]:
        """(device, start, end) of the group's devices whose host fails during UTC day `day`."""
        key = (group, day)
        found = self._failing.get(key)
        if found is None:
            found = self._failing[key] = tuple(
                (d, e.start, e.end) for e in self.episodes(day, day) if e.host.group == group
                for d in e.host.devices)
        return found

    def outages(self, first_day: int, last_day: int) -> list[Outage]:
        """Every group outage overlapping UTC days first_day..last_day, by start."""
        longest = int(np.ceil(farm.GROUP_OUTAGE_HOURS[1] * farm.HOUR / DAY))
        lo, hi = first_day * DAY, (last_day + 1) * DAY
        found = [o for d in range(first_day - longest, last_day + 1) for o in self.day(d).outages]
        return sorted((o for o in found + self._extra_outages if o.start < hi and o.end > lo),
                      key=lambda o: o.start)

    def down(self, group: int, day: int) -> tuple[tuple[float, float], ...]:
        """(start, end) of the group's outages overlapping UTC day `day`."""
        key = (group, day)
        found = self._outages.get(key)
        if found is None:
            found = self._outages[key] = tuple(
                (o.start, o.end) for o in self.outages(day, day) if o.group == group)
        return found

    def flaky_chance(self, group: int) -> list[float]:
        """Per device of the group: the chance that a testrun on it fails (flaky host)."""
        chance = [0.0] * self._devices[group]
        for host in self.hosts:
            if host.group == group and host.name in self.flaky:
                for d in host.devices:
                    chance[d] = farm.FLAKY_FAILURE
        return chance

    def fail_a_host_around(self, at: float) -> None:
        """Add an episode of a (non-flaky) host failing from a while before `at` to a while after
        (farm.FAILING_HOST_AT_END): a history ending at `at` ends with a `bad` host.  The host is
        one of the group with the most devices: it gets the most tasks, so even at night its
        errors follow each other (a failing host of a small group may wait for tasks).  Call it
        before the model generates testruns (its devices look ahead)."""
        busiest = max(range(len(self._devices)), key=lambda g: (self._devices[g], -g))
        candidates = [h for h in self.hosts if h.group == busiest and h.name not in self.flaky]
        host = candidates[int(self._rng(_FIXED, 1).integers(len(candidates)))]
        before, after = farm.FAILING_HOST_AT_END
        self._extra.append(Episode(host, at - before * farm.HOUR, at + after * farm.HOUR))
        self._failing.clear()

    def starve_a_group_around(self, at: float) -> None:
        """Add an outage of farm.STARVING_GROUP_AT_END from a while before `at` to a while after
        (farm.STARVING_AT_END): a history ending at `at` ends with that group starved.  Call it
        before the model generates testruns (its devices look ahead)."""
        group = self._names.index(farm.STARVING_GROUP_AT_END)
        before, after = farm.STARVING_AT_END
        self._extra_outages.append(Outage(group, at - before * farm.HOUR, at + after * farm.HOUR))
        self._outages.clear()
