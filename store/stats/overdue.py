"""Overdue testruns (DESIGN.md "Operator insight").

The phase a live testrun is judged in, and since when: a queued testrun is in ``queue`` since
its first queue_start (without one: not judged); an ongoing testrun whose last known-name event
(file order) is flash_start / boot_start / test_start is in that phase since that event, after
a test_end in ``publish`` since that event; otherwise it is not judged.  It is overdue when
now - since > the p95 of that phase's non-negative samples in its own device group (same
window), and the group has at least MIN_SAMPLES of them.  Both come from per-run state kept by
the engine (last known-name event and its time, first queue_start): O(live runs) per query.

The p95 per (group, phase) is what the SUMMARY's "durations" hold; queries without a summary
compute it from the samples (``P95Table``: once per state version and window, per group asked).
"""

from __future__ import annotations

import math

import numpy as np

from store.stats.describe import order_statistics
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
    """The p95 of each JUDGED phase per device group of one window, kept for the latest
    (state version, since): the monitor asks for several listings of one window in a row."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._rows: dict[str, np.ndarray] = {}

    def put(self, key: tuple, group: str, row: np.ndarray) -> None:
        if key != self._key:
            self._key, self._rows = key, {}
        self._rows[group] = row

    def table(self, f, groups: np.ndarray) -> np.ndarray:
        """(len(f.group_names), len(JUDGED)) p95s; rows of the group indices in ``groups``
        filled (computed when not kept), the others NaN."""
        key = (f.st.version, f.since)
        if key != self._key:
            self._key, self._rows = key, {}
        out = np.full((len(f.group_names), len(JUDGED)), np.nan)
        wanted = np.unique(groups).tolist()
        missing = [g for g in wanted if f.group_names[g] not in self._rows]
        if missing:  # the per-run phases once for all the groups to compute
            per_run = {p: f.per_run_duration(p) for p in ("queue", "publish")}
            for g in missing:
                self._rows[f.group_names[g]] = _group_p95(f, g, per_run)
        for g in wanted:
            out[g] = self._rows[f.group_names[g]]
        return out


def _group_p95(f, g: int, per_run: dict[str, np.ndarray]) -> np.ndarray:
    """The p95 of each JUDGED phase in group index ``g`` of the frame, from its samples
    (``per_run``: the per-run queue and publish durations of all runs)."""
    mine = f.gidx == g  # -1 outside the window
    out = np.full(len(JUDGED), np.nan)
    for i, phase in enumerate(JUDGED):
        if phase in per_run:
            values = per_run[phase][mine]
        else:
            values = f.logged(f.st.samples, f.slots(g), phase, "duration")
        values = values[values >= 0]  # NaN (undefined) and clock skew left out
        if len(values) >= MIN_SAMPLES:
            out[i] = order_statistics(values)[2]
    return out


def assess(f, runs: np.ndarray, table: np.ndarray) -> dict[str, np.ndarray]:
    """Per run: judged phase index (-1: not judged), since, p95 judged against (NaN: not
    judged), elapsed, and elapsed / p95 where overdue (NaN where not; inf when p95 is 0)."""
    phase, since = judged(f.st, runs, f.status[runs])
    p95 = np.full(len(runs), np.nan)
    at = np.flatnonzero(phase >= 0)
    p95[at] = table[f.gidx[runs[at]], phase[at]]
    elapsed = f.now - since
    late = elapsed > p95  # NaN compares False: not judged, or too few samples
    ratio = np.full(len(runs), np.nan)
    with np.errstate(divide="ignore"):
        ratio[late] = elapsed[late] / p95[late]
    return {"phase": phase, "since": since, "p95": p95, "elapsed": elapsed, "ratio": ratio}


def most_overdue_first(runs: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Positions of the overdue runs (finite or infinite ``ratio``), the largest ratio first,
    ties by run index (file order of the testrun's first event)."""
    late = np.flatnonzero(~np.isnan(ratio))
    return late[np.lexsort((runs[late], -ratio[late]))]


def overdue_list(f, live: np.ndarray, table: np.ndarray, with_group: bool = False) -> list[dict]:
    """DESIGN's SUMMARY "overdue" of the queued and ongoing runs ``live``, each judged by its
    own group's row of ``table`` (``with_group``: each entry names its device group too)."""
    a = assess(f, live, table)
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
