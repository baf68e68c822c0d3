"""Notice changes of one file as they happen (watchfiles), for the tail loop."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

STEP = 100
"""Milliseconds between watchfiles' looks for changes: its latency, and how often it takes the
GIL (the monitor reads at most once a second anyway)."""


def watch_file(path: str, changed: Callable[[], None], cancelled: threading.Event) -> None:
    """Call ``changed`` on every change of ``path`` until ``cancelled`` (blocks: run it in a
    thread).  It watches the directory: a watch on the file itself dies when the file is
    replaced.  A broken watch only costs latency: the tail loop's timer polls go on."""
    from watchfiles import watch

    directory, name = os.path.dirname(path), os.path.basename(path)
    while not cancelled.is_set():
        if not os.path.isdir(directory):
            cancelled.wait(2.0)  # the timer poll covers us until the directory exists
            continue
        try:
            for _changes in watch(directory, watch_filter=lambda _c, p: os.path.basename(p)
                                  == name, debounce=50, step=STEP, stop_event=cancelled,
                                  recursive=False, raise_interrupt=False):
                changed()
        except Exception:  # noqa: BLE001
            cancelled.wait(2.0)
