"""Test support for the statistics engine: Batch building and a slow, obvious reference.

Not a test module (no ``test_`` prefix): tests/test_stats*.py import it.

An event here is a dict: ``{"testrun_id", "event", "emit", "received"}`` plus, on a request,
``device_group``, ``requestor``, ``hosts`` and on an error ``error``.  ``to_batches`` turns a
list of them into the Batches a tail reader would deliver (strings and names interned, dense run
indices, request and error rows), cut at the given event positions.
"""

from __future__ import annotations

import math

import numpy as np

from store import schema
from store.batch import Batch

KNOWN = schema.EVENT_NAMES


def to_batches(events: list[dict], cuts: list[int] = ()) -> list[Batch]:
    """The Batches of ``events`` split before each position in ``cuts``."""
    strings: dict[str, int] = {}
    names = {n: i for i, n in enumerate(KNOWN)}
    runs: dict[str, int] = {}
    group_of = groups_of(events)
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(events))), len(events)]
    out = []
    new_names = list(KNOWN)

    def sid(text: str, fresh: list[str]) -> int:
        if text not in strings:
            strings[text] = len(strings)
            fresh.append(text)
        return strings[text]

    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        fresh: list[str] = []
        first_run = len(runs)
        run_rows, ev_rows, req_rows, err_rows = [], [], [], []
        for row, e in enumerate(events[lo:hi], start=lo):
            tid = e["testrun_id"]
            if tid not in runs:
                runs[tid] = len(runs)
                run_rows.append((tid.encode(), sid(group_of[tid], fresh)))
            name = e["event"]
            if name not in names:
                names[name] = len(names)
                new_names.append(name)
            ev_rows.append((runs[tid], names[name], e["emit"], e["received"]))
            if name == "request":
                req_rows.append((runs[tid], row, sid("q", fresh), sid("c", fresh),
                                 sid(e.get("requestor", ""), fresh),
                                 sid(e.get("hosts", ""), fresh), b""))
            if name == "error":
                err_rows.append((runs[tid], row, sid(e.get("error", ""), fresh)))
        out.append(Batch(
            first_event_row=lo,
            events=np.array(ev_rows, dtype=schema.EVENT_DTYPE),
            first_run=first_run,
            runs=np.array(run_rows, dtype=schema.RUN_DTYPE),
            requests=np.array(req_rows, dtype=schema.REQUEST_DTYPE),
            errors=np.array(err_rows, dtype=schema.ERROR_DTYPE),
            new_strings=tuple(fresh),
            new_names=tuple(new_names),
        ))
        new_names = []
    return out


def groups_of(events: list[dict]) -> dict[str, str]:
    """Each testrun's device group: that of its first event carrying one, else ""."""
    out: dict[str, str] = {}
    for e in events:
        if "device_group" in e:
            out.setdefault(e["testrun_id"], e["device_group"])
    for e in events:
        out.setdefault(e["testrun_id"], "")
    return out


