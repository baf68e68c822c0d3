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
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"cannot read --since {text!r}: give a duration back from now such as 30s, 90m, "
            "24h, 7d or 2w, or a UTC date/time such as 2026-11-01 or 2026-11-01T08:30"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
