"""Where an unfinished testrun is now, and the time-and-motion segments of testruns.

The current phase follows the last event of a known name (file order):

    request -> "init"     queue_start -> "queue"     queue_end -> "pulled"
    flash_start -> "flash"   flash_end -> "flash" while a flash is still open, else "flashed"
    boot_start -> "boot"     boot_end -> "boot" while open, else "booted"
    test_start -> "test"     test_end -> "test" while open, else "publish" (results pending)
    publish -> "published"   error -> "error"   (no known event) -> "unknown"

``phase_since`` is when that phase began: the time of that event, or of the latest still-open
start.  The running segment of the chart is the phase when it is one of the six segments.
"""

from __future__ import annotations

import numpy as np

from store.stats.engine import C, EngineState

SEGMENTS = ("init", "queue", "flash", "boot", "test", "publish")
_AFTER = {
    C["request"]: "init", C["queue_start"]: "queue", C["queue_end"]: "pulled",
    C["flash_start"]: "flash", C["flash_end"]: "flashed",
    C["boot_start"]: "boot", C["boot_end"]: "booted",
    C["test_start"]: "test", C["test_end"]: "publish",
    C["publish"]: "published", C["error"]: "error",
}
_FROM = {"init": "request", "queue": "queue_start", "publish": "test_end"}
_END_PHASE = {C["flash_end"]: "flash", C["boot_end"]: "boot", C["test_end"]: "test"}


def latest_open(st: EngineState, phase: str, runs: np.ndarray) -> np.ndarray:
    """Time of the latest still-open ``phase`` start of each run (NaN when none is open)."""
    out = np.full(len(runs), np.nan)
    pool = st.pools[phase]
    if len(pool) == 0 or len(runs) == 0:
        return out
    order = np.argsort(runs, kind="stable")
    ordered = runs[order]
    pos = np.clip(np.searchsorted(ordered, pool.run), 0, len(runs) - 1)
    hit = ordered[pos] == pool.run
    # A run's open starts are in file order in the pool: the last write is the latest start.
    out[order[pos[hit]]] = pool.t[hit]
    return out


def current(st: EngineState, runs: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Phase name and phase start time of each run."""
    r = st.runs
    code = r.last_code[runs]
    since = r.last_t[runs].copy()
    names = [_AFTER.get(c, "unknown") for c in code.tolist()]
    for end, phase in _END_PHASE.items():
        at = np.flatnonzero(code == end)
        if len(at) == 0:
            continue
        open_t = latest_open(st, phase, runs[at])
        still = ~np.isnan(open_t)
        since[at[still]] = open_t[still]
        for i in at[still].tolist():
            names[i] = phase
    return names, since


def phase_counts(st: EngineState, runs: np.ndarray) -> dict[str, int]:
    """How many of ``runs`` are in each current phase."""
    names, _ = current(st, runs)
    out: dict[str, int] = {}
    for name in names:
        out[name] = out.get(name, 0) + 1
    return dict(sorted(out.items()))


def waiting_since(st: EngineState, runs: np.ndarray) -> np.ndarray:
    """When each queued run started waiting: first queue_start, else request, else first event."""
    r = st.runs
    t = r.queue_start[runs].copy()
    for fallback in (r.request, r.first_t):
        missing = np.isnan(t)
        t[missing] = fallback[runs[missing]]
    return t


def closed_segments(st: EngineState, runs: np.ndarray) -> np.ndarray:
    """(k, 6) seconds of init/queue/flash/boot/test/publish per run, as far as its events
    go: flash/boot/test the sums of their non-negative iterations, an undefined or negative
    part 0 (an ended testrun's time-and-motion bar; ``segments`` adds the running phase)."""
    r = st.runs
    m = np.empty((len(runs), len(SEGMENTS)))
    m[:, 0] = r.queue_start[runs] - r.request[runs]
    m[:, 1] = r.queue_end[runs] - r.queue_start[runs]
    m[:, 2:5] = r.sums[:, runs].T
    m[:, 5] = r.publish[runs] - r.test_end[runs]
    np.nan_to_num(m, copy=False, nan=0.0)
    return np.maximum(m, 0.0, out=m)


def segments(st: EngineState, runs: np.ndarray, status: np.ndarray,
             now: float) -> tuple[np.ndarray, list[str | None]]:
    """(k, 6) seconds of init/queue/flash/boot/test/publish per run, and the running segment.

    Closed phases use their definitions (flash/boot/test: sum of non-negative iterations); the
    running phase of an unfinished run grows to ``now``; unknown or negative parts are 0.
    """
    r = st.runs
    m = closed_segments(st, runs)
    names, since = current(st, runs)
    running: list[str | None] = []
    for i, name in enumerate(names):
        live = name if status[i] <= 1 and name in SEGMENTS else None
        running.append(live)
        if live is None or np.isnan(since[i]):
            continue
        col = SEGMENTS.index(live)
        if live in _FROM:  # defined from a first/last event time: it runs until now
            m[i, col] = now - getattr(r, _FROM[live])[runs[i]]
        else:  # flash/boot/test: closed iterations plus the open one
            m[i, col] += now - since[i]
    m = np.nan_to_num(m, nan=0.0)
    return np.maximum(m, 0.0), running


__all__ = ["SEGMENTS", "closed_segments", "current", "latest_open", "phase_counts", "segments",
           "waiting_since"]
