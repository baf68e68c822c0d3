"""Helper process for the store tests: a real writer (or lock holder) to run, follow and kill.

    python tests/writer_proc.py write FILE --gen G --count N [--batch B] [--interval S]
                                           [--flush-each] [--single] [--rate EV_PER_S]
    python tests/writer_proc.py hold FILE SECONDS

`write` appends events numbered 0..N-1 of generation G (testrun "gG-k" for event i = 5k+j, names
cycling request/queue_start/queue_end/test_start/publish, emit = i, received = G) and prints
"ready" once the writer is open, "flushed I" after each flush() returns (every event below I is
committed) with --flush-each, and "done N" at the end.  `hold` opens FILE with PyTables (taking
HDF5's lock), prints "holding" and sleeps: the "writer that keeps the file open" case.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

NAMES = np.array(["request", "queue_start", "queue_end", "test_start", "publish"])


def columns(gen: int, start: int, stop: int) -> dict:
    """Events start..stop-1 of a generation, as write_columns columns."""
    i = np.arange(start, stop)
    names = NAMES[i % 5]
    return {
        "testrun_id": np.char.add(f"g{gen}-", (i // 5).astype(str)),
        "event": names,
        "emit": i.astype(np.float64),
        "received": np.full(len(i), float(gen)),
        "device_group": np.where(names == "request", "grp", ""),
    }


def write(args: argparse.Namespace) -> None:
    from store.writer import EventWriter

    with EventWriter(args.file, interval=args.interval) as writer:
        print("ready", flush=True)
        period = args.batch / args.rate if args.rate else 0.0
        next_at = time.monotonic()
        for start in range(0, args.count, args.batch):
            stop = min(args.count, start + args.batch)
            cols = columns(args.gen, start, stop)
            if args.single:
                for k in range(stop - start):
                    writer.write({key: (v[k].item() if key in ("emit", "received") else str(v[k]))
                                  for key, v in cols.items() if str(v[k]) != ""})
            else:
                writer.write_columns(cols)
            if args.flush_each:
                writer.flush()
                print(f"flushed {stop}", flush=True)
            if period:
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))
    print(f"done {args.count}", flush=True)


def hold(args: argparse.Namespace) -> None:
    import tables

    h5 = tables.open_file(args.file, "a")
    print("holding", flush=True)
    time.sleep(args.seconds)
    h5.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    w = sub.add_parser("write")
    w.add_argument("file")
    w.add_argument("--gen", type=int, default=0)
    w.add_argument("--count", type=int, default=1000)
    w.add_argument("--batch", type=int, default=100)
    w.add_argument("--interval", type=float, default=0.25)
    w.add_argument("--flush-each", action="store_true")
    w.add_argument("--single", action="store_true")
    w.add_argument("--rate", type=float, default=0.0)
    h = sub.add_parser("hold")
    h.add_argument("file")
    h.add_argument("seconds", type=float)
    args = parser.parse_args()
    write(args) if args.mode == "write" else hold(args)


if __name__ == "__main__":
    main()


def read_events(path: str, *, torn_ok: bool = False) -> list[dict]:
    """Every event a fresh TailReader delivers from ``path`` (test helper).  ``torn_ok``: the
    file may have a chunk torn by a writer killed inside a commit (README, "File format"): a
    reader then stops at it, says so (Trouble.CHECKSUM, the commit cut short still journalled)
    and has delivered only what comes before it."""
    from store import journal
    from store.batch import Batch, Reset
    from store.catalog import Catalog
    from store.tail import TailReader
    from store.trouble import Trouble

    reader, catalog, events = TailReader(path, max_rows=100_000), Catalog(), []
    while True:
        result = reader.poll()
        for item in result.items:
            if isinstance(item, Reset):
                catalog.reset()
                events = []
            elif isinstance(item, Batch):
                catalog.apply(item)
                events.extend(catalog.event_dicts(item))
        if not result.more:
            torn = torn_ok and result.status.reason == Trouble.CHECKSUM and \
                journal.pending_counts(path) is not None
            assert result.status.state == "live" or torn, result.status
            return events


def generation_prefix(events: list[dict], gen: int) -> int:
    """Length m of a generation's events, asserting they are exactly events 0..m-1 in order."""
    mine = [e["emit"] for e in events if e["testrun_id"].startswith(f"g{gen}-")]
    assert mine == [float(i) for i in range(len(mine))], f"gen {gen}: not 0..m-1 in order"
    return len(mine)