def stats(values: list[float]) -> dict:
    """DESIGN.md's STATS of a sample, the plain way (numpy only for mean/std/percentile)."""
    if not values:
        return {"n": 0, "min": None, "max": None, "mean": None, "std": None, "p50": None,
                "p95": None}
    a = np.array(sorted(values), dtype=np.float64)
    return {"n": len(values), "min": float(min(values)), "max": float(max(values)),
            "mean": float(np.mean(a)), "std": float(np.std(a)),
            "p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95))}


class RefRun:
    """Everything the reference knows about one testrun, built event by event."""

    def __init__(self, tid: str) -> None:
        self.tid = tid
        self.group = None
        self.times: dict[str, list[float]] = {}
        self.counts: dict[str, int] = {}
        self.stacks = {"flash": [], "boot": [], "test": []}
        self.closed = {"flash": [], "boot": [], "test": []}
        self.orphans = 0
        self.requestor = None
        self.n = 0

    def first(self, name):
        return self.times[name][0] if name in self.times else None

    def last(self, name):
        return self.times[name][-1] if name in self.times else None

    @property
    def status(self) -> str:
        if "error" in self.counts:
            return "error"
        if "publish" in self.counts:
            return "finished"
        if "queue_end" in self.counts:
            return "ongoing"
        return "queued"


def reference_runs(events: list[dict], clock: str = "received") -> dict[str, RefRun]:
    """Replay the events one by one (file order), following DESIGN.md literally."""
    runs: dict[str, RefRun] = {}
    groups = groups_of(events)
    for e in events:
        run = runs.setdefault(e["testrun_id"], RefRun(e["testrun_id"]))
        name, t = e["event"], e[clock]
        run.group = groups[e["testrun_id"]]
        run.n += 1
        run.counts[name] = run.counts.get(name, 0) + 1
        run.times.setdefault(name, []).append(t)
        if name == "request" and run.requestor is None:
            run.requestor = e.get("requestor", "")
        phase, _, edge = name.partition("_")
        if phase in run.stacks and edge == "start":
            run.stacks[phase].append(t)
        elif phase in run.stacks and edge == "end":
            if run.stacks[phase]:
                run.closed[phase].append(t - run.stacks[phase].pop())
            else:
                run.orphans += 1
    return runs


def reference_summary(events: list[dict], clock: str = "received",
                      since: float | None = None) -> dict:
    """The core of DESIGN.md's SUMMARY per group and for all, from the reference replay."""
    runs = reference_runs(events, clock)
    # Every group of the file is listed, even when the window leaves it empty.
    by_group: dict[str, list[RefRun]] = {r.group: [] for r in runs.values()}
    if since is not None:
        runs = {k: r for k, r in runs.items()
                if r.first("request") is not None and r.first("request") >= since}
    for r in runs.values():
        by_group.setdefault(r.group, []).append(r)
    return {"groups": {g: _ref_one(rs) for g, rs in sorted(by_group.items())},
            "all": _ref_one(list(runs.values()))}


def _ref_one(runs: list[RefRun]) -> dict:
    statuses = [r.status for r in runs]
    finished, errors = statuses.count("finished"), statuses.count("error")
    negative = 0
    durations = {}

    def keep(values):
        nonlocal negative
        negative += sum(1 for v in values if v < 0)
        return [v for v in values if v >= 0]

    def pair(r, a, b):
        return [a - b] if a is not None and b is not None else []

    per_run = {
        "testrun": lambda r: pair(r, r.first("publish"), r.first("request")),
        "init": lambda r: pair(r, r.first("queue_start"), r.first("request")),
        "queue": lambda r: pair(r, r.first("queue_end"), r.first("queue_start")),
        "flash": lambda r: r.closed["flash"],
        "boot": lambda r: r.closed["boot"],
        "test": lambda r: r.closed["test"],
        "publish": lambda r: pair(r, r.first("publish"), r.last("test_end")),
    }
    for name, fn in per_run.items():
        durations[name] = stats(keep([v for r in runs for v in fn(r)]))
    counts: dict[str, int] = {n: 0 for n in KNOWN}
    for r in runs:
        for n, c in r.counts.items():
            counts[n] = counts.get(n, 0) + c
    requestors: dict[str, list[int]] = {}
    for r in runs:
        if r.requestor is not None:
            slot = requestors.setdefault(r.requestor, [0, 0])
            slot[0] += 1
            slot[1] += r.status == "error"
    ranked = sorted(requestors.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return {
        "testruns": len(runs),
        "queued": statuses.count("queued"),
        "ongoing": statuses.count("ongoing"),
        "finished": finished,
        "errors": errors,
        "error_pct": 100.0 * errors / (finished + errors) if finished + errors else None,
        "queued_ids": [r.tid for r in runs if r.status == "queued"],
        "ongoing_ids": [r.tid for r in runs if r.status == "ongoing"],
        "requestors": [{"requestor": k, "requests": v[0], "errors": v[1]} for k, v in ranked],
        "event_counts": counts,
        "durations": durations,
        "iterations": {p: stats([float(r.counts[f"{p}_start"]) for r in runs
                                 if r.counts.get(f"{p}_start")])
                       for p in ("flash", "boot", "test")},
        "anomalies": {
            "unknown_events": sum(c for r in runs for n, c in r.counts.items() if n not in KNOWN),
            "ends_without_start": sum(r.orphans for r in runs),
            "negative_durations": negative,
            "unrequested_events": sum(r.n for r in runs if "request" not in r.counts),
        },
    }


def same(got, want, path="") -> None:
    """Assert equality, floats to 1e-12 relative (summation order may differ from numpy's)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), (path, got, want)
        for key in want:
            same(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (path, got, want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same(g, w, f"{path}[{i}]")
    elif isinstance(want, float) and isinstance(got, float):
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9), (path, got, want)
    else:
        assert got == want, (path, got, want)
