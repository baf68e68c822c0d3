"""Dummy-data generator for trmon-tui, static and live, written through the store's writer.

- demo.farm: the farm's fixed description (groups, devices, phase durations, people, builds).
- demo.arrivals: when requests arrive (a Poisson process following the week).
- demo.model: FarmModel turns request times into every event of those testruns (vectorised).
- demo.steps: the steps of a pulled testrun (flash, boot, test, publish, hangs, its error).
- demo.devices: each group's devices serving its queue, and the host failures on them.
- demo.incidents: failing and flaky worker hosts, bad and slow days, from the seed and the day.
- demo.generator: events as EventWriter columns in receive order; `write_static`.
- demo.live: the farm in real time (`run_live`) and `live_demo`, the temporary file of --demo.
- demo.live_proc: the subprocess entry point that live_demo starts.
- demo/config.toml (CONFIG): the sample config file whose failure rules classify the demo's
  error texts; `--demo` reads it.
"""

from pathlib import Path

CONFIG = Path(__file__).with_name("config.toml")
"""The demo's config file (DESIGN.md "The config file")."""
