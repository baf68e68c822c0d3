"""The plain-text table of `trmon-tui report --compare PERIOD` (DESIGN.md "Looking back").

One section per device group, then all groups: each figure for the previous and the current
period and its change, then the change of the mean testrun time split by phase, the phase that
moved most first (the parts add up to the change of the mean).
"""

from __future__ import annotations

from trmon_tui.plain import clean, duration, utc_minute


def _time(seconds: float) -> str:
    return duration(seconds, tenths=True, unknown="-")  # as the report's columns


FIGURES = (  # (label, path in a period, kind)
    ("testruns", ("testruns",), "count"),
    ("errors", ("errors",), "count"),
    ("error %", ("error_pct",), "pct"),
    ("testrun p50", ("testrun", "p50"), "time"),
    ("testrun p95", ("testrun", "p95"), "time"),
    ("testrun mean", ("testrun", "mean"), "time"),
    ("queue p50", ("queue", "p50"), "time"),
    ("queue p95", ("queue", "p95"), "time"),
)


def render_compare(comparison: dict, period: str, *, clock: str) -> str:
    """The whole comparison: a header saying the two periods, then a section per group and,
    with several groups, one for all."""
    current = comparison["all"]["current"]
    previous = comparison["all"]["previous"]
    lines = [f"testruns requested in the last {clean(period)}: {_span(current)}",
             f"against the {clean(period)} before: {_span(previous)}",
             f"(status as of {utc_minute(current['end'])}; durations by the {clock} clock)", ""]
    groups = comparison["groups"]
    for name, one in groups.items():
        lines += _section(f"device group {clean(name) or '(none)'}", one)
    if len(groups) != 1:
        lines += _section("all device groups", comparison["all"])
    return "\n".join(lines) + "\n"


def _section(title: str, one: dict) -> list[str]:
    prev, cur = one["previous"], one["current"]
    out = [f"== {title} " + "=" * max(3, 66 - len(title)),
           f"{'':<14}{'previous':>11}{'current':>11}{'change':>11}"]
    for label, path, kind in FIGURES:
        a, b = figure(prev, path), figure(cur, path)
        out.append(f"{label:<14}{cell(a, kind):>11}{cell(b, kind):>11}"
                   f"{change(a, b, kind):>11}")
    before, now = prev["phase_means"], cur["phase_means"]
    if before["init"] is None or now["init"] is None:
        out += ["mean testrun time by phase: no finished testrun in "
                + ("either period" if before["init"] is None and now["init"] is None else
                   "the previous period" if before["init"] is None else "the current period"),
                ""]
        return out
    moved = moved_first(before, now)
    out.append("change of the mean testrun time by phase (largest first):")
    for part in moved:
        out.append(f"  {part:<12}{change(before[part], now[part], 'time'):>11}"
                   f"   {_time(before[part])} -> {_time(now[part])}")
    out.append("")
    return out


def moved_first(before: dict, now: dict) -> list[str]:
    """The parts of ``phase_means`` (both periods have them), the largest change first."""
    return sorted(now, key=lambda part: (-abs(now[part] - before[part]), part))


def figure(period: dict, path: tuple[str, ...]):
    value = period
    for key in path:
        value = value[key]
    return value


def cell(value, kind: str) -> str:
    """A figure of one period as the table shows it ("-": no sample)."""
    if value is None:
        return "-"
    if kind == "count":
        return f"{value:,}"
    if kind == "pct":
        return f"{value:.1f} %"
    return _time(value)


def change(a, b, kind: str) -> str:
    """b − a, signed ("-" when either is missing)."""
    if a is None or b is None:
        return "-"
    d = b - a
    if kind == "count":
        return f"{d:+,}"
    if kind == "pct":
        return f"{d:+.1f} pt"
    return ("+" if d >= 0 else "") + _time(d)


def _span(period: dict) -> str:
    return f"{utc_minute(period['start'])} to {utc_minute(period['end'])}"
