"""The plain-text table of `trmon-tui report` (no rich/textual: it is also piped and mailed).

Strings from the file are printed literally, with control characters escaped, so a testrun id
or requestor can never move the cursor or change colours.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

from store.stats.names import DURATIONS
from trmon_tui.plain import clean, duration

STAT_COLS = ("n", "min", "p50", "mean", "p95", "max", "std")
MAX_IDS = 8
MAX_REQUESTORS = 5
MAX_HOSTS = 10  # host rows per section: every bad and suspect one, then good ones up to this
HEALTH_RANK = {"bad": 0, "suspect": 1, "good": 2}
WIDTH = 80  # the failures section's lines fit an 80-column terminal (long names aside)
MAX_TYPES = 5  # error types per section, most testruns first
MAX_CONFIGURATIONS = 5  # configurations per section: highest error % first, then any suspect


def render(summary: dict, counts: dict, *, path: str, clock: str, since: str | None,
           file_format: str, waiting=None, now: float | None = None,
           trend: str | None = None, files: dict | None = None,
           at: float | None = None) -> str:
    """The whole report: a header, then one section per device group, then all groups.

    ``waiting(status, group)`` may give the newest queued/ongoing testruns of a group (dicts of
    StatsEngine.testruns) to show with their phase; without it only their ids are listed.
    ``now``: the time the hosts' "last ok" ages are measured to; ``trend``: the bucket of the
    summary's "trend" rows (hour or day), shown when given.
    ``files`` (several files: report's "files") puts a line per file under the header.
    ``at`` (--at): the header says the report is of the files as they stood then.
    """
    window = f"since {clean(since)}" if since else "all history"
    if at is not None:
        window += f" as at {datetime.fromtimestamp(at, UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}"
    what = f"{clean(path)} ({file_format} layout)" if files is None else f"{len(files)} files"
    lines = [f"{what}: {counts['testruns']:,} testruns, {counts['events']:,} events; "
             f"{window}; durations by the {clock} clock"]
    for label, f in (files or {}).items():
        read = f"{f['testruns']:,} testruns, {f['events']:,} events" if f["error"] is None \
            else f"NOT READ: {clean(f['error'])}"
        lines.append(f"  {clean(label)}: {clean(f['path'])}: {read}")
    lines.append("")
    groups = summary["groups"]
    for name, one in groups.items():
        lines += _section(f"device group {clean(name) or '(none)'}", one, waiting, name)
        lines += _insight(one, now, trend)
    if len(groups) != 1:
        lines += _section("all device groups", summary["all"], waiting, None)
        lines += _insight(summary["all"], now, trend)
    return "\n".join(lines) + "\n"


def _insight(s: dict, now: float | None, trend: str | None) -> list[str]:
    """The operator-insight part of a section: hosts, overdue testruns, trend rows."""
    out = _hosts(s.get("hosts") or {}, now) + _overdue(s.get("overdue") or [])
    out += _failures(s.get("failures"), now)
    if trend and s.get("trend"):  # no header over an empty window
        out += _trend(s["trend"], trend)
    return out + ([""] if out else [])


def _hosts(hosts: dict, now: float | None) -> list[str]:
    """Worker hosts, bad and suspect first, then by error % (then name)."""
    if not hosts:
        return []
    ranked = sorted(hosts.items(), key=lambda kv: (
        HEALTH_RANK[kv[1]["health"]], kv[1]["error_pct"] is None, -(kv[1]["error_pct"] or 0.0),
        kv[0]))
    shown = [kv for i, kv in enumerate(ranked) if i < MAX_HOSTS or kv[1]["health"] != "good"]
    out = [f"{'health':<10}{'host':<20}{'streak':>7}{'errors/runs':>14}{'error %':>9}{'infra':>7}"
           f"{'last ok':>11}"]
    for name, h in shown:
        ago = None if h["last_ok"] is None or now is None else now - h["last_ok"]
        ratio = f"{h['errors']:,}/{h['testruns']:,}"
        last_ok = "-" if ago is None else human(ago) + " ago"
        out.append(f"{_health(h['health']):<10}{_cell(clean(name) or '(none)', 20)}"
                   f"{h['streak']:>7,}{ratio:>14}{_pct(h['error_pct']):>9}"
                   f"{h['infra_errors']:>7,}{last_ok:>11}")
    if len(ranked) > len(shown):
        out.append(f"+{len(ranked) - len(shown):,} more good hosts")
    return out


def _failures(f: dict | None, now: float | None) -> list[str]:
    """Why testruns fail: categories, the top error types, configurations by error % with
    their suspect hosts (DESIGN's "failures")."""
    if not f or not f["types"]:
        return []
    total = sum(f["categories"].values())
    out = textwrap.wrap("failures: " + ", ".join(
        f"{clean(c)} {n:,} ({_pct(100.0 * n / total)})" for c, n in f["categories"].items()),
        WIDTH, subsequent_indent="  ", break_on_hyphens=False)
    out.append(f"{'error type':<30}{'testruns':>9}{'hosts':>7}{'last':>11}")
    for t in f["types"][:MAX_TYPES]:
        last = "-" if now is None else human(now - t["last"]) + " ago"
        out.append(f"{_cell(clean(t['type']), 30)}{t['testruns']:>9,}{t['hosts']:>7,}"
                   f"{last:>11}")
    if len(f["types"]) > MAX_TYPES:
        out.append(f"+{len(f['types']) - MAX_TYPES:,} more error types")
    configs = f["configurations"]
    shown = [c for i, c in enumerate(configs) if i < MAX_CONFIGURATIONS or c["suspect_hosts"]]
    out.append(f"{'configuration':<22}{'ended':>7}{'errors':>7}{'error %':>8}"
               "  suspect hosts (errors/ended, p)")
    for c in shown:
        suspects = [f"{clean(h['host']) or '(none)'} ({h['errors']:,}/{h['ended']:,}, "
                    f"p {h['p']:.1e})" for h in c["suspect_hosts"]] or ["-"]
        out.append(f"{_cell(clean(c['configuration']), 22)}{c['ended']:>7,}{c['errors']:>7,}"
                   f"{_pct(c['error_pct']):>8}  {suspects[0]}")
        out += [" " * 46 + more for more in suspects[1:]]  # one suspect a line
    if len(configs) > len(shown):
        out.append(f"+{len(configs) - len(shown):,} more configurations")
    return out


def _health(health: str) -> str:
    """The health with a mark that needs no colour: !! bad, ! suspect."""
    return {"bad": "!! bad", "suspect": "! suspect"}.get(health, "   good")


def _cell(text: str, width: int) -> str:
    """Left-aligned in ``width`` columns; a longer text keeps its length plus one space."""
    return f"{text:<{width}}" if len(text) < width else text + " "


def _overdue(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    shown = ", ".join(f"{clean(r['testrun_id'])} ({r['phase']} {human(r['elapsed'])}, "
                      f"p95 {human(r['p95'])})" for r in rows[:MAX_IDS])
    more = f", +{len(rows) - MAX_IDS:,} more" if len(rows) > MAX_IDS else ""
    return [f"overdue {len(rows):,} (most first): {shown}{more}"]


def _trend(rows: list[dict], bucket: str) -> list[str]:
    """One line per hour or day: requests, ends, error %, testrun and queue p50/p95."""
    form = "%Y-%m-%d %H:%M" if bucket == "hour" else "%Y-%m-%d"
    out = [f"{'by ' + bucket + ' (UTC)':<17}{'requests':>9}{'finished':>9}{'errors':>7}"
           f"{'error %':>8}{'testrun p50/p95':>16}{'queue p50/p95':>14}"]
    for r in rows:
        start = datetime.fromtimestamp(r["start"], UTC).strftime(form)
        out.append(f"{start:<17}{r['requests']:>9,}{r['finished']:>9,}{r['errors']:>7,}"
                   f"{_pct(r['error_pct']):>8}{_pair(r['testrun']):>16}{_pair(r['queue']):>14}")
    return out


def _pair(p: dict) -> str:
    return "-" if p["p50"] is None else f"{human(p['p50'])}/{human(p['p95'])}"


def _section(title: str, s: dict, waiting, group: str | None) -> list[str]:
    out = [f"== {title} " + "=" * max(3, 66 - len(title)),
           f"testruns {s['testruns']:,}   queued {s['queued']:,}   ongoing {s['ongoing']:,}   "
           f"finished {s['finished']:,}   errors {s['errors']:,} (error rate "
           f"{_pct(s['error_pct'])})"]
    if "hosts_total" in s:
        out.append(f"hosts busy {s['hosts_busy']:,}/{s['hosts_total']:,}" + (
            "   STARVED: work waits and nothing runs" if s.get("starved") else ""))
    if s.get("starved_groups"):
        out.append("STARVED groups: " + ", ".join(clean(g) or "(none)"
                                                  for g in s["starved_groups"]))
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
            f"{clean(r['requestor']) or '(none)'} {r['requests']:,} "
            f"({_plural(r['errors'], 'error')})"
            for r in top) + (f", +{more:,} more" if more > 0 else ""))
    out.append("")
    out.append(f"{'duration':<10}" + "".join(f"{c:>9}" for c in STAT_COLS))
    for name in DURATIONS:
        out.append(_stat_row(name, s["durations"][name], human))
    out.append(f"{'iterations':<10}" + "".join(f"{c:>9}" for c in STAT_COLS))
    for name, st in s["iterations"].items():
        out.append(_stat_row(name, st, _num))
    out.append("")
    out.append("events: " + ", ".join(f"{clean(k)} {v:,}" for k, v in s["event_counts"].items()
                                      if v))
    anomalies = {k: v for k, v in s["anomalies"].items() if v}
    out.append("anomalies: " + (", ".join(f"{k.replace('_', ' ')} {v:,}"
                                          for k, v in anomalies.items()) or "none"))
    if s["delivery_delay"]:
        out.append("delivery delay p50/p95/max: " + ", ".join(
            f"{clean(k)} {human(v['p50'])}/{human(v['p95'])}/{human(v['max'])}"
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
    shown = ", ".join(f"{clean(r['testrun_id'])} ({r['phase']} {human(r['phase_age'])})"
                      for r in runs)
    more = f", +{total - len(runs):,} more" if total > len(runs) else ""
    return [f"{label} (newest first): {shown}{more}"]


def _ids(label: str, ids: list[str]) -> list[str]:
    if not ids:
        return []
    shown = ", ".join(clean(i) for i in ids[:MAX_IDS])
    more = f", +{len(ids) - MAX_IDS:,} more" if len(ids) > MAX_IDS else ""
    return [f"{label}: {shown}{more}"]


def human(seconds: float | None) -> str:
    """A duration as the report's columns show it (tenths under a minute, "-" unknown)."""
    return duration(seconds, tenths=True, unknown="-")

