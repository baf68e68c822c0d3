"""`trmon-tui generate OUT`: dummy farm events, all at once (--runs N) or live (--live).

Static: a history of N testruns through the store's real writer, in receive order; with --seed
the file is reproducible (its history ends at a fixed date), without it the history ends now.
Live: optionally N testruns of history, then the farm keeps running in real time accelerated by
--speed until Ctrl-C / SIGTERM, every event committed within the writer's interval.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

PROG = "trmon-tui generate"


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit status (Ctrl-C is a normal, clean stop: 0)."""
    problem = _check_args(args) or _check_out(args.out)
    if problem:
        print(f"{PROG}: {problem}", file=sys.stderr)
        return 2
    # A reader (tail, the monitor) holding the file makes the writer's open fail and retry;
    # HDF5 would print its error stack on stderr for every retry.  Failures still raise.
    from store.h5io import quiet_hdf5

    quiet_hdf5()
    try:
        if args.live:
            return _live(args)
        return _static(args)
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place
        # The writer's context manager has already committed everything it was given.
        print(f"{PROG}: interrupted; everything written so far is committed in {args.out}",
              file=sys.stderr)
        return 0
    except Exception as exc:  # StoreError and friends: say what and stop, no traceback
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


def _check_args(args: argparse.Namespace) -> str | None:
    if not args.live and args.runs is None:
        return "--runs N is required without --live (how many testruns to write)"
    if args.runs is not None and args.runs < (0 if args.live else 1):
        return f"--runs must be at least {0 if args.live else 1}, not {args.runs}"
    if not args.speed > 0 or args.speed != args.speed or args.speed == float("inf"):
        return f"--speed must be a positive number, not {args.speed}"
    return None


def _check_out(out: str) -> str | None:
    """Refuse to touch anything that already exists: generate always writes a new file."""
    if os.path.isdir(out):
        return f"{out} is a directory; give the path of a new file"
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        return f"cannot create {out}: directory {parent} does not exist"
    if os.path.exists(out) and os.path.getsize(out) > 0:
        from store.vet import Damaged

        try:
            ours = _is_trmon_file(out)
        except Damaged as exc:
            return f"{exc}; refusing to overwrite it (nothing was written)"
        if ours:
            return (f"{out} already holds trmon-tui events; generate writes a new file: "
                    f"remove it or choose another name (nothing was written)")
        return (f"{out} exists and is not a trmon-tui event file; refusing to overwrite it "
                f"(nothing was written)")
    return None


def _is_trmon_file(path: str) -> bool:
    """Whether an existing file holds trmon-tui events (raises vet.Damaged if damaged)."""
    from store import h5io, schema, vet

    try:
        with h5io.open_file(path, "r") as h5:
            return schema.is_product_file(h5)
    except vet.Damaged:
        raise
    except Exception:  # not HDF5, locked, truncated: in any case not ours to overwrite
        return False


def _static(args: argparse.Namespace) -> int:
    from demo import generator

    end = generator.FIXED_END if args.seed is not None else time.time()
    started = time.monotonic()
    stop = threading.Event()
    with _stop_on_signals(stop):
        events = generator.write_static(args.out, args.runs, args.seed, end, stop=stop)
    if stop.is_set():
        print(f"{PROG}: interrupted; everything written so far is committed in {args.out} "
              f"({events:,} events)", file=sys.stderr)
        return 0
    fixed = " (fixed by --seed; without it the history ends now)" if args.seed is not None else ""
    print(f"{PROG}: wrote {args.runs:,} testruns ({events:,} events, history up to "
          f"{_utc(end)}{fixed}) to {args.out} in {time.monotonic() - started:.1f} s",
          file=sys.stderr)
    return 0


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM set `stop` (checked between chunks) instead of raising anywhere:
    an exception raised inside a finaliser or a C callback could be swallowed, and then the
    process would not stop at all."""
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _live(args: argparse.Namespace) -> int:
    from demo import live

    stop = threading.Event()
    history = live.DEFAULT_HISTORY if args.runs is None else args.runs

    def ready(events: int) -> None:
        print(f"{PROG}: wrote {history:,} testruns of history ({events:,} events) to "
              f"{args.out}; now writing live at {args.speed:g}x (Ctrl-C stops)", file=sys.stderr)

    with _stop_on_signals(stop):
        total = live.run_live(args.out, speed=args.speed, seed=args.seed, history=history,
                              stop=stop, on_ready=ready)
    print(f"{PROG}: stopped; {total:,} events committed in {args.out}", file=sys.stderr)
    return 0


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")
