"""JSON-lines events into a writer: the one parsing `ingest` and `mirror` share.

A line is one event object (DESIGN.md, "Events"); it passes the writer's validation or is
rejected with a reason, never half kept.
"""

from __future__ import annotations

import json

from store.validate import InvalidEvent
from store.writer import EventWriter


def write_line(writer: EventWriter, raw: bytes) -> str | None:
    """Write one line's event; the reason it was rejected, or None (blank lines are skipped)."""
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte {exc.start})"
    try:
        event = json.loads(text)
    except ValueError as exc:
        return f"not JSON ({exc})"
    except RecursionError:
        return "not JSON (nested too deeply)"
    return write_event(writer, event)


def write_event(writer: EventWriter, event) -> str | None:
    """Write one parsed event; the reason it was rejected, or None."""
    try:
        writer.write(event)
    except InvalidEvent as exc:
        return str(exc)
    return None
