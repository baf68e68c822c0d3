"""What the monitor alerts on (DESIGN "Operator insight" and "Why it waits"): the worker hosts
that are bad and the device groups that are starved, now, over every testrun of the file.

Alerts compare these sets between snapshots, so they must not depend on what the operator
looks at: no time window, no device group (a narrower window would drop a host's old failures
and look like a change).  Cost: one Frame and one HostTable (a few passes over the runs and
the (run, host) pairs, as StatsEngine.hosts) and one pass over the queued runs.
"""

from __future__ import annotations

import numpy as np

from store.stats import phases
from store.stats.capacity import STARVED_WAIT
from store.stats.frame import Frame
from store.stats.hosts import BAD_STREAK, HostTable


def alert_state(engine, now: float) -> tuple[list[str], list[str]]:
    """(bad hosts, starved device groups), each sorted, of a StatsEngine at ``now``."""
    st = engine.state
    st.drain()
    f = Frame(st, None, None, now)
    table = HostTable(f)
    names = st.hosts.names
    bad = sorted(names[h] for h in np.flatnonzero(table.all_streak >= BAD_STREAK).tolist())
    return bad, starved_groups(f)


def starved_groups(f: Frame) -> list[str]:
    """The frame's device groups with work queued, nothing ongoing and a queued testrun that
    has waited more than STARVED_WAIT seconds, sorted: capacity.starved of every group's
    SUMMARY, without the rest of a summary (tests/test_alerts.py compares the two)."""
    ngroups = len(f.group_names)
    if ngroups == 0:
        return []
    inside = f.mask
    ongoing = np.bincount(f.gidx[inside & (f.status == 1)], minlength=ngroups)
    queued = np.flatnonzero(inside & (f.status == 0))
    oldest = np.full(ngroups, -np.inf)
    if len(queued):
        waited = f.now - phases.waiting_since(f.st, queued)
        np.fmax.at(oldest, f.gidx[queued], waited)  # NaN (no time at all): not a wait
    starved = (ongoing == 0) & (oldest > STARVED_WAIT)
    return sorted(f.group_names[g] for g in np.flatnonzero(starved).tolist())
