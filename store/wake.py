"""Noticing when one of several event files changes (the monitor and the exporter).

DESIGN.md: watch the directory, not the file (a watch on a file dies when it is replaced or
recreated), and keep a timer poll too (a notification can be missed).  A directory that does not
exist yet is looked for again every few seconds; meanwhile the caller's timer poll covers it.
A writer's journal (FILE.journal) is watched too: its removal ends a commit, whose rows a reader
may not take before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable

from store.journal import journal_path

RECHECK_MS = 5000  # how often the watch looks whether the set of directories changed
STEP = 100
"""Milliseconds between watchfiles' looks for changes: its latency, and how often it takes the
GIL (the monitor and the exporter read at most about once a second anyway)."""


def watch_files(paths: Iterable[str], changed: Callable[[], None],
                stop: threading.Event, step: int = STEP) -> threading.Thread:
    """Call ``changed()`` whenever one of the files or its writer journal changes, until
    ``stop`` is set (a daemon thread, returned started)."""
    names = set()
    for path in paths:
        path = os.path.abspath(path)
        names |= {path, journal_path(path)}
    thread = threading.Thread(target=_watch, args=(names, changed, stop, step), daemon=True,
                              name="trmon-watch-files")
    thread.start()
    return thread


def _watch(names: set[str], changed: Callable[[], None], stop: threading.Event,
           step: int) -> None:
    import watchfiles

    while not stop.is_set():
        directories = _existing_directories(names)
        if not directories:
            stop.wait(RECHECK_MS / 1000)
            continue
        try:
            for changes in watchfiles.watch(
                    *directories, watch_filter=lambda _change, path: path in names,
                    debounce=min(50, step), step=step, stop_event=stop, rust_timeout=RECHECK_MS,
                    yield_on_timeout=True, recursive=False, raise_interrupt=False):
                if changes:
                    changed()
                if _existing_directories(names) != directories:
                    break  # a directory appeared or vanished: watch the new set
        except Exception:  # noqa: BLE001 - a broken watch only costs latency: timer polls
            stop.wait(RECHECK_MS / 1000)


def _existing_directories(names: set[str]) -> list[str]:
    return sorted({d for d in map(os.path.dirname, names) if os.path.isdir(d)})
