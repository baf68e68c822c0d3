"""`trmon-tui report FILE [--json]`: the statistics of a file, as a table or as JSON.

Reads the whole file with store.tail.TailReader (batches of at most READ_ROWS rows, so memory
stays bounded), folds them into a store.stats.StatsEngine and prints its summary: DESIGN.md's
JSON with --json, else a plain-text table per device group (see report_table).

On a large file the work is spread over the machine's two cores: a reader thread reads the next
batch (holding the file open for up to HOLD seconds at a time) and prepares it
(StatsEngine.prepare), the engine applies the previous one with a helper thread of its own, and
the summary's sample statistics run in two threads.  See tests/benchmarks/bench_stats.py.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import queue
import sys
import threading
import time
from contextlib import closing

from store.batch import Batch, Reset
from store.h5io import quiet_hdf5
from store.stats import StatsEngine
from store.tail import RETRY_PATIENCE, TailReader
from store.vet import one_line
from store.window import parse_since
from trmon_tui.commands.report_table import render, safe

PREFIX = "trmon-tui report: "
READ_ROWS = 500_000  # events per poll: bounds the memory of one batch in flight
FIRST_ROWS = 100_000  # events of the first poll
MAX_LISTED = 6  # queued / ongoing testruns named per section of the table
THREAD_BYTES = 128 << 20  # from this file size a reader thread overlaps reading and applying
LOCK_PATIENCE = 30.0  # seconds to wait for a writer holding the file before giving up
HOLD = 0.25  # seconds the reader keeps the file open while reading on (a writer waits that long)


class ReportError(Exception):
    """A problem with the input that ends the command with a message and status 1."""


def run(args: argparse.Namespace) -> int:
    """Print the statistics of args.file; returns the exit status."""
    keep_freed_memory()
    now = time.time()
    try:
        since = None if args.since is None else parse_since(args.since, now)
    except ValueError as exc:
        print(PREFIX + str(exc), file=sys.stderr)
        return 2
    try:
        engine, file_format = read_file(args.file, args.clock)
    except ReportError as exc:
        print(PREFIX + safe(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - rows a damaged file got past every check
        print(PREFIX + safe(f"could not read {args.file} ({type(exc).__name__}: {one_line(exc)})"),
              file=sys.stderr)
        return 1
    if args.group is not None and args.group not in engine.groups():
        known = ", ".join(safe(g) for g in engine.groups()) or "none"
        print(PREFIX + f"no device group {safe(args.group)!r} in {safe(args.file)} "
              f"(groups: {known})", file=sys.stderr)
        return 1
    summary = engine.summary(since=since, group=args.group, now=now)
    try:
        if args.json:
            sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        else:
            def waiting(status: str, group: str | None) -> list[dict]:
                rows = engine.testruns(status, since=since, group=group, now=now,
                                       limit=MAX_LISTED)
                for row in rows:
                    since_t = row["phase_since"]
                    row["phase_age"] = None if since_t is None else now - since_t
                return rows

            sys.stdout.write(render(summary, engine.counts(), path=args.file, clock=args.clock,
                                    since=args.since, file_format=file_format, waiting=waiting))
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep the memory numpy frees, for reuse by the next batch.

    Reading a large file allocates tens of megabytes of temporaries per batch, in three
    threads.  By default glibc gives each thread its own arena and hands freed memory back to
    the kernel, so the next batch faults every page in again: about a third of the command's
    system time.  One arena that is not trimmed reuses the pages (and peaks no higher).
    Nothing happens where mallopt does not exist (musl, macOS).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8  # glibc's malloc.h
    mallopt(m_arena_max, 1)
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's largest: bigger blocks are mapped anyway
    mallopt(m_trim_threshold, 1 << 30)


def read_file(path: str, clock: str = "received") -> tuple[StatsEngine, str]:
    """Fold every committed row of ``path`` into a new StatsEngine; (engine, "trmon"|"seed").

    Raises ReportError when the file is missing, not HDF5, foreign or stays unreadable.
    """
    if not os.path.exists(path):
        raise ReportError(f"{path} does not exist")
    if os.path.isdir(path):
        raise ReportError(f"{path} is a directory, not an event file")
    engine = StatsEngine(clock=clock)
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0  # gone meanwhile: the reader says so
    if size < THREAD_BYTES:  # a few polls: a thread costs more than it saves
        last: list = []

        def take(message: tuple) -> None:
            if message[0] == "items":
                for item in message[1]:
                    engine.apply(item)
            else:
                last.append(message)

        _produce(path, take, threading.Event())
        kind, value = last[0]
        if kind == "done":
            return engine, value
        raise value
    # HDF5 reads release the GIL: a reader thread polls the next batch while this thread
    # folds the previous one in (a queue of one bounds the batches in flight, and memory).
    batches: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(path, batches.put, stop), daemon=True)
    thread.start()
    try:
        while True:
            kind, value = batches.get()
            if kind == "items":
                for item in value:
                    engine.apply(item)
            elif kind == "done":
                return engine, value
            else:
                raise value
    finally:
        stop.set()


def _produce(path: str, put, stop: threading.Event) -> None:
    """Poll ``path`` until everything committed is read; ``put`` each poll's items
    ("items", list), then ("done", file format) or ("error", exception)."""
    try:
        quiet_hdf5()
        # A small first batch: the engine starts on it while the reader reads the next.
        reader = TailReader(path, max_rows=FIRST_ROWS)
        trouble_since = None
        with closing(reader.polls(hold=HOLD)) as polls:  # closing: the file is not left open
            for result in polls:
                reader.max_rows = READ_ROWS
                if stop.is_set():
                    return
                items = [item for item in result.items if isinstance(item, (Batch, Reset))]
                for item in items:
                    StatsEngine.prepare(item)  # in this thread, while the engine applies
                if items:
                    put(("items", items))
                    trouble_since = None
                if result.more:
                    continue
                status = result.status
                if status.state == "live":
                    put(("done", status.file_format))
                    return
                trouble_since = trouble_since or time.monotonic()
                if time.monotonic() - trouble_since > _patience(status):
                    message = status.message.split("; ")[0] or f"{path} could not be read"
                    put(("error", ReportError(message)))
                    return
                time.sleep(0.05)
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
        put(("error", exc))


def _patience(status) -> float:
    """Seconds to keep polling while the reader reports ``status``: a writer holding the lock
    lets go, a failed read may have met a file mid-rewrite; anything else (missing, damaged,
    foreign) is the answer."""
    if status.state == "locked" or not status.message:
        return LOCK_PATIENCE
    return RETRY_PATIENCE if status.message.endswith("retrying") else 0.0
