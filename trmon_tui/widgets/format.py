"""Turning file data into safe, compact cells.

Strings from the file are data: they become rich ``Text`` objects (never markup), shown as
trmon_tui.plain.clean has them (non-printable characters escaped).
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text

from trmon_tui.plain import clean, duration

__all__ = ["clean", "duration", "text", "number"]  # clean and duration: trmon_tui.plain

def text(value: Any, style: str = "", limit: int | None = None) -> Text:
    """A literal Text cell for a string from the file."""
    return Text(clean(value, limit), style=style, no_wrap=True, overflow="ellipsis")


def number(value: Any, digits: int = 0) -> Text:
    """Right-aligned number cell; '–' for None."""
    if value is None:
        return Text("–", justify="right")
    if isinstance(value, float) and digits:
        return Text(f"{value:,.{digits}f}", justify="right")
    return Text(f"{value:,}" if isinstance(value, int) else f"{value:,.0f}", justify="right")


def count(value: int | None, compact: bool = False) -> Text:
    """Right-aligned count cell ('–' for None); ``compact``: from 10,000 on in thousands or
    millions ("89k", "876k", "1.2M"), for a table that would not fit its width otherwise."""
    if value is None or not compact or value < 10_000:
        return number(value)
    if value < 999_500:
        return Text(f"{value / 1e3:.0f}k", justify="right")
    if value < 99_950_000:
        return Text(f"{value / 1e6:.1f}M", justify="right")
    return Text(f"{value / 1e6:,.0f}M", justify="right")


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
