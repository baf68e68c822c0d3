"""What changed since the last period (DESIGN.md "Looking back", ``report --compare 24h|7d``).

``compare(f, period)``: the last period before the frame's now, [now − P, now) ("current"),
against the one before it, [now − 2P, now − P) ("previous"), for each device group of the frame
and for all of them: ``{"groups": {GROUP: {"current", "previous"}}, "all": {"current",
"previous"}}``, each period ``{"start", "end", "testruns", "errors", "error_pct", "testrun":
{"p50", "p95", "mean"}, "queue": {"p50", "p95"}, "phase_means": {PHASE: s}}`` (null where there
is no sample).

A period holds the testruns whose first ``request`` (engine clock) falls in it; their status is
the one they have now (a testrun requested last week that finished today counts as finished in
last week's period).  ``testruns`` counts them, ``errors`` those in error, ``error_pct`` = 100 ×
errors / (finished + errors).  ``queue`` percentiles are over the non-negative queue waits of
those testruns (as in the trend rows).  ``testrun`` p50 / p95 / mean and ``phase_means`` are
over the same testruns: those *finished* (status finished, so not in error) whose testrun time
(first publish − first request) is non-negative.  ``phase_means`` are the means, over them, of
their time-and-motion segments (init, queue, flash, boot, test, publish: a phase the testrun
lacks, or a negative one, counts 0; flash / boot / test are the sums of their non-negative
iterations) and of ``other`` = testrun − the sum of those six (the gaps between phases, and what
a clamped part gave back), so the seven means add up to the testrun mean, and the changes of
the seven to its change.  Percentiles are numpy's default (linear).

Cost: O(runs) vectorised passes (the percentiles group the samples by (group, period) with one
stable sort), whatever the number of groups.
"""

from __future__ import annotations

import numpy as np

from store.stats.frame import Frame
from store.stats.phases import SEGMENTS, closed_segments
from store.stats.trend import _percentiles

PHASE_PARTS = (*SEGMENTS, "other")
"""The parts of a testrun's time that ``phase_means`` splits it into (they add up to it)."""
PERIODS = ("previous", "current")


def compare(f: Frame, period: float) -> dict:
    """The two periods ending at ``f.now`` for every group of ``f`` and for all (see module)."""
    if not period > 0:
        raise ValueError(f"a comparison period must be positive, not {period!r}")
    r, n, now = f.st.runs, f.n, f.now
    request = r.request[:n]
    start = now - 2 * period
    # NaN requests (never requested) compare False: in no period.
    chosen = np.flatnonzero(f.mask & (request >= start) & (request < now))
    which = (request[chosen] >= now - period).astype(np.int64)  # 0 previous, 1 current
    ng = len(f.group_names)
    key = f.gidx[chosen] * 2 + which  # (group, period)
    status = f.status[chosen]
    width = ng * 2
    parts = {"": (key, width, (ng, 2)), "all": (which, 2, (1, 2))}
    figures = {}
    for name, (k, w, shape) in parts.items():
        figures[name] = {
            "testruns": np.bincount(k, minlength=w).reshape(shape),
            "finished": np.bincount(k[status == 2], minlength=w).reshape(shape),
            "errors": np.bincount(k[status == 3], minlength=w).reshape(shape),
        }
    queue = f.per_run_duration("queue")[chosen]
    ok = queue >= 0  # NaN (undefined) and clock skew left out
    testrun = f.per_run_duration("testrun")[chosen]
    done = (status == 2) & (testrun >= 0)
    segments = closed_segments(f.st, chosen[done])
    total = testrun[done]
    split = np.column_stack([segments, total - segments.sum(axis=1)])
    for name, (k, w, shape) in parts.items():
        figures[name]["queue"] = _percentiles(queue[ok], k[ok], w, shape)
        figures[name]["testrun"] = _percentiles(total, k[done], w, shape)
        counts = np.bincount(k[done], minlength=w)
        with np.errstate(invalid="ignore", divide="ignore"):
            figures[name]["mean"] = (np.bincount(k[done], total, w) / counts).reshape(shape)
            figures[name]["phases"] = [
                (np.bincount(k[done], split[:, j], w) / counts).reshape(shape)
                for j in range(len(PHASE_PARTS))]
    bounds = ((start, now - period), (now - period, now))
    groups = {name: _periods(figures[""], g, bounds) for g, name in enumerate(f.group_names)}
    return {"groups": groups, "all": _periods(figures["all"], 0, bounds)}


def _periods(fig: dict, g: int, bounds) -> dict:
    out = {}
    for p, (name, (lo, hi)) in enumerate(zip(PERIODS, bounds, strict=True)):
        finished, errors = int(fig["finished"][g, p]), int(fig["errors"][g, p])
        out[name] = {
            "start": float(lo),
            "end": float(hi),
            "testruns": int(fig["testruns"][g, p]),
            "errors": errors,
            "error_pct": 100.0 * errors / (finished + errors) if finished + errors else None,
            "testrun": {"p50": _num(fig["testrun"][0][g, p]), "p95": _num(fig["testrun"][1][g, p]),
                        "mean": _num(fig["mean"][g, p])},
            "queue": {"p50": _num(fig["queue"][0][g, p]), "p95": _num(fig["queue"][1][g, p])},
            "phase_means": {part: _num(fig["phases"][j][g, p])
                            for j, part in enumerate(PHASE_PARTS)},
        }
    return {"current": out["current"], "previous": out["previous"]}


def _num(x) -> float | None:
    x = float(x)
    return None if x != x else x
