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
