"""Test support for the statistics engine: Batch building and a slow, obvious reference.

Not a test module (no ``test_`` prefix): tests/test_stats*.py import it.

An event here is a dict: ``{"testrun_id", "event", "emit", "received"}`` plus, on a request,
``device_group``, ``requestor``, ``hosts`` and on an error ``error``.  ``to_batches`` turns a
list of them into the Batches a tail reader would deliver (strings and names interned, dense run
indices, request and error rows), cut at the given event positions.
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction

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
                req_rows.append((runs[tid], row, sid("q", fresh),
                                 sid(e.get("configuration", ""), fresh),
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
        self.configuration = None
        self.error_text = None
        self.n = 0
        self.hosts: list[str] = []
        self.rows: dict[str, list[int]] = {}
        self.last_known: tuple[str, float] | None = None
        self.index = 0

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
    for row, e in enumerate(events):
        if e["testrun_id"] not in runs:
            runs[e["testrun_id"]] = RefRun(e["testrun_id"])
            runs[e["testrun_id"]].index = len(runs) - 1
        run = runs[e["testrun_id"]]
        name, t = e["event"], e[clock]
        run.group = groups[e["testrun_id"]]
        run.n += 1
        run.counts[name] = run.counts.get(name, 0) + 1
        run.times.setdefault(name, []).append(t)
        run.rows.setdefault(name, []).append(row)
        if name in KNOWN:
            run.last_known = (name, t)
        if name == "error" and run.error_text is None:
            run.error_text = e.get("error", "")
        if name == "request" and run.requestor is None:
            run.requestor = e.get("requestor", "")
            run.configuration = e.get("configuration", "")
            hosts = e.get("hosts") or []  # JSON text (as in the file) or the list itself
            for host, _instance in json.loads(hosts) if isinstance(hosts, str) else hosts:
                if host not in run.hosts:
                    run.hosts.append(host)
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


def _window_by_group(events: list[dict], clock: str,
                     since: float | None) -> tuple[list[RefRun], dict[str, list[RefRun]]]:
    """The window's runs, and per device group its runs (every group of the file, empty when
    the window leaves none)."""
    runs = list(reference_runs(events, clock).values())
    by_group: dict[str, list[RefRun]] = {r.group: [] for r in runs}
    if since is not None:
        runs = [r for r in runs if r.first("request") is not None and r.first("request") >= since]
    for r in runs:
        by_group[r.group].append(r)
    return runs, by_group


def reference_insight(events: list[dict], clock: str = "received", since: float | None = None,
                      now: float = 0.0, bucket: float | None = None,
                      min_samples: int = 20) -> dict:
    """DESIGN.md's "Operator insight" keys ("hosts", "overdue" and, with ``bucket`` seconds,
    "trend") of every SUMMARY, straight from its words, testrun by testrun."""
    runs, by_group = _window_by_group(events, clock, since)
    out = {"groups": {}}
    late_of_all = []
    for g, rs in sorted(by_group.items()):
        late = _ref_overdue(rs, now, min_samples)
        late_of_all += late
        out["groups"][g] = _ref_insight(rs, late, bucket, now)
    out["all"] = _ref_insight(runs, late_of_all, bucket, now)
    return out


def _ref_insight(runs: list[RefRun], late: list, bucket: float | None, now: float) -> dict:
    late.sort(key=lambda item: (-item[0], item[1]))  # largest elapsed / p95 first, file order
    out = {"hosts": _ref_hosts(runs, now), "overdue": [entry for _, _, entry in late]}
    if bucket is not None:
        out["trend"] = _ref_trend(runs, bucket)
    return out


def ended_at(r: RefRun) -> tuple[float, int]:
    """(time, file row) of the event a testrun ended with: its first error, else first publish."""
    name = "error" if "error" in r.times else "publish"
    return r.times[name][0], r.rows[name][0]


def _ref_hosts(runs: list[RefRun], now: float) -> dict:
    statuses = [r.status for r in runs]
    all_finished, all_errors = statuses.count("finished"), statuses.count("error")
    per_host: dict[str, list[RefRun]] = {}
    for r in runs:
        for host in r.hosts:
            per_host.setdefault(host, []).append(r)
    out = {}
    for host in sorted(per_host):
        rs = per_host[host]
        finished = [r for r in rs if r.status == "finished"]
        errors = [r for r in rs if r.status == "error"]
        streak = 0
        for r in reversed(sorted(finished + errors, key=ended_at)):
            if r.status != "error":
                break
            streak += 1
        infra = [r for r in errors
                 if not any(row < r.rows["error"][0] for row in r.rows.get("test_start", []))]
        ended = len(finished) + len(errors)
        if streak >= 3:
            health = "bad"
        elif len(errors) >= 3 and Fraction(len(errors), ended) >= \
                2 * Fraction(all_errors, all_finished + all_errors):
            health = "suspect"
        else:
            health = "good"
        out[host] = {
            "testruns": len(rs),
            "ongoing": sum(r.status == "ongoing" for r in rs),
            "finished": len(finished),
            "errors": len(errors),
            "error_pct": 100.0 * len(errors) / ended if ended else None,
            "infra_errors": len(infra),
            "streak": streak,
            "last_ok": max((ended_at(r)[0] for r in finished), default=None),
            "health": health,
            **_ref_busy(rs, now),
        }
    return out


def _phase_samples(runs: list[RefRun], phase: str) -> list[float]:
    """The non-negative samples of one phase (DESIGN's definitions) of these testruns."""
    values = []
    for r in runs:
        if phase in r.closed:
            values += r.closed[phase]
        elif phase == "queue" and r.first("queue_end") is not None \
                and r.first("queue_start") is not None:
            values.append(r.first("queue_end") - r.first("queue_start"))
        elif phase == "publish" and r.first("publish") is not None \
                and r.last("test_end") is not None:
            values.append(r.first("publish") - r.last("test_end"))
    return [v for v in values if v >= 0]


def _ref_overdue(runs: list[RefRun], now: float, min_samples: int) -> list:
    """(elapsed / p95, file index, entry) of the overdue testruns of one group's window."""
    p95 = {}
    for phase in ("queue", "flash", "boot", "test", "publish"):
        values = _phase_samples(runs, phase)
        p95[phase] = float(np.percentile(values, 95)) if len(values) >= min_samples else None
    after = {"flash_start": "flash", "boot_start": "boot", "test_start": "test",
             "test_end": "publish"}
    late = []
    for r in runs:
        if r.status == "queued" and r.first("queue_start") is not None:
            phase, since = "queue", r.first("queue_start")
        elif r.status == "ongoing" and r.last_known and r.last_known[0] in after:
            phase, since = after[r.last_known[0]], r.last_known[1]
        else:
            continue
        elapsed = now - since
        if p95[phase] is not None and elapsed > p95[phase]:
            ratio = elapsed / p95[phase] if p95[phase] else math.inf
            late.append((ratio, r.index, {"testrun_id": r.tid, "phase": phase,
                                          "elapsed": elapsed, "p95": p95[phase]}))
    return late


def _ref_trend(runs: list[RefRun], size: float) -> list[dict]:
    requested = [r for r in runs if r.first("request") is not None]
    if not requested:
        return []
    bucket = {r.tid: math.floor(r.first("request") / size) for r in requested}
    rows = []
    for k in range(min(bucket.values()), max(bucket.values()) + 1):
        rs = [r for r in requested if bucket[r.tid] == k]
        finished = sum(r.status == "finished" for r in rs)
        errors = sum(r.status == "error" for r in rs)
        testrun = [r.first("publish") - r.first("request") for r in rs
                   if r.first("publish") is not None]
        queue = _phase_samples(rs, "queue")

        def pcts(values):
            values = [v for v in values if v >= 0]
            if not values:
                return {"p50": None, "p95": None}
            return {"p50": float(np.percentile(values, 50)),
                    "p95": float(np.percentile(values, 95))}

        rows.append({"start": k * size, "requests": len(rs), "finished": finished,
                     "errors": errors,
                     "error_pct": 100.0 * errors / (finished + errors) if finished + errors
                     else None,
                     "testrun": pcts(testrun), "queue": pcts(queue)})
    return rows


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


SUMMARY_KEYS = ("testruns", "queued", "ongoing", "finished", "errors", "error_pct", "queued_ids",
                "ongoing_ids", "requestors", "event_counts", "durations", "iterations",
                "anomalies")
"""The SUMMARY keys reference_summary computes."""

COMPARE_PARTS = ("init", "queue", "flash", "boot", "test", "publish", "other")


def reference_compare(events: list[dict], period: float, now: float,
                      clock: str = "received") -> dict:
    """DESIGN.md's "Looking back" comparison, straight from its words, testrun by testrun:
    the testruns requested in [now − 2P, now − P) and [now − P, now), per group and for all."""
    runs = list(reference_runs(events, clock).values())
    groups = sorted({r.group for r in runs})
    bounds = {"previous": (now - 2 * period, now - period), "current": (now - period, now)}

    def one(rs: list[RefRun]) -> dict:
        out = {}
        for name in ("current", "previous"):
            lo, hi = bounds[name]
            inside = [r for r in rs if r.first("request") is not None
                      and lo <= r.first("request") < hi]
            out[name] = _ref_period(inside, lo, hi)
        return out

    return {"groups": {g: one([r for r in runs if r.group == g]) for g in groups},
            "all": one(runs)}


def _ref_period(runs: list[RefRun], lo: float, hi: float) -> dict:
    finished = [r for r in runs if r.status == "finished"]
    errors = sum(r.status == "error" for r in runs)
    ended = len(finished) + errors
    queue = [v for v in (_diff(r.first("queue_end"), r.first("queue_start")) for r in runs)
             if v is not None and v >= 0]
    done = [r for r in finished if r.first("request") is not None
            and r.first("publish") - r.first("request") >= 0]
    total = [r.first("publish") - r.first("request") for r in done]
    parts = {p: [] for p in COMPARE_PARTS}
    for r, t in zip(done, total, strict=True):
        own = {
            "init": _diff(r.first("queue_start"), r.first("request")),
            "queue": _diff(r.first("queue_end"), r.first("queue_start")),
            "publish": _diff(r.first("publish"), r.last("test_end")),
        }
        for phase in ("flash", "boot", "test"):  # the sum of its non-negative iterations
            own[phase] = sum(v for v in r.closed[phase] if v >= 0)
        own = {p: max(v or 0.0, 0.0) for p, v in own.items()}  # missing or negative: 0
        own["other"] = t - sum(own[p] for p in COMPARE_PARTS[:-1])
        for p in COMPARE_PARTS:
            parts[p].append(own[p])

    def pct(values, q):
        return float(np.percentile(values, q)) if values else None

    def mean(values):
        return sum(values) / len(values) if values else None

    return {"start": lo, "end": hi, "testruns": len(runs), "errors": errors,
            "error_pct": 100.0 * errors / ended if ended else None,
            "testrun": {"p50": pct(total, 50), "p95": pct(total, 95), "mean": mean(total)},
            "queue": {"p50": pct(queue, 50), "p95": pct(queue, 95)},
            "phase_means": {p: mean(parts[p]) for p in COMPARE_PARTS}}


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


# DESIGN.md "Why it waits, and why it fails", straight from its words.

def occupied(r: RefRun, now: float) -> tuple[float, float] | None:
    """The interval a testrun occupies its hosts: from its first queue_end until it ends
    (first error, else first publish) or, ongoing, until now; None without a queue_end."""
    if r.first("queue_end") is None:
        return None
    if r.status == "error":
        end = r.first("error")
    elif r.status == "finished":
        end = r.first("publish")
    else:
        end = now
    return r.first("queue_end"), end


def _ref_busy(runs: list[RefRun], now: float) -> dict:
    """busy, busy_1h, busy_24h of a host whose testruns (of one SUMMARY) are ``runs``."""
    out = {"busy": any(r.status == "ongoing" for r in runs)}
    for name, width in (("busy_1h", 3600.0), ("busy_24h", 86400.0)):
        clipped = []
        for r in runs:
            span = occupied(r, now)
            if span is not None:
                a, b = max(span[0], now - width), min(span[1], now)
                if b > a:
                    clipped.append((a, b))
        covered, reach = 0.0, -math.inf  # merge the sorted intervals, add up the union
        for a, b in sorted(clipped):
            if b > reach:
                covered += b - max(a, reach)
                reach = b
        out[name] = covered / width
    return out


def _oldest_wait(runs: list[RefRun], now: float) -> float | None:
    """The extension oldest_queued_wait: now - first queue_start (else request) of the
    queued testrun that has waited longest."""
    waits = [now - (r.first("queue_start") if r.first("queue_start") is not None
                    else r.first("request"))
             for r in runs if r.status == "queued"
             and (r.first("queue_start") is not None or r.first("request") is not None)]
    return max(waits) if waits else None


def fisher_p(a: int, n: int, K: int, N: int) -> Fraction:
    """DESIGN's p = sum over x >= a of C(K, x) C(N - K, n - x) / C(N, n), as a Fraction."""
    return sum((Fraction(math.comb(K, x) * math.comb(N - K, n - x), math.comb(N, n))
                for x in range(a, n + 1)), Fraction(0))


def reference_why(events: list[dict], clock: str = "received", since: float | None = None,
                  now: float = 0.0, rules: list[tuple[str, str]] = ()) -> dict:
    """Per SUMMARY: "hosts_total", "hosts_busy", "starved", "failures" ("all" also
    "starved_groups"); ``rules`` = [(match, category), ...] of the config file."""
    runs, by_group = _window_by_group(events, clock, since)
    out = {"groups": {g: _ref_why(rs, now, rules) for g, rs in sorted(by_group.items())}}
    out["all"] = _ref_why(runs, now, rules)
    starved = [g for g, part in out["groups"].items() if part["starved"]]
    out["all"]["starved"] = bool(starved)
    out["all"]["starved_groups"] = starved
    return out


def _ref_why(runs: list[RefRun], now: float, rules) -> dict:
    hosts = {h for r in runs for h in r.hosts}
    busy = {h for r in runs if r.status == "ongoing" for h in r.hosts}
    queued = sum(r.status == "queued" for r in runs)
    ongoing = sum(r.status == "ongoing" for r in runs)
    wait = _oldest_wait(runs, now)
    out = {"hosts_total": len(hosts), "hosts_busy": len(busy),
           "starved": queued > 0 and ongoing == 0 and wait is not None and wait > 600}
    categories = {}
    for _, category in rules:
        categories.setdefault(category, 0)
    categories.setdefault("infra", 0)
    categories.setdefault("test", 0)
    types: dict[str, list[RefRun]] = {}
    for r in runs:
        if r.status != "error":
            continue
        text = r.error_text or ""
        category = next((c for match, c in rules if re.search(match, text)), None)
        if category is None:
            tested = any(row < r.rows["error"][0] for row in r.rows.get("test_start", []))
            category = "test" if tested else "infra"
        categories[category] += 1
        kind = text.split(":", 1)[0].strip() or "(no message)"
        types.setdefault(kind, []).append(r)
    type_rows = [{"type": kind, "testruns": len(rs), "hosts": len({h for r in rs for h in r.hosts}),
                  "last": max(r.first("error") for r in rs)} for kind, rs in types.items()]
    type_rows.sort(key=lambda row: (-row["testruns"], row["type"]))
    configs: dict[str, list[RefRun]] = {}
    for r in runs:
        if r.status in ("finished", "error"):
            configs.setdefault(r.configuration or "(none)", []).append(r)
    config_rows = []
    for name, rs in configs.items():
        N, K = len(rs), sum(r.status == "error" for r in rs)
        suspects = []
        for host in sorted({h for r in rs for h in r.hosts}):
            mine = [r for r in rs if host in r.hosts]
            n, a = len(mine), sum(r.status == "error" for r in mine)
            p = fisher_p(a, n, K, N)
            if a >= 3 and p < Fraction(1, 100):
                suspects.append({"host": host, "ended": n, "errors": a, "p": float(p)})
        suspects.sort(key=lambda s: (s["p"], s["host"]))
        config_rows.append({"configuration": name, "ended": N, "errors": K,
                            "error_pct": 100.0 * K / N, "suspect_hosts": suspects})
    config_rows.sort(key=lambda row: (-row["error_pct"], row["configuration"]))
    out["failures"] = {"categories": categories, "types": type_rows,
                       "configurations": config_rows}
    return out
