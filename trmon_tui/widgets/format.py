"""Turning file data into safe, compact cells.

Strings from the file are data: they become rich ``Text`` objects (never markup), and terminal
control characters are shown escaped (``\\x1b``) so a requestor name cannot move the cursor.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def clean(value: Any, limit: int | None = None) -> str:
    """The value as one printable line: control characters escaped, optionally shortened."""
    s = "" if value is None else str(value)
    s = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)
    if limit is not None and len(s) > limit:
        s = s[: max(1, limit - 1)] + "…"
    return s


def text(value: Any, style: str = "", limit: int | None = None) -> Text:
    """A literal Text cell for a string from the file."""
    return Text(clean(value, limit), style=style, no_wrap=True, overflow="ellipsis")


def duration(seconds: Any) -> str:
    """Compact duration: 42s, 3m05s, 2h07m, 3d04h; '–' when unknown."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    s = float(seconds)
    sign = "-" if s < 0 else ""
    s = abs(s)
    if s < 60:
        return f"{sign}{s:.1f}s" if s < 10 else f"{sign}{s:.0f}s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{sign}{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{sign}{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{sign}{d}d{h:02d}h"


def number(value: Any, digits: int = 0) -> Text:
    """Right-aligned number cell; '–' for None."""
    if value is None:
        return Text("–", justify="right")
    if isinstance(value, float) and digits:
        return Text(f"{value:,.{digits}f}", justify="right")
    return Text(f"{value:,}" if isinstance(value, int) else f"{value:,.0f}", justify="right")


def right(value: str, style: str = "") -> Text:
    """Right-aligned Text cell for a value we formatted ourselves."""
    return Text(value, style=style, justify="right")


def percent(value: float | None, alarm: float = 10.0) -> Text:
    """Right-aligned error % with one decimal, bold red from ``alarm`` on; '–' for None."""
    if value is None:
        return Text("–", justify="right")
    return right(f"{value:.1f}", "bold red" if value >= alarm else "")


def hosts(value: Any) -> str:
    """Worker hosts as 'host:1 host2:3' from a list of [host, instance] pairs (or a string)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    parts = []
    for item in value:
        if isinstance(item, list | tuple) and len(item) == 2:
            parts.append(f"{item[0]}:{item[1]}")
        else:
            parts.append(str(item))
    return " ".join(parts)


def clock(ts: float | None) -> str:
    """Wall-clock time of an epoch timestamp, UTC, as HH:MM:SS."""
    if ts is None:
        return "–"
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def stamp(ts: float | None) -> str:
    """Date and time of an epoch timestamp, UTC."""
    if ts is None:
        return "–"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}"
