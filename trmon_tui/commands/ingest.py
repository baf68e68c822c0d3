"""`trmon-tui ingest FILE`: append JSON-lines events from stdin to FILE (created if missing).

Each line is one event object (DESIGN.md, "Events"); `received` is stamped on receipt when
absent.  A bad line is reported on stderr as ``line N: reason`` and skipped; every good line is
committed (store.writer batches commits, so a pipe sustains tens of thousands of events/s).
Exit status: 0 all kept, 1 some lines rejected, 2 the file cannot be written.

The input ends at end of file: a cut pipe (the process upstream killed, the SSH link dropped)
ends it too, and every line read is committed first, so the file then holds exactly the events
read (a last line cut in half is rejected as not JSON).  `--count` prints that number, for
`tail --skip` when a mirror resumes (README, "Files on other servers").
"""

from __future__ import annotations

import argparse
import os
import sys

from store.lines import write_line
from store.writer import EventWriter, StoreError


def run(args: argparse.Namespace) -> int:
    """Read stdin to the end, write the good events, report the bad lines."""
    if args.count:
        return _count(args.file)
    try:
        writer = EventWriter(args.file)
    except StoreError as exc:
        print(f"trmon-tui ingest: {exc}", file=sys.stderr)
        return 2
    kept = rejected = 0
    try:
        with writer:
            for number, raw in enumerate(sys.stdin.buffer, start=1):
                reason = write_line(writer, raw)
                if reason is None:
                    kept += 1 if raw.strip() else 0
                else:
                    rejected += 1
                    print(f"line {number}: {reason}", file=sys.stderr)
    except StoreError as exc:
        print(f"trmon-tui ingest: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # The writer's close() above committed every line read so far.
        print(f"trmon-tui ingest: interrupted after {kept} events", file=sys.stderr)
        return 130
    if rejected:
        print(f"trmon-tui ingest: kept {kept} events, rejected {rejected} lines",
              file=sys.stderr)
        return 1
    return 0


def _count(path: str) -> int:
    """Print how many events FILE holds (0 when it does not exist yet), after finishing a
    commit that a killed ingest left in the journal exactly as the next ingest would: the
    events a resumed mirror already has, so `tail --skip` that many."""
    if not os.path.exists(path):
        print(0)
        return 0
    try:
        with EventWriter(path) as writer:
            events = writer.committed
    except StoreError as exc:
        print(f"trmon-tui ingest: {exc}", file=sys.stderr)
        return 2
    print(events)
    return 0
