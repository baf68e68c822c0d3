"""The demo farm: device groups, phase durations, people and builds the generator draws from.

Everything here is a fixed description (no randomness): the seed only drives the draws in
demo.model, so two files made with the same seed come from the same farm.  Durations are in
seconds; the baseline ranges are the original spike's (queue 1-5, flash 10-20, boot 5-10,
test 20-40 minutes), and each device group scales them by its own factors.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE = 60.0
HOUR = 3600.0

# Kinds of step in a testrun's life after a worker pulled it, in the order they happen.  The
# position is the index into STEP_RANGE and Group.factors.
GAP_TO_FLASH, FLASH_RETRY_GAP, FLASH, GAP_TO_BOOT, BOOT_RETRY_GAP, BOOT, GAP_TO_TEST, TEST, \
    PUBLISH = range(9)

# Baseline (low, high) duration of each step kind, drawn uniformly and scaled per group.
STEP_RANGE: tuple[tuple[float, float], ...] = (
    (5.0, 30.0),                     # worker prepares the flasher after pulling the task
    (0.5 * MINUTE, 2 * MINUTE),      # power cycle before flashing again
    (10 * MINUTE, 20 * MINUTE),      # flash (spike: 10-20 min)
    (2.0, 10.0),                     # flash_end -> boot_start
    (0.5 * MINUTE, 2 * MINUTE),      # power cycle before booting again
    (5 * MINUTE, 10 * MINUTE),       # boot (spike: 5-10 min)
    (2.0, 10.0),                     # boot_end -> test_start
    (20 * MINUTE, 40 * MINUTE),      # test (spike: 20-40 min)
    (3 * MINUTE, 7 * MINUTE),        # test_end -> publish (spike: 5 min)
)
INIT_RANGE = (1 * MINUTE, 2 * MINUTE)     # request -> queue_start (spike: 1-2 min)
PICKUP_RANGE = (1 * MINUTE, 5 * MINUTE)   # queue_start -> earliest pull (spike queue: 1-5 min)

# Where a testrun that ends in error fails, and how likely each place is among the errors.
ERROR_PHASES = ("init", "queue", "flash", "boot", "test", "publish")
ERROR_PHASE_WEIGHTS = (0.05, 0.08, 0.30, 0.25, 0.27, 0.05)

# Realistic "Type: message" texts per phase; {host} and {group} are filled in per testrun.
ERROR_MESSAGES: dict[str, tuple[str, ...]] = {
    "init": (
        "ValidationError: image URL returned HTTP 404 Not Found",
        "ConfigurationError: no device group accepts configuration for {group}",
        "ValueError: request has an empty test package list",
    ),
    "queue": (
        "QueueTimeout: task not pulled from the queue within 4 h",
        "CancelledError: testrun cancelled by its requestor",
    ),
    "flash": (
        "FlashError: flasher exited with status 3 on {host}",
        "TimeoutError: flashing did not finish within 1800 s",
        "USBError: [Errno 19] No such device (/dev/ttyUSB0 on {host})",
        "ChecksumError: image checksum mismatch after download",
    ),
    "boot": (
        "BootError: device did not reach the login prompt within 600 s",
        "ConnectionRefusedError: [Errno 111] Connection refused (ssh to device on {host})",
        "PowerControlError: relay did not switch the device off on {host}",
    ),
    "test": (
        "TestExecutionError: testrunner-lite exited with code 2",
        "TimeoutError: test package core-tests exceeded 3600 s",
        "ConnectionResetError: [Errno 104] Connection reset by peer",
        "DeviceLostError: device rebooted during testing on {host}",
    ),
    "publish": (
        "PublishError: results server returned 503 Service Unavailable",
        "OSError: [Errno 28] No space left on device: '/var/lib/ots/results'",
    ),
}


@dataclass(frozen=True)
class Group:
    """One device group: its devices and how its phases differ from the baseline."""

    name: str
    devices: int
    factors: tuple[float, ...]
    """Multiplier of STEP_RANGE per step kind (flash/boot/test speed of this hardware)."""
    pickup: float
    """Multiplier of PICKUP_RANGE (how fast this group's workers poll the queue)."""
    flash_retry: float
    """Probability that a flash iteration fails and is repeated."""
    boot_retry: float
    """Probability that a boot iteration fails and is repeated."""
    error_rate: float
    """Fraction of this group's testruns that end in error."""
    configurations: tuple[str, ...]
    workers_per_host: int = 2

    def host(self, device: int) -> tuple[str, int]:
        """The [worker host, instance] a device is attached to."""
        return (f"{self.name}-worker{device // self.workers_per_host + 1}",
                device % self.workers_per_host + 1)


def _factors(flash: float, boot: float, test: float, publish: float = 1.0) -> tuple[float, ...]:
    return (1.0, 1.0, flash, 1.0, 1.0, boot, 1.0, test, publish)


GROUPS: tuple[Group, ...] = (
    Group("n900", 8, _factors(1.0, 1.0, 1.0), 1.0, 0.12, 0.10, 0.06,
          ("handset-core", "handset-full", "handset-ux")),
    Group("n950", 6, _factors(0.8, 1.2, 1.1), 0.8, 0.08, 0.15, 0.05,
          ("handset-core", "handset-full")),
    Group("aava", 10, _factors(1.3, 0.9, 0.8), 1.2, 0.20, 0.08, 0.09,
          ("handset-core", "handset-full", "handset-dev")),
    Group("netbook", 4, _factors(0.7, 0.8, 1.3), 1.0, 0.05, 0.05, 0.03,
          ("netbook-core", "netbook-full")),
    Group("tablet", 6, _factors(1.1, 1.3, 0.9), 1.5, 0.15, 0.20, 0.11,
          ("tablet-ux", "tablet-core")),
    Group("ivi", 4, _factors(0.9, 1.1, 1.2, 1.2), 0.9, 0.10, 0.12, 0.07,
          ("ivi-base", "ivi-full")),
)

# Build types from the CI's point of view, with their share of requests by day and at night.
QUEUES = ("pr", "nightly", "integration", "release")
QUEUE_WEIGHTS_DAY = (0.62, 0.03, 0.25, 0.10)
QUEUE_WEIGHTS_NIGHT = (0.15, 0.70, 0.10, 0.05)

_FIRST = ("anna", "juha", "mika", "tiina", "pekka", "laura", "sami", "olli", "kirsi", "ville",
          "maria", "tom", "ian", "sara", "lee", "nina", "raj", "chen", "eva", "paul")
_LAST = ("virtanen", "korhonen", "smith", "nieminen", "jones", "makinen", "wang", "lahti",
         "brown", "heikkinen", "kumar", "lindqvist")
REQUESTORS: tuple[str, ...] = tuple(
    f"{_FIRST[i % len(_FIRST)]}.{_LAST[(i * 7) % len(_LAST)]}@testfarm.example.org"
    for i in range(40)
)
REQUESTOR_ZIPF = 1.1
"""Requestor k (0-based) is chosen with weight 1 / (k + 1) ** REQUESTOR_ZIPF."""

TARGET_UTILISATION = 0.55
"""Mean share of device time in use; the daily peaks go above 1, so queues form and drain."""

# Lag of the recorder: every event arrives a little after it was emitted; a run handled by a
# lagging worker arrives late as a whole (its order within the testrun is kept).
RECEIVE_JITTER = (0.02, 0.4)
LAGGING_DEVICE_SHARE = 0.1
LAG_PROBABILITY = (0.004, 0.3)
"""Chance that a run is delayed, on an ordinary and on a lagging device."""
LAG_MEAN = 45.0
LAG_MAX = 600.0

# ---------------------------------------------------------------- incidents (demo.incidents)
# What an operator's Hosts, overdue and Trends panes are for.  Days and failing-host episodes
# are drawn from the seed and the UTC day alone, so they do not depend on how the farm is cut
# into blocks; flaky hosts from the seed alone; hangs per testrun, with its other draws.

FAILING_HOST_EPISODES_PER_DAY = 0.7
"""Mean number of times a day (farm-wide; about 5 a week) that a worker host's flasher breaks:
every testrun it pulls fails at flash until it is repaired.  It fails fast, so while its group
has a queue it pulls task after task and eats the queue (the black hole an operator must spot):
the error streak of DESIGN's `bad` health."""
FAILING_HOST_HOURS = (2.0, 5.0)
"""How long such an episode lasts, uniform (hours); afterwards the host's testruns succeed."""
FAILING_HOST_MESSAGES = (
    "FlashError: flasher exited with status 3 on {host}",
    "USBError: [Errno 19] No such device (/dev/ttyUSB0 on {host})",
    "FlashError: fastboot reported 'FAILED (remote: flash write failure)' on {host}",
)

FAILING_HOST_AT_END = (8.0, 2.0)
"""A generated history ends (and the live demo opens) with a host failing since this many hours
and for this many more: a Hosts pane shows a `bad` host, and the errors it causes, at once."""

HANGING_AT_END = (5.0, 4.0)
"""In each group, the first testrun requested between 5 and 4 hours before the end of a
generated history (or the opening of the live demo) hangs in its test for the longest hang:
the overdue list has some at once, far beyond their p95, for a few more hours."""

FLAKY_HOSTS = 2
"""Worker hosts (fixed by the seed, each in another group) with a bad cable or relay: a raised
error rate at flash and boot without long streaks, DESIGN's `suspect` health."""
FLAKY_FAILURE = 0.45
"""Chance that a testrun on a flaky host's device fails at flash or boot (half each), unless
the testrun before it on that device failed so: the worker power-cycles a device after such a
failure, so a flaky host has no long streaks (about 0.45 / 1.45 = 31% of its testruns fail so)."""
FLAKY_MIN_HOSTS = 4
"""Flaky hosts are chosen in groups of at least this many hosts: `suspect` compares a host with
its group, and in a group of two hosts one host is half of the group's rate."""

BAD_DAY_SHARE = 0.1
"""Share of days with a broken build: every group's error rate is multiplied..."""
BAD_DAY_ERRORS = (2.0, 3.0)
"""...by a factor drawn uniformly from this range, so the trend by day shows an error spike."""
SLOW_DAY_SHARE = 0.07
"""Share of days with a slow build: test durations are multiplied (the queues grow).  Rare
enough that fewer than 5% of test samples run above an ordinary day's range: a group's test p95
stays an ordinary day's, and a hang still stands out against it."""
SLOW_DAY_TEST = (1.4, 1.8)
"""The slow day's factor on test durations, uniform."""

# A hang: one phase (the last flash or boot iteration, or the test) lasts far longer than usual.
HANG_SHARE = 0.04
"""Share of the testruns that would succeed which hang once, then complete."""
HANG_TIMEOUT_SHARE = 0.35
"""Share of the errors at flash, boot or test that are a hang killed by the watchdog: part of
the group's error rate, so hangs do not change it."""
HANG_PHASE_WEIGHTS = (0.25, 0.15, 0.60)
"""Which phase (flash, boot, test) a completing hang is in: mostly the test, the longest, so
that a live demo at speed 60 nearly always has a hang in progress (about 6% of the testruns
hang, for hours of farm time: minutes at speed 60)."""
HANG_LENGTH = (3.0, 10.0)
"""A hang lasts this many times the p95 of the phase's ordinary range for its group (uniform),
so it is overdue (DESIGN: longer than the group's p95) for most of its length."""
HANG_MESSAGES = {
    "flash": "TimeoutError: watchdog killed the flasher on {host} after {seconds} s",
    "boot": "TimeoutError: device on {host} stuck in boot, killed after {seconds} s",
    "test": "TimeoutError: testrunner-lite on {host} gave no output, killed after {seconds} s",
}


def hourly_profile() -> list[float]:
    """Relative request rate for each hour of the week, hour 0 = Monday 00:00 UTC.

    Working hours are busy, a nightly build burst lands at 01:00, weekends are quiet.
    """
    profile = []
    for day in range(7):
        for hour in range(24):
            if day >= 5:
                rate = 0.5
            elif hour == 1:
                rate = 2.5
            elif 8 <= hour < 18:
                rate = 1.6
            elif 18 <= hour < 24:
                rate = 0.8
            else:
                rate = 0.4
            profile.append(rate)
    return profile

# A group outage: every worker host of a device group goes down (the lab rack loses power or its
# network): the testruns running there fail at once, the group pulls nothing until the hosts are
# back, its queue piles up meanwhile and drains afterwards.  DESIGN's `starved` group.
GROUP_OUTAGES_PER_DAY = 0.4
"""Mean number of group outages a day (farm-wide, the group drawn uniformly)."""
GROUP_OUTAGE_HOURS = (1.5, 4.0)
"""How long an outage lasts, uniform (hours)."""
HOST_DOWN_MESSAGES = (
    "ConnectionError: worker host {host} unreachable (no heartbeat for 120 s)",
    "DeviceLostError: device on {host} lost: its worker host powered off",
)
"""The error of a testrun running on a group's host when the outage starts."""
STARVING_GROUP_AT_END = "n950"
"""The group whose hosts are down when a generated history ends (and when the live demo opens):
a group without flaky hosts, config faults or the failing host, so the outage stands alone."""
STARVING_AT_END = (3.0, 2.0)
"""Its outage started this many hours before the end and lasts this many more: the history ends
with the group starved (queued testruns, none running, the oldest waiting for over an hour), and
the live demo at speed 60 shows it for two minutes, then the group recovering."""


@dataclass(frozen=True)
class ConfigFault:
    """An image configuration that fails at boot with `chance` on some hosts (all: None)."""

    configuration: str
    hosts: tuple[str, ...] | None
    chance: float
    messages: tuple[str, ...]
    """Its "Type: message" texts; {host} is filled in."""


CONFIG_FAULTS: tuple[ConfigFault, ...] = (
    # An older board revision cannot boot the full image: the host is suspect for ivi-full
    # (DESIGN's Fisher test) and passes ivi-base like every other host.
    ConfigFault("ivi-full", ("ivi-worker1",), 0.7, (
        "BootError: kernel panic on {host}: VFS: unable to mount root fs on unknown-block(179,2)",
        "BootError: device on {host} stuck in the bootloader: no valid kernel partition",
    )),
    # A broken image: every host fails it alike, so no host is suspect but its error % is high.
    ConfigFault("tablet-ux", None, 0.55, (
        "ImageError: tablet-ux rootfs failed its signature check",
        "ImageError: bootloader rejected the image: bad header magic 0x00000000",
        "ChecksumError: image checksum mismatch after download",
    )),
)
