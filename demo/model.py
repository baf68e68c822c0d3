"""The farm model: turns request times into every event of those testruns, vectorised.

A testrun is requested, posted on its group's queue, pulled by a worker when one of the group's
devices is free (so queues form when requests outpace devices and drain later), flashed and
booted (with retries), tested and published, or it fails somewhere with an error.  Now and then
a phase hangs, a worker host fails every flash for hours, a flaky host fails more often than the
others, all hosts of a group go down for hours (it starves), a day has a broken or a slow build
(demo.incidents); a host cannot boot one configuration, and one configuration is a broken image
on every host (demo.farm.CONFIG_FAULTS).  All random draws come from one
numpy Generator in a fixed order, and the incidents from the seed and the day, so a seed fixes
the result.

`FarmModel.runs(request_times)` returns a RunBlock; the model keeps the devices' state and the
id counters between calls, so the live generator can ask for one window of time after another.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np

from demo import farm
from demo.arrivals import ArrivalProcess
from demo.devices import CONFIG_FAULT, FAILING_HOST, HOST_DOWN, DevicePool, Tasks
from demo.incidents import Incidents
from demo.steps import ERR_FLASH, ERR_INIT, ERR_QUEUE, ERR_TEST, ERROR, StepModel, StepPlan
from store.schema import CODE

REQUEST, QUEUE_START, QUEUE_END = CODE["request"], CODE["queue_start"], CODE["queue_end"]
MAX_FLASH, MAX_BOOT = 4, 3
ORDINARY, FAILED_HOST, HUNG, FAULT, DOWN = range(5)
"""Why a testrun failed, for its message: the group's error rate, a failing host, a hang, a
configuration its host cannot boot, its group's outage."""
_CAUSE = np.full(5, ORDINARY)
_CAUSE[[FAILING_HOST, CONFIG_FAULT, HOST_DOWN]] = FAILED_HOST, FAULT, DOWN
"""The cause of an error, indexed by the device pool's outcome (a flaky host's: ORDINARY)."""


@dataclass
class RunBlock:
    """Testruns and their events; event arrays are in testrun order, not yet sorted by time."""

    testrun_id: np.ndarray     # str, per run
    group: np.ndarray          # int index into the model's groups, per run
    queue: np.ndarray          # int index into farm.QUEUES
    configuration: np.ndarray  # str
    requestor: np.ndarray      # int index into farm.REQUESTORS
    hosts: np.ndarray          # str JSON '[["host", n]]', "" when never pulled
    request_id: np.ndarray     # str
    error: np.ndarray          # str "Type: message", "" when the run did not fail
    run: np.ndarray            # int, per event: index of its run in this block
    code: np.ndarray           # int8 event code (store.schema.CODE)
    emit: np.ndarray           # float seconds
    received: np.ndarray       # float seconds

    @property
    def n_runs(self) -> int:
        return len(self.testrun_id)

    def take(self, events: np.ndarray) -> RunBlock:
        """The events at these indices (in that order), with only the runs they belong to."""
        runs, run = np.unique(self.run[events], return_inverse=True)
        per_run = {k: getattr(self, k)[runs] for k in _RUN_FIELDS}
        return RunBlock(run=run, **per_run,
                        **{k: getattr(self, k)[events] for k in ("code", "emit", "received")})

    @staticmethod
    def concat(a: RunBlock, b: RunBlock) -> RunBlock:
        """a's runs and events, then b's (b's run indices shifted past a's)."""
        per_run = {k: np.concatenate([getattr(a, k), getattr(b, k)]) for k in _RUN_FIELDS}
        per_event = {k: np.concatenate([getattr(a, k), getattr(b, k)])
                     for k in ("code", "emit", "received")}
        return RunBlock(run=np.concatenate([a.run, b.run + a.n_runs]), **per_run, **per_event)


_RUN_FIELDS = ("testrun_id", "group", "queue", "configuration", "requestor", "hosts",
               "request_id", "error")


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float], n: int) -> np.ndarray:
    lo, hi = lo_hi
    return lo + rng.random(n) * (hi - lo)


