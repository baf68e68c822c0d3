"""Farm events as columns for `store.writer.EventWriter.write_columns`, and the static file.

The columns are those of `trmon-tui ingest` (testrun_id, event, emit, received, device_group,
queue, configuration, requestor, request_id, hosts, error) as equal-length numpy arrays; a
testrun's attributes ride on its `request` event, its message on its `error` event, "" elsewhere.
Events are handed over in the order the recorder received them, as a real farm writes its file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

from demo import farm
from demo.model import ERROR, REQUEST, FarmModel, RunBlock
from store.schema import EVENT_NAMES

FIXED_END = 1767225600.0
"""2026-01-01 00:00 UTC: where a seeded static history ends, so a seed fixes every byte."""
CHUNK_EVENTS = 1 << 19
"""Events per write_columns call: bounds the memory of the string columns."""

_EVENT_NAMES = np.array(EVENT_NAMES)
_QUEUES = np.array(farm.QUEUES)
_REQUESTORS = np.array(farm.REQUESTORS)


def order_by_received(block: RunBlock, until: float | None = None) -> np.ndarray:
    """Indices of the block's events sorted by receive time (ties kept in run order).

    With `until`, only events received at or before it: a snapshot of a farm at work.
    """
    order = np.argsort(block.received, kind="stable")
    if until is not None:
        order = order[: np.searchsorted(block.received[order], until, side="right")]
    return order


def columns(block: RunBlock, group_names: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """The writer's columns for the events at `idx` of the block (in that order)."""
    run, code = block.run[idx], block.code[idx]
    req = np.flatnonzero(code == REQUEST)
    err = np.flatnonzero(code == ERROR)
    cols = {
        "testrun_id": block.testrun_id[run],
        "event": _EVENT_NAMES[code],
        "emit": block.emit[idx],
        "received": block.received[idx],
    }
    runs = run[req]  # the requesting testruns: only their attributes are looked up
    per_run = {
        "device_group": group_names[block.group[runs]],
        "queue": _QUEUES[block.queue[runs]],
        "configuration": block.configuration[runs],
        "requestor": _REQUESTORS[block.requestor[runs]],
        "request_id": block.request_id[runs],
        "hosts": block.hosts[runs],
    }
    for key, values in per_run.items():
        cols[key] = _sparse(len(idx), req, values)
    cols["error"] = _sparse(len(idx), err, block.error[run[err]])
    return cols


def _sparse(n: int, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=values.dtype if len(values) else "U1")
    out[at] = values
    return out


def static_block(runs: int, seed: int | None, end: float) -> tuple[FarmModel, RunBlock]:
    """A farm's history of `runs` testruns, the last requested a minute before `end`."""
    model = FarmModel(seed)
    requests = model.arrivals.last_n(runs, end - farm.MINUTE, model.rng)
    return model, model.runs(requests)


def static_chunks(runs: int, seed: int | None, end: float,
                  chunk: int = CHUNK_EVENTS) -> Iterator[dict[str, np.ndarray]]:
    """Column chunks of a static history, in receive order, cut at `end` (runs in progress
    then are queued or ongoing in the file)."""
    model, block = static_block(runs, seed, end)
    order = order_by_received(block, until=end)
    for lo in range(0, len(order), chunk):
        yield columns(block, model.group_names, order[lo: lo + chunk])


def write_static(path: str, runs: int, seed: int | None, end: float | None = None, *,
                 progress: Callable[[int], None] | None = None) -> int:
    """Write a static history of `runs` testruns to `path` through EventWriter.

    `end` defaults to a fixed date with a seed (reproducible files) and to now without one.
    Returns the number of events written; `progress(events_so_far)` is called after each chunk.
    """
    from store.writer import EventWriter

    if end is None:
        end = FIXED_END if seed is not None else time.time()
    written = 0
    with EventWriter(path) as writer:
        for cols in static_chunks(runs, seed, end):
            writer.write_columns(cols)
            written += len(cols["event"])
            if progress:
                progress(written)
    return written
