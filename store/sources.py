"""The files of a multi-file view: `[LABEL=]FILE` arguments (report, exporter, monitor, tail)
and the "files" part of a report (how each file fared).

``parse_sources`` reads `[LABEL=]FILE` arguments.  An argument is split at its first "="
only when it is not an existing path and the part before the "=" is a plain label (letters,
digits, "_", "-", "."), so "/data/a=b.h5" stays a path; "LABEL=a=b.h5" names such a file.  A
label defaults to the file's name without its extension; two files with the same label are an
error that asks for labels.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

PLAIN_LABEL = re.compile(r"[\w.-]+")


@dataclass(frozen=True)
class Source:
    """One file of a multi-file view and the label it is shown under."""

    label: str
    path: str


def parse_sources(args: Sequence[str]) -> list[Source]:
    """``[LABEL=]FILE`` arguments as Sources; ValueError with a one-line reason."""
    sources = []
    for arg in args:
        label, sep, path = arg.partition("=")
        if not sep or os.path.exists(arg) or not PLAIN_LABEL.fullmatch(label) or not path:
            label, path = default_label(arg), arg
        sources.append(Source(label, path))
    seen: dict[str, Source] = {}
    for source in sources:
        other = seen.setdefault(source.label, source)
        if other is source:
            continue
        if os.path.realpath(other.path) == os.path.realpath(source.path):
            raise ValueError(f"{source.path} is given twice")
        raise ValueError(f"two files have the label {source.label!r} ({other.path}, "
                         f"{source.path}): name them LABEL=FILE")
    return sources


def default_label(path: str) -> str:
    """The file's name without its extension ("lab2" for /data/lab2.h5)."""
    name = os.path.basename(os.path.normpath(path))
    return os.path.splitext(name)[0] or name


def file_summaries(tail, engine,
                   failed: dict[str, str] | None = None) -> dict[str, dict]:
    """DESIGN.md's "files": {LABEL: {"path", "events", "testruns", "error", "checksums",
    "last_event"}} of the files ``engine`` (a StatsEngine) took in through ``tail`` (a
    store.multi.MultiTail).  ``error`` is null for a file read fine; else the reason given up
    on it (``failed``) or its state's message; ``checksums`` whether its tables carry them;
    ``last_event`` its latest `received` read (null: none).  The testruns per file come from
    the engine (StatsEngine.testruns_per_file)."""
    failed = failed or {}
    testruns = engine.testruns_per_file(tail.file_of, len(tail.sources))
    out = {}
    for index, (source, status, n) in enumerate(zip(tail.sources, tail.statuses, testruns,
                                                    strict=True)):
        error = failed.get(source.label)
        if error is None and status.state != "live":
            error = status.message or f"{source.path} is {status.state}"
        # With --at, the events handed over (those received by then), as a file of only those.
        events = tail.kept_events[index] if tail.at is not None else status.rows_read
        last = tail.kept_last[index] if tail.at is not None else status.last_event
        out[source.label] = {"path": source.path, "events": events, "testruns": n,
                             "error": error, "checksums": status.checksums,
                             "last_event": last}
    return out
