"""Synthetic event files for bench_stats.py, built fast with direct PyTables appends.

N testruns of exactly 10 events each (request ... publish, some ending in error instead of
publish), about a hundred running concurrently, all events interleaved in received order.  Each
testrun runs on one of HOSTS worker hosts (one in ten on two); most hosts fail 3% of their
testruns, a few far more (so the hosts section has suspect and bad hosts to show).
Files are cached in a temp directory keyed by size, layout and FORMAT.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import tables

from store import schema

CACHE = os.path.join(tempfile.gettempdir(), "trmon-bench-stats")
GROUPS = [f"group-{k}" for k in range(8)]
REQUESTORS = [f"dev{k:02d}@example.com" for k in range(40)]
HOSTS = [f"worker{k:02d}" for k in range(40)]
HOST_ERROR_RATE = np.where(np.arange(len(HOSTS)) % 13 == 5, 0.3, 0.03)  # worker05, 18, 31
T0 = 1_790_000_000.0
FORMAT = 2  # bump when the files' content changes: the cache then builds new ones


def events(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Columns of all events of n testruns, in received order."""
    rng = np.random.default_rng(seed)
    start = T0 + np.arange(n) * 6.0 + rng.uniform(0, 6, n)  # ~100 runs in flight
    steps = np.stack([
        np.zeros(n), rng.uniform(0.5, 5, n), rng.exponential(60, n), rng.uniform(1, 5, n),
        rng.uniform(30, 90, n), rng.uniform(1, 3, n), rng.uniform(20, 40, n),
        rng.uniform(1, 3, n), rng.uniform(60, 300, n), rng.uniform(1, 10, n),
    ], axis=1)
    received = (start[:, None] + np.cumsum(steps, axis=1)).ravel()
    code = np.tile(np.arange(10, dtype=np.int16), n)
    host = rng.integers(0, len(HOSTS), n)
    error = rng.random(n) < HOST_ERROR_RATE[host]
    code.reshape(n, 10)[error, 9] = schema.CODE["error"]
    run = np.repeat(np.arange(n, dtype=np.int32), 10)
    emit = received - rng.uniform(0, 0.5, n * 10)
    order = np.argsort(received, kind="stable")
    return {"run": run[order], "code": code[order], "emit": emit[order],
            "received": received[order], "group": rng.integers(0, len(GROUPS), n),
            "requestor": rng.integers(0, len(REQUESTORS), n),
            "hosts": host + len(HOSTS) * (rng.random(n) < 0.1)}  # index in hosts_texts()


def hosts_texts() -> list[str]:
    """The request's hosts JSON: one host each, then the same hosts paired with the next."""
    one = [json.dumps([[h, 1]]) for h in HOSTS]
    two = [json.dumps([[h, 1], [HOSTS[(k + 1) % len(HOSTS)], 2]]) for k, h in enumerate(HOSTS)]
    return one + two


def testrun_ids(n: int) -> np.ndarray:
    return np.array([f"tr-{i:07d}" for i in range(n)], dtype="S16")


STRINGS = ["", *GROUPS, *REQUESTORS, "nightly", "full image", *hosts_texts(),
           "RuntimeError: device did not boot"]
"""The string table of a product file (string id = position)."""


def product_file(n: int) -> str:
    """Path of a cached product-layout file of n testruns."""
    path = os.path.join(CACHE, f"product-v{FORMAT}-{n}.h5")
    if os.path.exists(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    cols = events(n)
    strings = STRINGS
    sid = {s: i for i, s in enumerate(strings)}
    tmp = path + ".tmp"
    with tables.open_file(tmp, "w") as h5:
        schema.create_layout(h5)
        root = h5.root
        root.strings.append(np.array([(s.encode(),) for s in strings[1:]],
                                     dtype=schema.STRING_DTYPE))
        runs = np.zeros(n, dtype=schema.RUN_DTYPE)
        runs["testrun_id"] = testrun_ids(n)
        runs["group"] = cols["group"] + sid[GROUPS[0]]
        root.runs.append(runs)
        ev = np.zeros(n * 10, dtype=schema.EVENT_DTYPE)
        for name in ("run", "code", "emit", "received"):
            ev[name] = cols[name]
        req_rows = np.flatnonzero(ev["code"] == schema.CODE["request"])
        req = np.zeros(len(req_rows), dtype=schema.REQUEST_DTYPE)
        req["run"] = ev["run"][req_rows]
        req["event_row"] = req_rows
        req["queue"], req["configuration"] = sid["nightly"], sid["full image"]
        req["hosts"] = cols["hosts"][req["run"]] + sid[hosts_texts()[0]]
        req["requestor"] = cols["requestor"][req["run"]] + sid[REQUESTORS[0]]
        root.requests.append(req)
        err_rows = np.flatnonzero(ev["code"] == schema.CODE["error"])
        err = np.zeros(len(err_rows), dtype=schema.ERROR_DTYPE)
        err["run"], err["event_row"] = ev["run"][err_rows], err_rows
        err["message"] = sid["RuntimeError: device did not boot"]
        root.errors.append(err)
        root.events.append(ev)
        root._v_attrs.trmon_commit = json.dumps(schema.row_counts(h5))
    os.replace(tmp, path)
    return path


def seed_file(n: int) -> str:
    """Path of a cached seed-layout file (one group per device group, times in minutes)."""
    path = os.path.join(CACHE, f"seed-v{FORMAT}-{n}.h5")
    if os.path.exists(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    cols = events(n)
    ids = testrun_ids(n)
    names = np.array([name.encode() for name in schema.EVENT_NAMES], dtype="S16")
    group_of_event = cols["group"][cols["run"]]
    desc = {"testrun_id": tables.StringCol(16, pos=0), "ev_name": tables.StringCol(16, pos=1),
            "emit": tables.Int64Col(pos=2), "received": tables.Int64Col(pos=3)}
    tmp = path + ".tmp"
    with tables.open_file(tmp, "w") as h5:
        for g, group in enumerate(GROUPS):
            sel = np.flatnonzero(group_of_event == g)
            rows = np.zeros(len(sel), dtype=[("testrun_id", "S16"), ("ev_name", "S16"),
                                             ("emit", "<i8"), ("received", "<i8")])
            rows["testrun_id"] = ids[cols["run"][sel]]
            rows["ev_name"] = names[cols["code"][sel]]
            rows["emit"] = (cols["emit"][sel] // 60).astype(np.int64)
            rows["received"] = (cols["received"][sel] // 60).astype(np.int64)
            grp = h5.create_group("/", group)
            table = h5.create_table(grp, "events", desc, expectedrows=len(sel))
            table.append(rows)
    os.replace(tmp, path)
    return path
