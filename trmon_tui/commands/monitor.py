"""`trmon-tui [FILE]` and `trmon-tui --demo`: run the live monitor."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    """Run the app on args.file, or on a live demo file with --demo; returns the exit code."""
    from trmon_tui.app import make_app

    options = {"clock": args.clock, "since": args.since, "group": args.group,
               "poll": args.poll if args.poll and args.poll > 0 else 1.0}
    try:
        if args.demo:
            from demo.live import live_demo

            with live_demo(args.speed, args.seed) as path:
                make_app(str(path), **options).run()
        else:
            make_app(args.file, **options).run()
    except ValueError as exc:  # e.g. an unreadable --since
        print(f"trmon-tui: {exc}", file=sys.stderr)
        return 2
    return 0
