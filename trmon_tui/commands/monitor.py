"""`trmon-tui [LABEL=]FILE ...` and `trmon-tui --demo`: run the live monitor."""

from __future__ import annotations

import argparse
import sys
import time

STARTUP_AHEAD = 4  # batches the history's reader may read before the tail loop takes over


def run(args: argparse.Namespace) -> int:
    """Run the app on args.files, or on a live demo file with --demo; returns the exit code."""
    if args.demo and args.files:
        print("trmon-tui: --demo watches a file of its own: give it no FILE", file=sys.stderr)
        return 2
    history = None
    if not args.demo:
        from store.multi import parse_sources
        from trmon_tui.commands.report_table import safe

        try:
            sources = parse_sources(args.files)
        except ValueError as exc:  # two files with one label, a file given twice
            print(f"trmon-tui: {safe(exc)}", file=sys.stderr)
            return 2
        history = _start_reading(sources)
    from trmon_tui.app import make_app

    options = {"clock": args.clock, "since": args.since, "group": args.group,
               "poll": args.poll if args.poll and args.poll > 0 else 1.0}
    if args.now is not None:  # ages measured to a fixed time (make_app)
        options["now"] = args.now
    try:
        if not args.demo:
            app = make_app(sources, history=history, **options)
            history = None  # the app's tail loop has it now
            app.run()
            return 0
        from demo.live import demo_clock, live_demo

        with live_demo(args.speed, args.seed) as path:
            # Demo event times run `speed` times faster than the wall clock: ages and running
            # phases must grow with the farm's clock, not ours.
            clock = demo_clock(path)
            if clock is not None and "now" not in options:
                options["now"] = clock.now
                options["wall"] = time.time
            app = make_app(str(path), **options)
            app.run()
        return 0
    except ValueError as exc:  # a bad --since or --speed: said before anything starts
        print(f"trmon-tui: {exc}", file=sys.stderr)
        return 2
    finally:
        if history is not None:
            history.close()


def _start_reading(sources):
    """Start reading the files' history in a thread, as `report` does: importing and starting
    the UI takes a few tenths of a second, time enough to read a few million events."""
    from store.catchup import HOLD
    from store.multi import MultiTail, catch_up
    from store.stats import StatsEngine

    # A few batches ahead: until the UI's tail loop takes over, the reader need not wait.
    return catch_up(MultiTail(sources, hold=HOLD), StatsEngine.prepare, ahead=STARTUP_AHEAD)
