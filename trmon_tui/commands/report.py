"""`trmon-tui report FILE [--json]`: the statistics of a file, as a table or as JSON.

Reads the whole file with store.tail.TailReader (in batches, so memory stays bounded), folds
them into a store.stats.StatsEngine and prints its summary: DESIGN.md's JSON with --json, else
a plain-text table per device group (see report_table).

On a large file the work is spread over the machine's two cores: a reader thread reads the next
batch and prepares it (store.catchup, which the monitor shares), the engine applies the previous
one with a helper thread of its own, and the summary's sample statistics run in two threads.
See tests/benchmarks/bench_stats.py.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time

from store.catchup import catch_up
from store.stats import StatsEngine
from store.tail import TailReader
from store.window import parse_since
from trmon_tui.commands.report_table import render, safe

PREFIX = "trmon-tui report: "
MAX_LISTED = 6  # queued / ongoing testruns named per section of the table
THREAD_BYTES = 128 << 20  # from this file size a reader thread overlaps reading and applying
LOCK_PATIENCE = 30.0  # seconds to wait for a writer holding the file before giving up


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
    reader = TailReader(path)
    started = time.monotonic()
    while True:
        # A small file is a few polls: a reader thread would cost more than it saves.
        with catch_up(reader, StatsEngine.prepare, threaded=size >= THREAD_BYTES) as results:
            for result in results:
                for item in result.items:
                    engine.apply(item)
        status = result.status
        if status.state == "live":
            return engine, status.file_format
        transient = status.state == "locked" or \
            status.message.endswith("retrying") or not status.message
        if not transient or time.monotonic() - started > LOCK_PATIENCE:
            raise ReportError(status.message.split("; ")[0] or f"{path} could not be read")
        time.sleep(0.05)
