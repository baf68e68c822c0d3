"""Time windows: ``--since 24h`` / ``--since 2026-11-01`` to seconds since the epoch."""

from __future__ import annotations

import re
from datetime import UTC, datetime

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")


def parse_since(text: str, now: float) -> float:
    """The start of a window, in seconds since the Unix epoch (UTC).

    ``text`` is a duration back from ``now`` -- a number and a unit s, m, h, d or w ("30s",
    "90m", "24h", "7d", "2w") -- or an ISO 8601 date or date-time ("2026-11-01",
    "2026-11-01T08:30", "2026-11-01 08:30:00+02:00"); a date or time without an offset is UTC.
    Raises ValueError with a message saying what is accepted.
    """
    value = (text or "").strip()
    match = _DURATION.match(value.lower())
    if match:
        return now - float(match.group(1)) * UNITS[match.group(2)]
    moment = _iso_moment(value)
    if moment is None:
        raise ValueError(
            f"cannot read --since {text!r}: give a duration back from now such as 30s, 90m, "
            "24h, 7d or 2w, or a UTC date/time such as 2026-11-01 or 2026-11-01T08:30")
    return moment


_BACK = re.compile(r"^-\s*(\d+(?:\.\d+)?)\s*([smhdw])$")
_EPOCH = re.compile(r"^[+]?(\d+(?:\.\d*)?|\.\d+)$")


def parse_at(text: str, now: float) -> float:
    """``--at T``: a moment, in seconds since the Unix epoch (UTC).

    ``text`` is seconds since the epoch ("1796612400"), an ISO 8601 date-time
    ("2026-12-07T03:00Z", "2026-12-07T03:00" is UTC, "2026-12-07T04:00+01:00", "2026-12-07")
    or a duration before ``now`` with a minus sign ("-2h", "-1d", "-90m"; units s, m, h, d, w).
    Raises ValueError with a one-line message saying what is accepted.
    """
    value = (text or "").strip()
    back = _BACK.match(value.lower())
    if back:
        return now - float(back.group(1)) * UNITS[back.group(2)]
    if _EPOCH.match(value):
        return float(value)
    moment = _iso_moment(value)
    if moment is None:
        raise ValueError(
            f"cannot read --at {text!r}: give seconds since the epoch (1796612400), a UTC "
            "date-time such as 2026-12-07T03:00Z, or a time before now such as -2h or -1d")
    return moment


def _iso_moment(value: str) -> float | None:
    """An ISO 8601 date or date-time (UTC unless it names its offset) as seconds since the
    epoch; None when ``value`` is none."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_period(text: str) -> float:
    """``--compare P``: a duration ("24h", "7d", "90m", "2w") in seconds, positive.  Raises
    ValueError with a one-line message."""
    match = _DURATION.match((text or "").strip().lower())
    seconds = float(match.group(1)) * UNITS[match.group(2)] if match else 0.0
    if not seconds > 0:
        raise ValueError(f"cannot read --compare {text!r}: give a period such as 24h or 7d")
    return seconds
