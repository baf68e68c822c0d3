"""The farm's Prometheus metrics (DESIGN.md "Several lab servers, and the farm's own
monitoring"), for `exporter` and `report --prometheus`.

``families`` builds prometheus_client metric families from what the statistics engine already
knows (its summary and its duration buckets) and the files' states: nothing here reads a file.
Every device group gets each of its gauge and counter series, zeros included (a dashboard must
tell "none" from "unknown").  No per-testrun labels: series stay bounded.  The host and overdue
series come from SUMMARY's "hosts" and "overdue" and are left out when the summary has none;
the capacity and failure series (DESIGN's "Why it waits, and why it fails") come from its
"hosts_total" / "hosts_busy" / "starved" and "failures" (the categories of the config's rules
plus infra and test, zeros included).
"""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from store.stats import DURATIONS, StatsEngine
from store.stats.buckets import METRIC_BOUNDS
from store.stats.hosts import HEALTH_ORDER
from store.stats.overdue import JUDGED as OVERDUE_PHASES

BUCKETS = METRIC_BOUNDS
HEALTHS = tuple(reversed(HEALTH_ORDER))  # good, suspect, bad
_LE = [floatToGoString(b) for b in BUCKETS]


def compute(engine: StatsEngine, summary: dict, files: dict, *, since: float | None = None,
            group: str | None = None, now: float | None = None) -> list[Metric]:
    """The families of an engine whose summary (same since, group and now) is ``summary``
    (its "duration_buckets" over BUCKETS when it has them: summary(buckets=BUCKETS))."""
    buckets = summary.get("duration_buckets") or \
        engine.duration_buckets(BUCKETS, since=since, group=group, now=now)
    return families(summary, buckets, files)


def exposition(computed: list[Metric]) -> str:
    """Families in Prometheus' text format, as a scrape would get them."""
    collector = CachedCollector()
    collector.families = computed
    return generate_latest(registry_of(collector)).decode()


def families(summary: dict, buckets: dict, files: dict) -> list[Metric]:
    """The metric families of a summary (StatsEngine.summary), its duration buckets
    (StatsEngine.duration_buckets over BUCKETS) and the files' states ({LABEL: {"events",
    "error", ...}}, store.sources.file_summaries)."""
    groups = summary["groups"]
    out = [*_testrun_families(groups, buckets), *_event_family(groups)]
    if all("overdue" in s for s in groups.values()):
        out.append(_overdue_family(groups))
    out += _why_families(groups)
    out += _host_families(summary["all"].get("hosts"))
    out += _file_families(files)
    return out


def _testrun_families(groups: dict, buckets: dict) -> list[Metric]:
    now = GaugeMetricFamily("trmon_testruns", "Testruns queued or ongoing now.",
                            labels=["device_group", "state"])
    ended = CounterMetricFamily("trmon_testruns_ended", "Testruns ended, by result.",
                                labels=["device_group", "result"])
    oldest = GaugeMetricFamily("trmon_oldest_queued_wait_seconds",
                               "How long the longest-waiting queued testrun has waited "
                               "(0 when none is queued).", labels=["device_group"])
    phase = HistogramMetricFamily("trmon_phase_duration_seconds",
                                  "Durations of testruns and of their phases.",
                                  labels=["device_group", "phase"])
    for group, s in groups.items():
        now.add_metric([group, "queued"], s["queued"])
        now.add_metric([group, "ongoing"], s["ongoing"])
        ended.add_metric([group, "finished"], s["finished"])
        ended.add_metric([group, "error"], s["errors"])
        oldest.add_metric([group], s["oldest_queued_wait"] or 0.0)
        for name in DURATIONS:
            stats = s["durations"][name]
            n = stats["n"]
            cumulative = list(zip(_LE, buckets[group][name], strict=True))
            phase.add_metric([group, name], [*cumulative, ("+Inf", n)],
                             sum_value=n * stats["mean"] if n else 0.0)
    return [now, ended, oldest, phase]


