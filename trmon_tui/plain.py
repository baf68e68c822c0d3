"""Plain text for what comes from a file, and for durations: one rule for the panes
(trmon_tui/widgets/format.py wraps these in rich Text cells) and for the headless commands
(report, exporter, tail), which do not import rich.

Strings from a file are data: every character that is not printable (control characters, the
terminal escape, zero-width and bidirectional marks, line separators) is shown as its Python
escape (``\\x1b``, ``\\u200b``), so a requestor name can neither move the cursor nor hide text.
"""

from __future__ import annotations

import math
import time
from typing import Any


def clean(value: Any, limit: int | None = None) -> str:
    """The value as one printable line (None: ""), non-printable characters escaped;
    shortened to ``limit`` characters with an ellipsis when given."""
    s = "" if value is None else str(value)
    if not s.isprintable():
        s = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                    for c in s)
    if limit is not None and len(s) > limit:
        s = s[: max(1, limit - 1)] + "…"
    return s


def duration(seconds: Any, *, tenths: bool = False, unknown: str = "–") -> str:
    """A duration in its two largest units: 42s, 3m05s, 2h07m, 3d04h (rounded to the second
    from a minute up); under ten seconds with tenths (4.2s), under a minute too if ``tenths``
    (42.0s: the report's columns).  ``unknown`` for None and NaN."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return unknown
    s = float(seconds)
    sign = "-" if s < 0 else ""
    s = abs(s)
    if s < 60:
        return f"{sign}{s:.1f}s" if tenths or s < 10 else f"{sign}{s:.0f}s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{sign}{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{sign}{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{sign}{d}d{h:02d}h"


def utc_minute(t: float) -> str:
    """ "2026-12-07 03:00 UTC": a moment looked back at, a period's end."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))
