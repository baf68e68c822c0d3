"""The plain-text table of `trmon-tui report` (no rich/textual: it is also piped and mailed).

Strings from the file are printed literally, with control characters escaped, so a testrun id
or requestor can never move the cursor or change colours.
"""

from __future__ import annotations

import math

DURATION_ROWS = ("testrun", "init", "queue", "flash", "boot", "test", "publish")
STAT_COLS = ("n", "min", "p50", "mean", "p95", "max", "std")
MAX_IDS = 8
MAX_REQUESTORS = 5


def safe(text: object) -> str:
    """Text with every non-printable character shown as an escape (\\n, \\x1b, \\u200b)."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in s)


def human(seconds: float | None) -> str:
    """A duration in the largest sensible units: 42.0s, 3m05s, 2h07m, 4d03h."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    if s < 60:
        return f"{sign}{s:.1f}s"
    if s < 3600:
        return f"{sign}{int(s // 60)}m{int(s % 60):02d}s"
    if s < 86400:
        return f"{sign}{int(s // 3600)}h{int(s % 3600 // 60):02d}m"
    return f"{sign}{int(s // 86400)}d{int(s % 86400 // 3600):02d}h"


def render(summary: dict, counts: dict, *, path: str, clock: str, since: str | None,
           file_format: str, waiting=None, files: dict | None = None) -> str:
    """The whole report: a header, then one section per device group, then all groups.

    ``waiting(status, group)`` may give the newest queued/ongoing testruns of a group (dicts of
    StatsEngine.testruns) to show with their phase; without it only their ids are listed.
    ``files`` (several files: report's "files") puts a line per file under the header.
    """
    window = f"since {safe(since)}" if since else "all history"
    what = f"{safe(path)} ({file_format} layout)" if files is None else f"{len(files)} files"
    lines = [f"{what}: {counts['testruns']:,} testruns, {counts['events']:,} events; "
             f"{window}; durations by the {clock} clock"]
    for label, f in (files or {}).items():
        read = f"{f['testruns']:,} testruns, {f['events']:,} events" if f["error"] is None \
            else f"NOT READ: {safe(f['error'])}"
        lines.append(f"  {safe(label)}: {safe(f['path'])}: {read}")
    lines.append("")
    groups = summary["groups"]
    for name, one in groups.items():
        lines += _section(f"device group {safe(name) or '(none)'}", one, waiting, name)
    if len(groups) != 1:
        lines += _section("all device groups", summary["all"], waiting, None)
    return "\n".join(lines) + "\n"


def _section(title: str, s: dict, waiting, group: str | None) -> list[str]:
    out = [f"== {title} " + "=" * max(3, 66 - len(title)),
           f"testruns {s['testruns']:,}   queued {s['queued']:,}   ongoing {s['ongoing']:,}   "
           f"finished {s['finished']:,}   errors {s['errors']:,} (error rate "
           f"{_pct(s['error_pct'])})"]
    if s["queued"]:
        out.append(f"oldest queued wait {human(s['oldest_queued_wait'])}")
    if s["phases"]:
        out.append("now in: " + ", ".join(f"{k} {v:,}" for k, v in s["phases"].items()))
    for status in ("queued", "ongoing"):
        ids = s[f"{status}_ids"]
        if ids and waiting is not None:
            out += _runs(status, waiting(status, group), len(ids))
        else:
            out += _ids(status, ids)
    if s["requestors"]:
        top = s["requestors"][:MAX_REQUESTORS]
        more = len(s["requestors"]) - len(top)
        out.append("requestors: " + ", ".join(
            f"{safe(r['requestor']) or '(none)'} {r['requests']:,} "
            f"({_plural(r['errors'], 'error')})"
            for r in top) + (f", +{more:,} more" if more > 0 else ""))
    out.append("")
    out.append(f"{'duration':<10}" + "".join(f"{c:>9}" for c in STAT_COLS))
    for name in DURATION_ROWS:
        out.append(_stat_row(name, s["durations"][name], human))
    out.append(f"{'iterations':<10}" + "".join(f"{c:>9}" for c in STAT_COLS))
    for name, st in s["iterations"].items():
        out.append(_stat_row(name, st, _num))
    out.append("")
    out.append("events: " + ", ".join(f"{safe(k)} {v:,}" for k, v in s["event_counts"].items()
                                      if v))
    anomalies = {k: v for k, v in s["anomalies"].items() if v}
    out.append("anomalies: " + (", ".join(f"{k.replace('_', ' ')} {v:,}"
                                          for k, v in anomalies.items()) or "none"))
    if s["delivery_delay"]:
        out.append("delivery delay p50/p95/max: " + ", ".join(
            f"{safe(k)} {human(v['p50'])}/{human(v['p95'])}/{human(v['max'])}"
            for k, v in s["delivery_delay"].items()))
    out.append("")
    return out


def _stat_row(name: str, st: dict, fmt) -> str:
    cells = [f"{st['n']:,}"] + [fmt(st[k]) for k in STAT_COLS[1:]]
    return f"{name:<10}" + "".join(f"{c:>9}" for c in cells)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}".rstrip("0").rstrip(".")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} %"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _runs(label: str, runs: list[dict], total: int) -> list[str]:
    """Newest queued/ongoing testruns with their phase and how long they have been in it."""
    shown = ", ".join(f"{safe(r['testrun_id'])} ({r['phase']} {human(r['phase_age'])})"
                      for r in runs)
    more = f", +{total - len(runs):,} more" if total > len(runs) else ""
    return [f"{label} (newest first): {shown}{more}"]


def _ids(label: str, ids: list[str]) -> list[str]:
    if not ids:
        return []
    shown = ", ".join(safe(i) for i in ids[:MAX_IDS])
    more = f", +{len(ids) - MAX_IDS:,} more" if len(ids) > MAX_IDS else ""
    return [f"{label}: {shown}{more}"]
