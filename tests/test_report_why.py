"""`report` on a real file with the keys of DESIGN.md "Why it waits, and why it fails": the
JSON equals the reference, the table shows hosts busy/total, STARVED and the failures section
(strings from the file literally), and the metrics have every new series with zeros."""

from __future__ import annotations

import json
import subprocess
import sys

from stats_reference import reference_insight, reference_why, same
from test_metrics import parse
from test_report import write

T0 = 1_790_000_000.0
NOW = T0 + 3 * 3600
NASTY = "\x1b[31mImageError[/]: [bold]no kernel"


def events() -> list[dict]:
    """Group "lab" runs on w1-w3; w3 breaks image "img-b" (errors on every run of it), an
    image "broken" fails everywhere before any test; group "dead" only waits (starved)."""
    out, t = [], T0

    def testrun(tid, group, host, configuration, error=None, tested=True, end=True):
        nonlocal t
        t += 30
        out.append({"testrun_id": tid, "event": "request", "emit": t, "received": t,
                    "device_group": group, "configuration": configuration,
                    "hosts": [[host, 1]], "requestor": "ann@x"})
        for name in ("queue_start", "queue_end") + (("test_start",) if tested else ()):
            t += 10
            out.append({"testrun_id": tid, "event": name, "emit": t, "received": t})
        if end:
            t += 60
            last = {"testrun_id": tid, "event": "error" if error else "publish", "emit": t,
                    "received": t}
            if error:
                last["error"] = error
            out.append(last)

    for i in range(12):
        for host in ("w1", "w2", "w3"):
            bad = host == "w3"
            testrun(f"{host}-a{i}", "lab", host, "img-a")
            testrun(f"{host}-b{i}", "lab", host, "img-b",
                    error="AssertionError: 1 != 2" if bad else None)
    for i in range(4):
        testrun(f"broken{i}", "lab", f"w{i % 3 + 1}", "broken", error=NASTY, tested=False)
    testrun("running", "lab", "w1", "img-a", end=False)
    out.append({"testrun_id": "waits", "event": "request", "emit": T0, "received": T0,
                "device_group": "dead", "hosts": [["d1", 1]], "requestor": "bob@x"})
    out.append({"testrun_id": "waits", "event": "queue_start", "emit": T0 + 5,
                "received": T0 + 5})
    return out


def report(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trmon_tui", "report", *map(str, args),
                           "--now", str(NOW)], capture_output=True, text=True, timeout=120,
                          env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin"})


def test_json_table_and_metrics(tmp_path):
    path = tmp_path / "farm.h5"
    evs = events()
    write(path, evs)
    config = tmp_path / "c.toml"
    config.write_text('[[failures.rule]]\nmatch = "ImageError"\ncategory = "image"\n'
                      '[[failures.rule]]\nmatch = "^Never"\ncategory = "never"\n')
    done = report(path, "--json", "--config", config)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    rules = [("ImageError", "image"), ("^Never", "never")]
    want = reference_why(evs, now=NOW, rules=rules)
    hosts = reference_insight(evs, now=NOW)
    for name in ("all", "lab", "dead"):
        g = got["all"] if name == "all" else got["groups"][name]
        w = want["all"] if name == "all" else want["groups"][name]
        for key in w:
            same(g[key], w[key], f"{name}.{key}")
        same(g["hosts"], (hosts["all"] if name == "all" else hosts["groups"][name])["hosts"])
    lab, dead, whole = got["groups"]["lab"], got["groups"]["dead"], got["all"]
    assert (lab["hosts_total"], lab["hosts_busy"], lab["starved"]) == (3, 1, False)
    assert (dead["hosts_total"], dead["hosts_busy"], dead["starved"]) == (1, 0, True)
    assert whole["starved_groups"] == ["dead"] and whole["starved"] is True
    assert set(whole["hosts"]["w1"]) >= {"busy", "busy_1h", "busy_24h"}
    f = whole["failures"]
    assert f["categories"] == {"image": 4, "never": 0, "infra": 0, "test": 12}
    assert [t["type"] for t in f["types"]] == ["AssertionError", "\x1b[31mImageError[/]"]
    configs = {c["configuration"]: c for c in f["configurations"]}
    assert [c["configuration"] for c in f["configurations"]] == ["broken", "img-b", "img-a"]
    assert [h["host"] for h in configs["img-b"]["suspect_hosts"]] == ["w3"]
    assert configs["broken"]["suspect_hosts"] == []  # fails on every host: the image

    table = report(path, "--config", config).stdout
    assert "hosts busy 1/3" in table and "hosts busy 0/1   STARVED" in table
    assert "STARVED groups: dead" in table
    assert "failures: image 4 (25.0 %), never 0 (0.0 %), infra 0 (0.0 %), test 12" in table
    assert "\\x1b[31mImageError[/]" in table and "\x1b" not in table
    assert "w3 (12/12, p 8.0e-10)" in table  # 1 / C(36, 12)

    metrics = parse(report(path, "--prometheus", "--config", config).stdout)
    errors = metrics["trmon_errors_total"]
    assert errors[(("category", "never"), ("device_group", "dead"))] == 0
    assert errors[(("category", "image"), ("device_group", "lab"))] == 4
    assert metrics["trmon_group_starved"] == {(("device_group", "dead"),): 1.0,
                                              (("device_group", "lab"),): 0.0}
    assert metrics["trmon_hosts"][(("device_group", "lab"), ("state", "idle"))] == 2
    ratio = metrics["trmon_host_busy_ratio"]
    assert ratio[(("host", "d1"), ("window", "24h"))] == 0
    assert 0 < ratio[(("host", "w1"), ("window", "1h"))] <= 1
