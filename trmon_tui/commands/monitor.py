"""`trmon-tui [LABEL=]FILE ...` and `trmon-tui --demo`: run the live monitor.

The config file's failure rules (cli.py reads it into ``args.rules``) classify the errors;
`--demo` reads demo/config.toml instead unless ``--config`` names one."""

from __future__ import annotations

import argparse
import sys
import time


def run(args: argparse.Namespace) -> int:
    """Run the app on args.files, or on a live demo file with --demo; returns the exit code."""
    if args.demo and args.files:
        print("trmon-tui: --demo watches a file of its own: give it no FILE", file=sys.stderr)
        return 2
    if args.demo and getattr(args, "at", None) is not None:
        print("trmon-tui: --demo is live: give it no --at", file=sys.stderr)
        return 2
    started = None
    options = {"clock": args.clock, "since": args.since, "group": args.group,
               "poll": args.poll if args.poll and args.poll > 0 else 1.0,
               "bell": args.bell, "rules": getattr(args, "rules", ())}
    if args.now is not None:  # ages measured to a fixed time (make_app)
        options["now"] = args.now
    if not args.demo:
        from store.sources import parse_sources
        from store.window import parse_since
        from trmon_tui.plain import clean

        try:
            sources = parse_sources(args.files)
            if args.since:  # checked before anything starts reading (make_app uses it)
                parse_since(args.since, time.time())
            at = resolve_at(args)
        except ValueError as exc:  # two files with one label, a file given twice, a bad since
            print(f"trmon-tui: {clean(exc)}", file=sys.stderr)
            return 2
        if at is not None:  # the files as they stood at T (the keys < > L move, see app)
            options["at"] = at
        started = _start_loop(sources, args.clock, args.now, options["poll"], options["rules"],
                              at)
    from trmon_tui.app import make_app

    try:
        if started is not None:
            app = make_app(sources, started=started, **options)
            started = None  # the app stops the loop when it ends
            app.run()
            return 0
        from demo.live import demo_clock, live_demo

        if getattr(args, "config", None) is None:
            options["rules"] = demo_rules()
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
        if started is not None:  # the app was never made: stop the loop
            started.cancelled.set()


def resolve_at(args: argparse.Namespace) -> float | None:
    """--at T as seconds since the epoch (None without it); ValueError with a line saying
    what is wrong (a bad T, or --now given too: --at T sets now to T)."""
    text = getattr(args, "at", None)
    if text is None:
        return None
    if args.now is not None:
        raise ValueError("give --at T or --now EPOCH, not both (--at T sets now to T)")
    from store.window import parse_at

    return parse_at(text, time.time())


def demo_rules() -> list:
    """The failure rules of demo/config.toml, which classify the demo farm's error texts."""
    from demo import CONFIG
    from store.config import load

    return load(str(CONFIG)).rules


def _start_loop(sources, clock: str, now: float | None, poll: float, rules=(),
                at: float | None = None):
    """Start the monitor's tail loop (trmon_tui.feed) before the app is imported: it reads
    and folds in the files' history, as `report` does, while the UI is imported and starts up
    (a few tenths of a second: a few million events); its messages wait for the app.
    ``at`` (--at): the files as they stood then."""
    import threading

    from trmon_tui.feed import Mailbox, Started, TailLoop, fixed_clock, start_loop
    from trmon_tui.model import ViewState

    mailbox, cancelled = Mailbox(), threading.Event()
    clocks = {} if now is None else dict(zip(("now", "wall"), fixed_clock(now), strict=True))
    loop = TailLoop(sources, mailbox.post, clock=clock, rules=rules, view=ViewState(at=at),
                    **clocks)
    start_loop(loop, cancelled, mailbox.post, poll=poll, watch=True)
    return Started(mailbox, loop, cancelled)
