"""The README's Prometheus material against the real metrics: every metric it names is served,
every metric served is in its table, and its scrape config and rules pass promtool."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from conftest import engine_of, farm_events, parse, write

from trmon_tui.commands import metrics

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
NOW = 1_790_100_000.0


def readme() -> str:
    with open(README, encoding="utf-8") as handle:
        return handle.read()


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", readme(), re.S)


def served(tmp_path) -> dict:
    """The metrics of a real file, as the exporter and `report --prometheus` compute them."""
    path = tmp_path / "farm.h5"
    write(path, farm_events(51, runs=30))
    engine = engine_of(path)
    summary = engine.summary(now=NOW)
    files = {"farm": {"path": str(path), "events": 1, "testruns": 1, "error": None}}
    return parse(metrics.exposition(metrics.compute(engine, summary, files, now=NOW)))


def test_every_metric_named_is_served_and_listed(tmp_path):
    got = served(tmp_path)
    families = {re.sub(r"_(bucket|count|sum)$", "", name) for name in got}
    named = set(re.findall(r"\btrmon_(?!tui\b)[a-z_]+[a-z]", readme()))
    assert named <= families | {f"{f}_{s}" for f in families for s in ("count", "sum")}, \
        named - families
    table = set(re.findall(r"^\| `(trmon_[a-z_]+)` \|", readme(), re.M))
    assert table == families
    rules = yaml_blocks()[1]
    assert 'trmon_host_health{health="bad"} == 1' in rules
    assert "trmon_oldest_queued_wait_seconds > 3600" in rules
    assert "trmon_group_starved == 1" in rules
    assert any(dict(k)["health"] == "bad" for k in got["trmon_host_health"])


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed "
                    "(Debian: apt-get install prometheus)")
def test_scrape_config_and_rules_pass_promtool(tmp_path):
    config, rules = yaml_blocks()
    (tmp_path / "prometheus.yml").write_text(config)
    (tmp_path / "trmon-rules.yml").write_text(rules)
    for check in (["config", "prometheus.yml"], ["rules", "trmon-rules.yml"]):
        done = subprocess.run(["promtool", "check", *check], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


MIRROR_RULE_TEST = """
rule_files: [trmon-rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # lab2's own exporter: an event a minute, 3 testruns ongoing throughout
      - series: 'trmon_file_last_event_timestamp_seconds{job="trmon-lab2", file="events"}'
        values: '0+60x40'
      - series: 'trmon_testruns{job="trmon-lab2", device_group="lab-0", state="ongoing"}'
        values: '3x40'
      # the mirror, read by this server's exporter: follows for 10 minutes, then stops
      - series: 'trmon_file_last_event_timestamp_seconds{job="trmon", file="lab2"}'
        values: '0+60x10 600x30'
    alert_rule_test:
      - eval_time: 12m
        alertname: TrmonMirrorBehind
        exp_alerts: []
      - eval_time: 35m
        alertname: TrmonMirrorBehind
        exp_alerts:
          - exp_labels: {severity: warning}
            exp_annotations:
              summary: "The mirror lab2 is 25m 0s behind its source"
              description: "lab2's own exporter has newer events and testruns ongoing; the
                mirror has not followed for 10 minutes (is the mirror running, the link up?)."
  - interval: 1m
    input_series:
      # the same mirror falling behind while nothing is ongoing at the source: no alert
      - series: 'trmon_file_last_event_timestamp_seconds{job="trmon-lab2", file="events"}'
        values: '0+60x40'
      - series: 'trmon_testruns{job="trmon-lab2", device_group="lab-0", state="ongoing"}'
        values: '0x40'
      - series: 'trmon_file_last_event_timestamp_seconds{job="trmon", file="lab2"}'
        values: '0+60x10 600x30'
    alert_rule_test:
      - eval_time: 35m
        alertname: TrmonMirrorBehind
        exp_alerts: []
"""


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed "
                    "(Debian: apt-get install prometheus)")
def test_the_mirror_rule_fires_for_a_mirror_behind_its_busy_source(tmp_path):
    _, rules = yaml_blocks()
    assert "trmon_file_last_event_timestamp_seconds" in rules
    (tmp_path / "trmon-rules.yml").write_text(rules)
    (tmp_path / "mirror-test.yml").write_text(MIRROR_RULE_TEST)
    done = subprocess.run(["promtool", "test", "rules", "mirror-test.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
