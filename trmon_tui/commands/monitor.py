"""`trmon-tui [FILE]` and `trmon-tui --demo`: run the live monitor."""

from __future__ import annotations

import argparse
import sys
import time


def run(args: argparse.Namespace) -> int:
    """Run the app on args.file, or on a live demo file with --demo; returns the exit code."""
    from trmon_tui.app import make_app

    options = {"clock": args.clock, "since": args.since, "group": args.group,
               "poll": args.poll if args.poll and args.poll > 0 else 1.0}
    try:
        if not args.demo:
            app = make_app(args.file, **options)
            app.run()
            return 0
        from demo.live import demo_clock, live_demo

        with live_demo(args.speed, args.seed) as path:
            # Demo event times run `speed` times faster than the wall clock: ages and running
            # phases must grow with the farm's clock, not ours.
            clock = demo_clock(path)
            if clock is not None:
                options["now"] = clock.now
                options["wall"] = time.time
            app = make_app(str(path), **options)
            app.run()
        return 0
    except ValueError as exc:  # a bad --since or --speed: said before anything starts
        print(f"trmon-tui: {exc}", file=sys.stderr)
        return 2
