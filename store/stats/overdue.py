"""Overdue testruns (DESIGN.md "Operator insight").

The phase a live testrun is judged in, and since when: a queued testrun is in ``queue`` since
its first queue_start (without one: not judged); an ongoing testrun whose last known-name event
(file order) is flash_start / boot_start / test_start is in that phase since that event, after
a test_end in ``publish`` since that event; otherwise it is not judged.  It is overdue when
now - since > the p95 of that phase's non-negative samples in its own device group (same
window), and the group has at least MIN_SAMPLES of them.  Both come from per-run state kept by
the engine (last known-name event and its time, first queue_start): O(live runs) per query.

The p95 per (group, phase) is what the SUMMARY's "durations" hold; queries without a summary
compute it from the samples (``P95Table``: once per state version and window, per (group,
phase) asked for: one selection over that group's samples).
"""

from __future__ import annotations

import math

import numpy as np

from store.stats.describe import p95, unique_sorted
from store.stats.engine import C, EngineState

JUDGED = ("queue", "flash", "boot", "test", "publish")
MIN_SAMPLES = 20
_ONGOING = {C["flash_start"]: 1, C["boot_start"]: 2, C["test_start"]: 3, C["test_end"]: 4}
"""Last known-name event of an ongoing testrun -> index in JUDGED of the phase it is in."""


def judged(st: EngineState, runs: np.ndarray, status: np.ndarray) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """(index in JUDGED or -1 when not judged, since when) of each of ``runs`` (statuses
    ``status``: 0 queued, 1 ongoing, others never judged)."""
    r = st.runs
    phase = np.full(len(runs), -1, np.int8)
    since = np.full(len(runs), np.nan)
    queue_start = r.queue_start[runs]
    queued = (status == 0) & ~np.isnan(queue_start)
    phase[queued] = 0
    since[queued] = queue_start[queued]
    ongoing = status == 1
    if ongoing.any():
        code = r.last_code[runs]
        for last, index in _ONGOING.items():
            phase[ongoing & (code == last)] = index
        at = ongoing & (phase > 0)
        since[at] = r.last_t[runs[at]]
    return phase, since


def p95_row(durations: dict) -> np.ndarray:
    """The p95 of each JUDGED phase from a SUMMARY's "durations" (NaN under MIN_SAMPLES)."""
    return np.array([durations[p]["p95"] if durations[p]["n"] >= MIN_SAMPLES else np.nan
                     for p in JUDGED], np.float64)


class P95Table:
    """The p95 of JUDGED phases per device group of one window, each computed when first
    asked for and kept for the latest (state version, since): the monitor asks for several
    listings of one window in a row, each needing only the phases its live testruns are in."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._kept: dict[tuple[str, int], float] = {}

    def _window(self, key: tuple) -> dict[tuple[str, int], float]:
        if key != self._key:
            self._key, self._kept = key, {}
        return self._kept

    def put(self, key: tuple, group: str, row: np.ndarray) -> None:
        """Keep a SUMMARY's p95 row (p95_row) of ``group`` for ``key`` (version, since)."""
        kept = self._window(key)
        for phase, value in enumerate(row.tolist()):
            kept[(group, phase)] = value

    def lookup(self, f, groups: np.ndarray, phases: np.ndarray) -> np.ndarray:
        """The p95 (NaN under MIN_SAMPLES) of each (group index, JUDGED index) pair."""
        kept = self._window((f.st.version, f.since))
        pairs = unique_sorted(groups.astype(np.int64) * len(JUDGED) + phases)
        table = np.full((len(f.group_names), len(JUDGED)), np.nan)
        for g, phase in (divmod(pair, len(JUDGED)) for pair in pairs.tolist()):
            name = f.group_names[g]
            if (name, phase) not in kept:
                kept[(name, phase)] = _p95_of(f, g, JUDGED[phase])
            table[g, phase] = kept[(name, phase)]
        return table[groups, phases]


def _p95_of(f, g: int, phase: str) -> float:
    """The p95 of one phase's non-negative samples in group index ``g`` of the frame (NaN
    under MIN_SAMPLES)."""
    values = f.samples(phase, g)
    values = values[values >= 0]  # clock skew left out
    return p95(values) if len(values) >= MIN_SAMPLES else math.nan


def assess(f, runs: np.ndarray, p95_of) -> dict[str, np.ndarray]:
    """Per run: judged phase index (-1: not judged), since, p95 judged against (NaN: not
    judged), elapsed, and elapsed / p95 where overdue (NaN where not; inf when p95 is 0).
    ``p95_of(groups, phases)``: the p95 of each (group index, JUDGED index) pair."""
    phase, since = judged(f.st, runs, f.status[runs])
    p95_at = np.full(len(runs), np.nan)
    at = np.flatnonzero(phase >= 0)
    if len(at):
        p95_at[at] = p95_of(f.gidx[runs[at]], phase[at])
    elapsed = f.now - since
    late = elapsed > p95_at  # NaN compares False: not judged, or too few samples
    ratio = np.full(len(runs), np.nan)
    with np.errstate(divide="ignore"):
        ratio[late] = elapsed[late] / p95_at[late]
    return {"phase": phase, "since": since, "p95": p95_at, "elapsed": elapsed, "ratio": ratio}


def most_overdue_first(runs: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Positions of the overdue runs (finite or infinite ``ratio``), the largest ratio first,
    ties by run index (file order of the testrun's first event)."""
    late = np.flatnonzero(~np.isnan(ratio))
    return late[np.lexsort((runs[late], -ratio[late]))]


def overdue_list(f, live: np.ndarray, p95_of, with_group: bool = False) -> list[dict]:
    """DESIGN's SUMMARY "overdue" of the queued and ongoing runs ``live``, each judged by its
    own group's p95 (``p95_of`` as for assess; ``with_group``: entries name their group)."""
    a = assess(f, live, p95_of)
    order = most_overdue_first(live, a["ratio"])
    late = live[order]
    rows = [{"testrun_id": tid, "phase": JUDGED[a["phase"][i]],
             "elapsed": float(a["elapsed"][i]), "p95": float(a["p95"][i])}
            for tid, i in zip(f.st.ids.get(late), order.tolist(), strict=True)]
    if with_group:
        for row, g in zip(rows, f.gidx[late].tolist(), strict=True):
            row["device_group"] = f.group_names[g]
    return rows


def fields(a: dict[str, np.ndarray], i: int) -> dict:
    """The overdue keys of one row of StatsEngine.testruns, from ``assess`` position i."""
    judged_as = int(a["phase"][i])
    ratio, p95 = float(a["ratio"][i]), float(a["p95"][i])
    return {
        "judged_phase": JUDGED[judged_as] if judged_as >= 0 else None,
        "judged_since": float(a["since"][i]) if judged_as >= 0 else None,
        "p95": None if math.isnan(p95) else p95,
        "overdue": None if math.isnan(ratio) else ratio,
    }
