"""The names of the durations, defined once (DESIGN.md "Definitions"), for the statistics, the
report, the metrics and the monitor alike.

A *duration* is one of DURATIONS.  Two kinds, stored differently by the engine:

- ITERATED ("flash", "boot", "test"): each closed start/end pair is one sample, so a testrun
  has as many as it has iterations (the engine logs them per device group);
- PER_RUN ("testrun", "init", "queue", "publish"): at most one per testrun, the difference of
  two of its run columns.
"""

from __future__ import annotations

DURATIONS = ("testrun", "init", "queue", "flash", "boot", "test", "publish")
"""Every duration, in the order the report, the metrics and the statistics pane list them."""
ITERATED = ("flash", "boot", "test")
"""Durations with one sample per iteration (and an iterations count per testrun)."""
PER_RUN = tuple(name for name in DURATIONS if name not in ITERATED)
"""Durations with one sample per testrun."""
