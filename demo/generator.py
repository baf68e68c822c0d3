"""Farm events as columns for `store.writer.EventWriter.write_columns`, and the static file.

The columns are those of `trmon-tui ingest` (testrun_id, event, emit, received, device_group,
queue, configuration, requestor, request_id, hosts, error) as equal-length numpy arrays; a
testrun's attributes ride on its `request` event, its message on its `error` event, "" elsewhere.
Events are handed over in the order the recorder received them, as a real farm writes its file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from demo import farm
from demo.model import ERROR, REQUEST, FarmModel, RunBlock
from store.schema import EVENT_NAMES

FIXED_END = 1767225600.0
"""2026-01-01 00:00 UTC: where a seeded static history ends, so a seed fixes every byte."""
CHUNK_EVENTS = 1 << 17
"""Events per write_columns call: bounds the memory of the string columns."""
BLOCK_RUNS = 100_000
"""Testruns modelled at once by static_chunks."""

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


def static_chunks(runs: int, seed: int | None, end: float, chunk: int = CHUNK_EVENTS,
                  block_runs: int = BLOCK_RUNS) -> Iterator[dict[str, np.ndarray]]:
    """Column chunks of a history of `runs` testruns, the last requested a minute before `end`,
    in receive order, cut at `end` (the runs in progress then are queued or ongoing, and it
    ends in trouble: FarmModel.trouble_at)."""
    model = FarmModel(seed)
    model.trouble_at(end)
    requests = model.arrivals.last_n(runs, end - farm.MINUTE, model.rng)
    yield from receive_ordered(model, requests, end, chunk=chunk, block_runs=block_runs)


def receive_ordered(model: FarmModel, requests: np.ndarray, until: float, *,
                    chunk: int = CHUNK_EVENTS, block_runs: int = BLOCK_RUNS,
                    later: list[RunBlock] | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Column chunks of the events of testruns requested at `requests` (sorted), received up
    to `until`, in receive order; the events received after it are appended to `later`.

    Runs are modelled `block_runs` at a time to bound memory.  Events of a block received after
    the next block's first request wait in a carry and are merged with the next block: the
    result is the same receive order as sorting everything at once.
    """
    carry: RunBlock | None = None
    for lo in range(0, len(requests), block_runs):
        block = model.runs(requests[lo: lo + block_runs])
        if carry is not None:
            block = RunBlock.concat(carry, block)  # carried runs are older: they sort first
        order = order_by_received(block)
        received = block.received[order]
        if lo + block_runs < len(requests):  # later runs' events all arrive at or after this
            cut = int(np.searchsorted(received, min(requests[lo + block_runs], until)))
        else:
            cut = int(np.searchsorted(received, until, side="right"))
        carry = block.take(order[cut:])
        for first in range(0, cut, chunk):
            yield columns(block, model.group_names, order[first: min(first + chunk, cut)])
    if later is not None and carry is not None:
        later.append(carry)


def write_static(path: str, runs: int, seed: int | None, end: float | None = None, *,
                 progress: Callable[[int], None] | None = None,
                 stop: threading.Event | None = None) -> int:
    """Write a static history of `runs` testruns to `path` through EventWriter.

    `end` defaults to a fixed date with a seed (reproducible files) and to now without one.
    Returns the number of events written; `progress(events_so_far)` is called after each chunk.
    When `stop` is set, it stops after the current chunk; what was written is committed.
    """
    from store.writer import EventWriter

    if end is None:
        end = FIXED_END if seed is not None else time.time()
    written = 0
    with EventWriter(path) as writer:
        for cols in static_chunks(runs, seed, end):
            writer.write_columns(cols)
            written += len(cols["event"])
            if writer.buffered > 2 * CHUNK_EVENTS:
                writer.flush()  # the model outruns the writer: keep its buffer bounded
            if progress:
                progress(written)
            if stop is not None and stop.is_set():
                break
    return written
