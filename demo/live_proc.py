"""Entry point of the live generator subprocess that `demo.live.live_demo` starts.

    python -m demo.live_proc PATH --speed X --runs H --origin T --ready-file F --parent PID

Writes the history, creates the ready file (the parent waits for it), then writes live until
SIGTERM / SIGINT or until the parent process is gone; exits 0 with everything committed.  When
the parent died without cleaning up, --cleanup-dir (the demo's temporary directory) is removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the live farm; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m demo.live_proc")
    parser.add_argument("path")
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None, help="testruns of history")
    parser.add_argument("--origin", type=float, default=None, help="farm clock origin")
    parser.add_argument("--ready-file", default=None)
    parser.add_argument("--parent", type=int, default=None,
                        help="stop when this process is gone")
    parser.add_argument("--cleanup-dir", default=None,
                        help="directory to remove if the parent died without removing it")
    args = parser.parse_args(argv)

    import tables

    from demo import live

    # Lock retries while a reader holds the file would print HDF5's error stack every time.
    tables.silence_hdf5_messages()

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def ready(_events: int) -> None:
        if args.ready_file:
            Path(args.ready_file).touch()

    history = live.DEFAULT_HISTORY if args.runs is None else args.runs
    live.run_live(args.path, speed=args.speed, seed=args.seed, history=history, stop=stop,
                  origin=args.origin, on_ready=ready, parent=args.parent)
    if args.parent is not None and os.getppid() != args.parent and args.cleanup_dir:
        # The parent was killed (SIGKILL, SIGHUP of its terminal...) before its own cleanup.
        shutil.rmtree(args.cleanup_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