def _zfill_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    if len(numbers) == 0:  # np.strings.zfill cannot size an empty result (numpy 2.4)
        return np.empty(0, dtype=f"<U{len(prefix) + width}")
    return np.strings.add(prefix, np.strings.zfill(numbers.astype(str), width))


class FarmModel:
    """Stateful generator of testruns for a farm of device groups (demo.farm.GROUPS)."""

    def __init__(self, seed: int | None, groups: tuple[farm.Group, ...] = farm.GROUPS,
                 phase: float = 0.0) -> None:
        """`phase` (seconds) shifts the farm's week against the calendar (see ArrivalProcess)."""
        self.rng = np.random.default_rng(seed)
        self.groups = groups
        self.incidents = Incidents(seed, groups)
        self.steps = StepModel(groups)
        self._next_run = 1
        self._next_request = 100_000
        self._hang_at: float | None = None
        self._tables()
        self.pools = [DevicePool(g.devices, functools.partial(self.incidents.failing, gi),
                                 self.incidents.flaky_chance(gi), self._faults(gi),
                                 functools.partial(self.incidents.down, gi))
                      for gi, g in enumerate(groups)]
        # Share of requests per group in proportion to its capacity, and the overall rate that
        # keeps the farm at TARGET_UTILISATION on average.
        capacity = np.array([g.devices / self._mean_service(g) for g in groups])
        self.group_p = capacity / capacity.sum()
        self.phase = phase
        self.arrivals = ArrivalProcess(farm.TARGET_UTILISATION * capacity.sum(), phase=phase)

    def _tables(self) -> None:
        groups = self.groups
        self.group_names = np.array([g.name for g in groups])
        self.per_group = {key: np.array([getattr(g, key) for g in groups])
                          for key in ("pickup", "error_rate", "flash_retry", "boot_retry")}
        configs = [c for g in groups for c in g.configurations]
        self.config_table = np.array(configs)
        self.config_offset = np.cumsum([0] + [len(g.configurations) for g in groups])[:-1]
        self.config_count = np.array([len(g.configurations) for g in groups])
        hosts = [json.dumps([list(g.host(d))]) for g in groups for d in range(g.devices)]
        self.host_table = np.array(hosts + [""])
        self.host_names = [g.host(d)[0] for g in groups for d in range(g.devices)] + ["?"]
        self.host_offset = np.cumsum([0] + [g.devices for g in groups])[:-1]
        lagging = [(d * 7 + gi * 3) % 10 == 0 for gi, g in enumerate(groups)
                   for d in range(g.devices)]
        self.lag_p = np.where(lagging, farm.LAG_PROBABILITY[1], farm.LAG_PROBABILITY[0])
        weights = 1.0 / np.arange(1, len(farm.REQUESTORS) + 1) ** farm.REQUESTOR_ZIPF
        self.requestor_p = weights / weights.sum()

    def _faults(self, gi: int) -> list[dict[int, float]]:
        """Per device of group gi: {configuration index: chance its host fails it at boot}."""
        group = self.groups[gi]
        out: list[dict[int, float]] = []
        for d in range(group.devices):
            host = group.host(d)[0]
            out.append({int(self.config_offset[gi]) + group.configurations.index(f.configuration):
                        f.chance for f in farm.CONFIG_FAULTS
                        if f.configuration in group.configurations
                        and (f.hosts is None or host in f.hosts)})
        return out

    @staticmethod
    def _mean_service(g: farm.Group) -> float:
        """Expected device time of a testrun of group g (seconds), for sizing the load."""
        mid = [(lo + hi) / 2 * f for (lo, hi), f in zip(farm.STEP_RANGE, g.factors, strict=True)]
        flashes, boots = 1 / (1 - g.flash_retry), 1 / (1 - g.boot_retry)
        steps = (mid[farm.GAP_TO_FLASH] + flashes * mid[farm.FLASH]
                 + (flashes - 1) * mid[farm.FLASH_RETRY_GAP] + mid[farm.GAP_TO_BOOT]
                 + boots * mid[farm.BOOT] + (boots - 1) * mid[farm.BOOT_RETRY_GAP]
                 + mid[farm.GAP_TO_TEST] + mid[farm.TEST] + mid[farm.PUBLISH])
        return steps + FarmModel._incident_time(g, mid)

    @staticmethod
    def _incident_time(g: farm.Group, mid: list[float]) -> float:
        """Expected device time that hangs and slow days add to a testrun of group g: they
        hold devices longer, and the load sizing counts them."""
        kinds = (farm.FLASH, farm.BOOT, farm.TEST)
        length = sum(farm.HANG_LENGTH) / 2
        extra = [length * (lo + 0.95 * (hi - lo)) * g.factors[k] - mid[k]
                 for k, (lo, hi) in ((k, farm.STEP_RANGE[k]) for k in kinds)]
        errors = farm.ERROR_PHASE_WEIGHTS[2:5]  # flash, boot, test
        hangs = (farm.HANG_SHARE * (1 - g.error_rate) * np.dot(farm.HANG_PHASE_WEIGHTS, extra)
                 + farm.HANG_TIMEOUT_SHARE * g.error_rate * np.dot(errors, extra))
        slow = farm.SLOW_DAY_SHARE * (sum(farm.SLOW_DAY_TEST) / 2 - 1) * mid[farm.TEST]
        return float(hangs) + slow

    def runs(self, request_times: np.ndarray) -> RunBlock:
        """Every event of the testruns requested at these (sorted) times."""
        rng, m = self.rng, len(request_times)
        req = np.asarray(request_times, dtype=float)
        g = rng.choice(len(self.groups), m, p=self.group_p)
        attrs, config = self._attributes(req, g)
        init = _uniform(rng, farm.INIT_RANGE, m)
        pickup = _uniform(rng, farm.PICKUP_RANGE, m) * self.per_group["pickup"][g]
        errors, slow = self.incidents.day_factors(req)  # a bad day, a slow day
        failed = rng.random(m) < self.per_group["error_rate"][g] * errors
        phase = np.where(failed, rng.choice(6, m, p=farm.ERROR_PHASE_WEIGHTS), -1)
        # Iterations: 1 + retries, each retry with the group's probability, capped.
        kf = np.minimum(rng.geometric(1 - self.per_group["flash_retry"][g]), MAX_FLASH)
        kb = np.minimum(rng.geometric(1 - self.per_group["boot_retry"][g]), MAX_BOOT)
        hang, hang_length = self._hangs(phase, req, g)
        pulled = np.flatnonzero((phase < 0) | (phase >= ERR_FLASH))
        plan = self.steps.plan(rng, g[pulled], kf[pulled], kb[pulled], phase[pulled],
                               hang[pulled], hang_length[pulled], slow[pulled])
        start, device, steps, cause, hang_seconds = self._on_devices(
            req + init + pickup, g, config, phase, pulled, plan)
        events = self._events(req, init, phase, pulled, start, steps)
        hosts = np.full(m, len(self.host_table) - 1)
        hosts[pulled] = self.host_offset[g[pulled]] + device
        emit, received = self._times(events, hosts)
        attrs["hosts"] = self.host_table[hosts]
        attrs["error"] = self._messages(phase, g, config, hosts, cause, hang_seconds)
        self._next_run += m
        return RunBlock(group=g, run=events[0], code=events[1], emit=emit, received=received,
                        **attrs)

    def _attributes(self, req: np.ndarray, g: np.ndarray
                    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The runs' attributes, and the index of each one's configuration in config_table."""
        rng, m = self.rng, len(req)
        hour = ((req + self.phase) // farm.HOUR) % 24
        night = (hour < 6)[:, None]
        cum = np.where(night, np.cumsum(farm.QUEUE_WEIGHTS_NIGHT), np.cumsum(
            farm.QUEUE_WEIGHTS_DAY))
        queue = np.minimum((rng.random(m)[:, None] > cum).sum(axis=1), len(farm.QUEUES) - 1)
        config = self.config_offset[g] + (rng.random(m) * self.config_count[g]).astype(int)
        requestor = rng.choice(len(farm.REQUESTORS), m, p=self.requestor_p)
        numbers = self._next_request + np.cumsum(rng.integers(1, 4, m))
        self._next_request = int(numbers[-1]) if m else self._next_request
        return {
            "testrun_id": _zfill_ids("tr-", self._next_run + np.arange(m), 7),
            "queue": queue, "configuration": self.config_table[config],
            "requestor": requestor, "request_id": _zfill_ids("req-", numbers, 8),
        }, config

    def trouble_at(self, at: float) -> None:
        """Make a history ending at `at` end in trouble: a host failing for hours, testruns
        hanging in their test and a group whose hosts are down (farm.FAILING_HOST_AT_END,
        farm.HANGING_AT_END, farm.STARVING_AT_END), so an operator's panes have something at
        once.  Call it before generating the testruns before `at`."""
        self.incidents.fail_a_host_around(at)
        self.incidents.starve_a_group_around(at)
        self._hang_at = at

    def _hangs(self, phase, req, g) -> tuple[np.ndarray, np.ndarray]:
        """Per run: the phase (ERR_*) it hangs in (-1: none), and the hang's length in times
        that phase's p95.  Some errors at flash, boot or test are a hang the watchdog killed;
        some testruns that succeed hang once and complete (and those of trouble_at)."""
        rng, m = self.rng, len(phase)
        timeout = ((phase >= ERR_FLASH) & (phase <= ERR_TEST)
                   & (rng.random(m) < farm.HANG_TIMEOUT_SHARE))
        completes = (phase < 0) & (rng.random(m) < farm.HANG_SHARE)
        where = ERR_FLASH + rng.choice(3, m, p=farm.HANG_PHASE_WEIGHTS)
        hang = np.where(timeout, phase, np.where(completes, where, -1))
        length = _uniform(rng, farm.HANG_LENGTH, m)
        if self._hang_at is not None:
            early, late = (self._hang_at - h * farm.HOUR for h in farm.HANGING_AT_END)
            window = np.flatnonzero((phase < 0) & (req >= early) & (req < late))
            first = window[np.unique(g[window], return_index=True)[1]]
            hang[first], length[first] = ERR_TEST, farm.HANG_LENGTH[1]
        return hang, length

    def _on_devices(self, ready, g, config, phase, pulled, plan: StepPlan):
        """Pull each pulled run (index `pulled`) when ready and a device is free, and run its
        steps there, cut short where its host fails (its `phase` becomes that of the error).
        Returns start and device per pulled run, the steps, and per run the cause of its
        error (for the message) and its hang's seconds."""
        flaky_boot = self.rng.random(len(pulled)) < 0.5  # where a flaky host fails: flash, boot
        luck = self.rng.random(len(pulled))               # whether it does
        fault_luck = self.rng.random(len(pulled))         # whether a config fault fails it
        planned, at_flash, at_flaky, at_boot = plan.services(flaky_boot)
        tasks = Tasks(ready[pulled], planned, at_flash, at_flaky, at_boot, luck, fault_luck,
                      config[pulled])
        start, device, outcome, cut_at = self._queue(tasks, g[pulled])
        steps, cut, cut_phase = plan.finish(outcome, flaky_boot, cut_at)
        phase[pulled[cut]] = cut_phase[cut]
        cause = np.full(len(g), ORDINARY)
        cause[pulled] = np.where(cut, _CAUSE[outcome],
                                 np.where(plan.failing & (plan.hang > 0), HUNG, ORDINARY))
        hang_seconds = np.zeros(len(g))
        hang_seconds[pulled] = plan.hang
        return start, device, steps, cause, hang_seconds

    def _queue(self, tasks: Tasks, g):
        """When each pulled run leaves its group's queue, on which device, whether a failing,
        flaky or down host or a config fault cut it short there (demo.devices outcome), and
        when an outage did."""
        n = len(g)
        start, cut_at = np.empty(n), np.empty(n)
        device = np.empty(n, dtype=np.int64)
        outcome = np.empty(n, dtype=np.int8)
        for gi, pool in enumerate(self.pools):
            idx = np.flatnonzero(g == gi)
            idx = idx[np.argsort(tasks.ready[idx], kind="stable")]
            mine = Tasks(**{k: v[idx] for k, v in vars(tasks).items()})
            start[idx], device[idx], outcome[idx], cut_at[idx] = pool.serve(mine)
        return start, device, outcome, cut_at

    def _events(self, req, init, phase, pulled, start, steps):
        """(run, code, time, lagged) of all events, grouped by run and in time order per run."""
        rng, m = self.rng, len(req)
        all_runs = np.arange(m)
        posted = np.flatnonzero(phase != ERR_INIT)
        early = np.flatnonzero((phase == ERR_INIT) | (phase == ERR_QUEUE))
        early_at = np.where(phase[early] == ERR_INIT,
                            req[early] + init[early] * (0.05 + 0.95 * rng.random(len(early))),
                            req[early] + init[early] + _uniform(
                                rng, (5 * farm.MINUTE, 4 * farm.HOUR), len(early)))
        srun, scode, soffset = steps
        parts = [
            (all_runs, REQUEST, req, False),
            (posted, QUEUE_START, req[posted] + init[posted], False),
            (early, ERROR, early_at, False),
            (pulled, QUEUE_END, start, True),
            (pulled[srun], scode, start[srun] + soffset, True),
        ]
        run = np.concatenate([np.broadcast_to(p[0], len(p[0])) for p in parts])
        code = np.concatenate([np.broadcast_to(p[1], len(p[0])) for p in parts]).astype(np.int8)
        when = np.concatenate([p[2] for p in parts])
        lagged = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
        # Stable sort by run keeps each run's parts in the order above, which is its time order.
        order = np.argsort(run, kind="stable")
        return run[order], code[order], when[order], lagged[order]

    def _times(self, events, hosts):
        """emit (ms) and received: a small jitter, plus a whole-run lag on a lagging worker."""
        rng = self.rng
        run, _, when, lagged = events
        lag_p = np.append(self.lag_p, 0.0)[hosts]
        lag = np.where(rng.random(len(hosts)) < lag_p,
                       np.minimum(rng.exponential(farm.LAG_MEAN, len(hosts)), farm.LAG_MAX), 0.0)
        emit = np.round(when, 3)
        jitter = farm.RECEIVE_JITTER[0] + rng.random(len(run)) * (
            farm.RECEIVE_JITTER[1] - farm.RECEIVE_JITTER[0])
        received = np.round(emit + jitter + np.where(lagged, lag[run], 0.0), 3)
        return emit, received

    def _messages(self, phase, g, config, hosts, cause, hang_seconds):
        """The "Type: message" of each failed run ("" for the others); `config` indexes the
        model's config table, `hosts` its host table."""
        messages = np.full(len(phase), "", dtype=object)
        pick = self.rng.random(len(phase))
        failed = np.flatnonzero(phase >= 0)
        names, groups = self.host_names, self.group_names.tolist()
        configs = self.config_table.tolist()
        texts = []
        for ph, why, c, host, gi, seconds, chance in zip(
                *(a[failed].tolist() for a in (phase, cause, config, hosts, g, hang_seconds,
                                               pick)), strict=True):
            name = farm.ERROR_PHASES[ph]
            if why == HUNG:
                text = farm.HANG_MESSAGES[name]
            else:
                options = (farm.FAILING_HOST_MESSAGES if why == FAILED_HOST
                           else farm.HOST_DOWN_MESSAGES if why == DOWN
                           else self._fault_messages(configs[c], names[host]) if why == FAULT
                           else farm.ERROR_MESSAGES[name])
                text = options[int(chance * len(options))]
            texts.append(text.format(host=names[host], group=groups[gi], seconds=f"{seconds:.0f}"))
        messages[failed] = texts
        return messages.astype(str)

    @staticmethod
    def _fault_messages(configuration: str, host: str) -> tuple[str, ...]:
        """The messages of the config fault that failed this configuration on this host."""
        return next(f.messages for f in farm.CONFIG_FAULTS if f.configuration == configuration
                    and (f.hosts is None or host in f.hosts))
