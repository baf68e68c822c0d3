"""The steps of pulled testruns, vectorised: flash and boot iterations, the test, the publish,
hangs, and where each testrun stops (at its error, or after publishing).

`StepModel.plan` draws every step a testrun would take; the device pool (demo.devices) then
decides, run by run, whether a failing or flaky host cuts it short at flash or boot, a host that
cannot boot its configuration at boot, or an outage anywhere, and `StepPlan.finish` keeps each
testrun's steps up to where it stops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo import farm
from demo.devices import CONFIG_FAULT, FLAKY_HOST, HOST_DOWN, PLANNED
from store.schema import CODE

FLASH_START, BOOT_START, TEST_START = CODE["flash_start"], CODE["boot_start"], CODE["test_start"]
ERROR = CODE["error"]
ERR_INIT, ERR_QUEUE, ERR_FLASH, ERR_BOOT, ERR_TEST, ERR_PUBLISH = range(6)
_HANG_KIND = np.array([0, 0, farm.FLASH, farm.BOOT, farm.TEST, 0])
"""Step kind of a hang, by the phase (ERR_*) it hangs in."""


@dataclass
class StepPlan:
    """Every step the pulled testruns would take, and where each would stop as planned."""

    run: np.ndarray         # per step: index of its testrun
    p: np.ndarray           # per step: position within its testrun
    code: np.ndarray        # per step: the event it ends with (store.schema.CODE)
    dur: np.ndarray         # per step: duration, a hang included
    plain: np.ndarray       # per step: duration without a hang (a host failure comes first)
    frac: np.ndarray        # per step: how far into the step an error there comes
    before: np.ndarray      # per step: time from the pull to the step's start
    first: np.ndarray       # per run: index of its first step
    stop: np.ndarray        # per run: its last step as planned (its error, or the publish)
    failing: np.ndarray     # per run: the planned stop is an error
    flash_stop: np.ndarray  # per run: step of its last flash iteration's end
    boot_stop: np.ndarray   # per run: step of its last boot iteration's end
    hang: np.ndarray        # per run: seconds of its hang (0 without one)

    def _end(self, stop: np.ndarray, error: np.ndarray | bool, dur: np.ndarray) -> np.ndarray:
        at = self.first + stop
        return self.before[at] + np.where(error, self.frac[at], 1.0) * dur[at]

    def services(self, flaky_boot: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Device time of each testrun as planned, on a failing host (its last flash fails), on
        a flaky one (its last flash, or with `flaky_boot` its last boot, fails) and on a host
        that cannot boot its configuration (its last boot fails)."""
        planned = self._end(self.stop, self.failing, self.dur)
        at_flash = self._end(self.flash_stop, True, self.plain)
        # A testrun planned to fail at flash fails there first, even on a flaky host.
        at_boot = np.where(self.stop < self.boot_stop, planned,
                           self._end(self.boot_stop, True, self.plain))
        return planned, at_flash, np.where(flaky_boot, at_boot, at_flash), at_boot

    def finish(self, outcome: np.ndarray, flaky_boot: np.ndarray, cut_at: np.ndarray
               ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
        """(run, code, offset from the pull) of the steps kept, and per run whether its host cut
        it short (`cut`) and in which phase (ERR_*).  `cut_at`: device time at which an outage
        cut a HOST_DOWN testrun short (its error replaces the step it was in)."""
        at_boot = ((outcome == FLAKY_HOST) & flaky_boot) | (outcome == CONFIG_FAULT)
        forced_stop = np.where(at_boot, self.boot_stop, self.flash_stop)
        run, p = self.run, self.p
        ends = self.before + self.dur
        down = outcome[run] == HOST_DOWN
        # Where an outage cuts: the first step not ended by then.
        forced_stop = np.where(outcome == HOST_DOWN, np.bincount(
            run[down & (ends < cut_at[run])], minlength=len(outcome)), forced_stop)
        cut = (outcome != PLANNED) & (forced_stop <= self.stop)
        stop = np.where(cut, forced_stop, self.stop)
        error = self.failing | cut
        broken = (p == stop[run]) & error[run]
        last = np.where(broken, np.where(
            down, cut_at[run] - self.before,
            self.frac * np.where(cut[run], self.plain, self.dur)), self.dur)
        keep = p <= stop[run]
        code = np.where(broken, ERROR, self.code)
        phase = np.select([stop <= self.flash_stop, stop <= self.boot_stop,
                           stop <= self.boot_stop + 2], [ERR_FLASH, ERR_BOOT, ERR_TEST],
                          ERR_PUBLISH)
        return (run[keep], code[keep], (self.before + last)[keep]), cut, phase

class StepModel:
    """Step durations of the groups of a farm (demo.farm.STEP_RANGE scaled per group)."""

    def __init__(self, groups: tuple[farm.Group, ...]) -> None:
        self.factors = np.array([g.factors for g in groups])
        self.lo = np.array([r[0] for r in farm.STEP_RANGE])
        self.span = np.array([r[1] - r[0] for r in farm.STEP_RANGE])

    def plan(self, rng: np.random.Generator, g, kf, kb, phase, hang, hang_length, slow
             ) -> StepPlan:
        """The steps of pulled testruns of groups `g` with kf flash and kb boot iterations,
        failing at `phase` (-1: not), hanging in phase `hang` (-1: not) for `hang_length` times
        the phase's p95, their test durations multiplied by `slow`."""
        length = 2 * kf + 2 * kb + 3
        run = np.repeat(np.arange(len(g)), length)
        first = np.cumsum(length) - length
        p = np.arange(len(run)) - first[run]
        pb, pt = p - 2 * kf[run], p - 2 * (kf + kb)[run]
        in_f, in_b = p < 2 * kf[run], (pb >= 0) & (pt < 0)
        code = np.where(in_f, FLASH_START + p % 2, np.where(in_b, BOOT_START + pb % 2,
                                                             TEST_START + pt))
        # Which step kind each step is (its duration range); the first match wins.
        kind = np.select(
            [in_f & (p % 2 == 1), in_f & (p == 0), in_f,
             in_b & (pb % 2 == 1), in_b & (pb == 0), in_b],
            [farm.FLASH, farm.GAP_TO_FLASH, farm.FLASH_RETRY_GAP,
             farm.BOOT, farm.GAP_TO_BOOT, farm.BOOT_RETRY_GAP],
            farm.GAP_TO_TEST + pt)
        plain = ((self.lo[kind] + rng.random(len(run)) * self.span[kind])
                 * self.factors[g[run], kind])
        frac = 0.05 + 0.95 * rng.random(len(run))
        flash_stop, boot_stop = 2 * kf - 1, 2 * (kf + kb) - 1
        slowed = np.flatnonzero(slow != 1.0)
        plain[first[slowed] + boot_stop[slowed] + 2] *= slow[slowed]  # the test step
        # An error replaces the end of the last iteration of the failing phase (or the publish).
        stop = np.select([phase == ERR_FLASH, phase == ERR_BOOT, phase == ERR_TEST],
                         [flash_stop, boot_stop, boot_stop + 2], length - 1)
        failing = phase >= 0
        # A hang stretches the step where that phase's error would be; a hang that is the
        # testrun's error (the watchdog's timeout) ends it at the end of the hang.
        hung = np.flatnonzero(hang >= 0)
        at = first[hung] + np.select([hang[hung] == ERR_FLASH, hang[hung] == ERR_BOOT],
                                     [flash_stop[hung], boot_stop[hung]], boot_stop[hung] + 2)
        kind_p95 = self.lo + 0.95 * self.span
        seconds = np.zeros(len(g))
        seconds[hung] = hang_length[hung] * kind_p95[_HANG_KIND[hang[hung]]] * self.factors[
            g[hung], _HANG_KIND[hang[hung]]]
        dur = plain.copy()
        dur[at] = seconds[hung]
        frac[at[failing[hung]]] = 1.0
        ends = np.cumsum(dur)  # over all runs: each run's own times are relative to its first
        before = ends - dur
        before -= before[first][run]
        return StepPlan(run, p, code, dur, plain, frac, before, first, stop, failing,
                        flash_stop, boot_stop, seconds)