def _event_family(groups: dict) -> list[Metric]:
    events = CounterMetricFamily("trmon_events", "Events recorded, by event name.",
                                 labels=["device_group", "event"])
    for group, s in groups.items():
        for name, n in s["event_counts"].items():
            events.add_metric([group, name], n)
    return [events]


def _overdue_family(groups: dict) -> Metric:
    overdue = GaugeMetricFamily("trmon_overdue_testruns",
                                "Live testruns in a phase for longer than that phase's p95 "
                                "in their device group.", labels=["device_group", "phase"])
    for group, s in groups.items():
        counts = dict.fromkeys(OVERDUE_PHASES, 0)
        for row in s["overdue"]:
            counts[row["phase"]] = counts.get(row["phase"], 0) + 1
        for name, n in counts.items():
            overdue.add_metric([group, name], n)
    return overdue


def _why_families(groups: dict) -> list[Metric]:
    """Errors by category, hosts busy and idle, starved groups (each where the summary has
    its keys)."""
    out = []
    if all("failures" in s for s in groups.values()):
        errors = CounterMetricFamily("trmon_errors", "Testruns ended in error, by failure "
                                     "category (the config file's rules, else infra or test).",
                                     labels=["device_group", "category"])
        for group, s in groups.items():
            for category, n in s["failures"]["categories"].items():
                errors.add_metric([group, category], n)
        out.append(errors)
    if all("hosts_total" in s for s in groups.values()):
        hosts = GaugeMetricFamily("trmon_hosts", "Distinct worker hosts of the device group's "
                                  "testruns: busy (an ongoing testrun occupies it) or idle.",
                                  labels=["device_group", "state"])
        starved = GaugeMetricFamily("trmon_group_starved", "1 when testruns have waited over "
                                    "600 s and none of the group runs, else 0.",
                                    labels=["device_group"])
        for group, s in groups.items():
            hosts.add_metric([group, "busy"], s["hosts_busy"])
            hosts.add_metric([group, "idle"], s["hosts_total"] - s["hosts_busy"])
            starved.add_metric([group], 1 if s["starved"] else 0)
        out += [hosts, starved]
    return out


def _host_families(hosts: dict | None) -> list[Metric]:
    if hosts is None:
        return []
    health = GaugeMetricFamily("trmon_host_health", "Worker host health: 1 for its current "
                               "state, 0 for the others.", labels=["host", "health"])
    streak = GaugeMetricFamily("trmon_host_error_streak", "Latest ended testruns of the host "
                               "that ended in error in a row.", labels=["host"])
    busy = GaugeMetricFamily("trmon_host_busy_ratio", "Fraction of the last hour or day in "
                             "which a testrun occupied the host.", labels=["host", "window"])
    for host, h in hosts.items():
        for state in HEALTHS:
            health.add_metric([host, state], 1 if h["health"] == state else 0)
        streak.add_metric([host], h["streak"])
        if "busy_1h" in h:
            busy.add_metric([host, "1h"], h["busy_1h"])
            busy.add_metric([host, "24h"], h["busy_24h"])
    return [health, streak, busy]


def _file_families(files: dict) -> list[Metric]:
    up = GaugeMetricFamily("trmon_file_up", "1 when the event file was read, 0 when not.",
                           labels=["file"])
    events = GaugeMetricFamily("trmon_file_events", "Events read from the event file.",
                               labels=["file"])
    last = GaugeMetricFamily("trmon_file_last_event_timestamp_seconds",
                             "Receive time (Unix seconds) of the latest event read from the "
                             "event file; 0 when none.", labels=["file"])
    for label, f in files.items():
        up.add_metric([label], 0 if f["error"] else 1)
        events.add_metric([label], f["events"])
        last.add_metric([label], f.get("last_event") or 0)
    return [up, events, last]


class CachedCollector(Collector):
    """Serves the families last computed: a scrape formats them and reads no file.  The list
    is replaced whole (one assignment), so a scrape sees the old families or the new."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> list[Metric]:
        return self.families


def registry_of(collector: Collector) -> CollectorRegistry:
    """A registry serving only ``collector`` (none of the process metrics of the default)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
