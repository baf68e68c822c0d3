"""`trmon-tui mirror HOST:PATH LOCAL.h5 [--ssh CMD] [--restart]`: keep a local copy of another
server's event file (store.mirror does the work; README, "Files on other servers").

Exit status: 0 stopped by SIGINT/SIGTERM (what was received is committed), 1 the source holds an
event the copy cannot keep, 2 a usage error or a LOCAL that cannot be written, 3 the source was
replaced (nothing of the other file appended; `--restart` keeps the copy as LOCAL.N instead and
starts afresh).  Every message is one line on stderr.
"""

from __future__ import annotations

import argparse
import signal
import sys

from store.mirror import Mirror, MirrorError
from store.remote_tail import DEFAULT_REMOTE, DEFAULT_SSH
from trmon_tui.plain import clean, duration

PREFIX = "trmon-tui mirror: "


def say(message: str) -> None:
    """One line on stderr; what came from the other server is shown literally."""
    print(PREFIX + clean(message), file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        mirror = Mirror(args.source, args.local, ssh=DEFAULT_SSH if args.ssh is None else args.ssh,
                        remote=args.remote_command or DEFAULT_REMOTE, restart=args.restart,
                        progress=args.progress, say=say, duration=duration)
    except MirrorError as exc:
        say(str(exc))
        return exc.code
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: mirror.stop())
    return mirror.run()
