"""The static demo generator: a real file, read back with PyTables, has the farm's statistics.

Phase durations are recomputed here from the raw rows (DESIGN.md's definitions), independently
of store.stats, and compared with the ranges of demo.farm within tolerances.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tables

from demo import farm, generator
from store.schema import CODE, TABLES

RUNS = 20_000
MIN = farm.MINUTE
JITTER = farm.RECEIVE_JITTER[1]


def read_file(path) -> dict:
    """Every table as a numpy array, strings decoded, plus root attributes."""
    with tables.open_file(str(path), "r") as h5:
        data = {name: getattr(h5.root, name).read() for name in TABLES}
        attrs = {k: h5.root._v_attrs[k] for k in h5.root._v_attrs._v_attrnamesuser}
    data["text"] = np.array([s.decode() for s in data["strings"]["value"]] or [""])
    data["attrs"] = attrs
    return data


@pytest.fixture(scope="module")
def farm_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "farm.h5"
    written = generator.write_static(str(path), RUNS, seed=7)
    data = read_file(path)
    assert len(data["events"]) == written
    return data


@pytest.fixture(scope="module")
def runs(farm_file):
    """Per-run derived values: group name, first times of the waypoints, phase samples."""
    ev, text = farm_file["events"], farm_file["text"]
    n = len(farm_file["runs"])
    order = np.lexsort((np.arange(len(ev)), ev["run"]))  # by run, file order within a run
    run, code, t = ev["run"][order], ev["code"][order], ev["received"][order]

    def first(name):
        out = np.full(n, np.nan)
        idx = np.flatnonzero(code == CODE[name])[::-1]
        out[run[idx]] = t[idx]
        return out

    def pairs(phase):
        """(run, duration) of each `*_end`, closing the `*_start` just before it."""
        end = np.flatnonzero(code == CODE[f"{phase}_end"])
        assert (end > 0).all()
        assert (code[end - 1] == CODE[f"{phase}_start"]).all()
        assert (run[end - 1] == run[end]).all()
        return run[end], t[end] - t[end - 1]

    last_before_error = np.full(n, -1)
    err = np.flatnonzero(code == CODE["error"])
    last_before_error[run[err]] = code[err - 1]
    return {
        "group": text[farm_file["runs"]["group"]],
        "first": {name: first(name) for name in ("request", "queue_start", "queue_end",
                                                    "publish", "error")},
        "pairs": {phase: pairs(phase) for phase in ("flash", "boot", "test")},
        "starts": {phase: np.bincount(run[code == CODE[f"{phase}_start"]], minlength=n)
                   for phase in ("flash", "boot")},
        "before_error": last_before_error,
    }


def test_file_holds_every_testrun_in_receive_order(farm_file):
    ev = farm_file["events"]
    assert len(farm_file["runs"]) == RUNS
    assert (np.diff(ev["received"]) >= 0).all()
    assert 9 * RUNS < len(ev) < 12 * RUNS
    assert set(np.unique(ev["code"])) == set(range(len(CODE)))


def test_testruns_interleave_like_a_real_farm(farm_file):
    ev = farm_file["events"]
    # Between a run's request and its last event, other runs' events arrive.
    first = np.full(RUNS, len(ev))
    np.minimum.at(first, ev["run"], np.arange(len(ev)))
    last = np.zeros(RUNS, dtype=np.int64)
    np.maximum.at(last, ev["run"], np.arange(len(ev)))
    span_rows = last - first + 1
    per_run = np.bincount(ev["run"], minlength=RUNS)
    assert np.median(span_rows / per_run) > 3


@pytest.mark.parametrize("phase,kind", [("flash", farm.FLASH), ("boot", farm.BOOT),
                                        ("test", farm.TEST)])
def test_phase_durations_follow_each_groups_range(runs, phase, kind):
    run, dur = runs["pairs"][phase]
    names = runs["group"][run]
    for group in farm.GROUPS:
        lo, hi = (x * group.factors[kind] for x in farm.STEP_RANGE[kind])
        d = dur[names == group.name]
        assert len(d) > 300, group.name
        assert d.min() >= lo - JITTER and d.max() <= hi + JITTER, group.name
        assert d.mean() == pytest.approx((lo + hi) / 2, rel=0.03), group.name
        assert d.std() == pytest.approx((hi - lo) / 12 ** 0.5, rel=0.1), group.name


def test_groups_really_differ(runs):
    run, dur = runs["pairs"]["flash"]
    means = {g.name: dur[runs["group"][run] == g.name].mean() for g in farm.GROUPS}
    assert max(means.values()) > 1.5 * min(means.values())


def test_queues_form_and_drain(runs):
    first = runs["first"]
    wait = first["queue_end"] - first["queue_start"]
    wait = wait[~np.isnan(wait)]
    assert wait.min() >= 0.8 * farm.PICKUP_RANGE[0] - JITTER  # the fastest pickup factor
    assert 1 * MIN < np.median(wait) < 15 * MIN               # usually short...
    assert np.percentile(wait, 95) > 30 * MIN                 # ...but queues build up
    assert (wait > 2 * farm.HOUR).sum() > 0


def test_init_and_publish_follow_the_spike(runs):
    first = runs["first"]
    init = (first["queue_start"] - first["request"])
    init = init[~np.isnan(init)]
    assert init.min() >= farm.INIT_RANGE[0] - JITTER and init.max() <= farm.INIT_RANGE[1] + 1
    total = first["publish"] - first["request"]
    total = total[~np.isnan(total)]
    assert 45 * MIN < np.median(total) < 120 * MIN


@pytest.mark.parametrize("phase", ["flash", "boot"])
def test_retries_give_extra_iterations(runs, phase):
    starts, group = runs["starts"][phase], runs["group"]
    cap = 4 if phase == "flash" else 3
    for g in farm.GROUPS:
        k = starts[(group == g.name) & (starts > 0)]
        p = g.flash_retry if phase == "flash" else g.boot_retry
        expected = sum(p ** i for i in range(cap))  # mean of a geometric capped at `cap`
        assert k.max() <= cap
        assert k.mean() == pytest.approx(expected, abs=0.04), g.name
    assert (starts > 1).sum() > 0.05 * len(starts)


def test_errors_in_every_phase_with_type_and_message(farm_file, runs):
    errors = farm_file["errors"]
    messages = farm_file["text"][errors["message"]]
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+: \S.*", m) for m in messages)
    before = {int(c) for c in runs["before_error"][errors["run"]]}
    # request (init), queue_start (queue), *_start (flash/boot/test), test_end (publish)
    assert before == {CODE[n] for n in ("request", "queue_start", "flash_start", "boot_start",
                                         "test_start", "test_end")}


def test_error_rate_per_group(runs):
    ended = ~np.isnan(runs["first"]["publish"]) | ~np.isnan(runs["first"]["error"])
    failed = ~np.isnan(runs["first"]["error"])
    for g in farm.GROUPS:
        mine = (runs["group"] == g.name) & ended
        rate = failed[mine].mean()
        tolerance = 4 * (g.error_rate * (1 - g.error_rate) / mine.sum()) ** 0.5
        assert abs(rate - g.error_rate) < tolerance, g.name


def test_the_snapshot_ends_with_queued_and_ongoing_runs(runs):
    first = runs["first"]
    open_ = np.isnan(first["publish"]) & np.isnan(first["error"])
    assert open_.sum() > 0
    assert (open_ & np.isnan(first["queue_end"])).sum() > 0  # still queued


def test_request_attributes(farm_file):
    req, text = farm_file["requests"], farm_file["text"]
    assert len(req) == RUNS
    queues = text[req["queue"]]
    assert set(queues) == set(farm.QUEUES)
    requestors = text[req["requestor"]]
    counts = np.sort(np.unique(requestors, return_counts=True)[1])[::-1]
    assert counts[0] > 5 * counts[19]  # Zipf: a few people request most
    assert all(r.endswith("@testfarm.example.org") for r in np.unique(requestors))
    hosts = [json.loads(h) for h in np.unique(text[req["hosts"]]) if h]
    assert all(len(h) == 1 and isinstance(h[0][0], str) and h[0][1] >= 1 for h in hosts)
    assert len(np.unique(req["request_id"])) == RUNS


def test_received_is_a_little_after_emit_sometimes_late(farm_file):
    ev = farm_file["events"]
    delay = ev["received"] - ev["emit"]
    assert delay.min() >= farm.RECEIVE_JITTER[0] - 1e-3
    assert np.median(delay) < 0.5
    late = (delay > 5).mean()
    assert 0.001 < late < 0.05


def test_same_seed_same_file_other_seed_other_file(tmp_path):
    def make(name, seed):
        path = tmp_path / name
        generator.write_static(str(path), 3000, seed=seed)
        return read_file(path)

    a, b, c = make("a.h5", 11), make("b.h5", 11), make("c.h5", 12)
    for name in TABLES:
        assert a[name].tobytes() == b[name].tobytes(), name
    assert a["attrs"]["trmon_file_id"] != b["attrs"]["trmon_file_id"]
    same = {k: v for k, v in a["attrs"].items() if k != "trmon_file_id"}
    assert same == {k: v for k, v in b["attrs"].items() if k != "trmon_file_id"}
    assert a["events"].tobytes() != c["events"].tobytes()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "trmon_tui", "generate", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_static_then_refuses_to_overwrite(tmp_path):
    out = tmp_path / "out.h5"
    done = cli(out, "--runs", 500, "--seed", 1)
    assert done.returncode == 0, done.stderr
    assert "wrote 500 testruns" in done.stderr and done.stdout == ""
    before = out.read_bytes()
    again = cli(out, "--runs", 10)
    assert again.returncode == 2
    assert "already holds trmon-tui events" in again.stderr
    assert out.read_bytes() == before


def test_cli_clear_errors(tmp_path):
    foreign = tmp_path / "notes.txt"
    foreign.write_text("precious")
    result = cli(foreign, "--runs", 10)
    assert result.returncode == 2 and "not a trmon-tui event file" in result.stderr
    assert foreign.read_text() == "precious"
    result = cli(tmp_path / "x.h5")
    assert result.returncode == 2 and "--runs N is required" in result.stderr
    result = cli(tmp_path / "missing" / "x.h5", "--runs", 5)
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = cli(tmp_path / "x.h5", "--runs", 5, "--live", "--speed", 0)
    assert result.returncode == 2 and "--speed" in result.stderr
    assert not (tmp_path / "x.h5").exists()


def test_blockwise_generation_keeps_receive_order_and_whole_testruns():
    end = generator.FIXED_END
    chunks = list(generator.static_chunks(3000, seed=4, end=end, chunk=1000, block_runs=400))
    cols = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    assert (np.diff(cols["received"]) >= 0).all() and cols["received"].max() <= end
    ids, first = np.unique(cols["testrun_id"], return_index=True)
    assert len(ids) == 3000
    assert (cols["event"][first] == "request").all()  # nothing of a run before its request
    terminal = np.isin(cols["event"], ["publish", "error"])
    ended = np.unique(cols["testrun_id"][terminal])
    assert len(ended) == np.count_nonzero(terminal)    # one end per testrun
    open_ = np.setdiff1d(ids, ended)
    requested = cols["received"][first][np.isin(ids, open_)]
    assert len(open_) and requested.min() > end - 6 * farm.HOUR  # only the latest are open


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_static_interrupted_exits_0_with_a_consistent_file(tmp_path, sig):
    out = tmp_path / "big.h5"
    proc = subprocess.Popen([sys.executable, "-m", "trmon_tui", "generate", str(out), "--runs",
                             "2000000", "--seed", "1"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not out.exists() or out.stat().st_size < 2_000_000:  # some commits are in
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert "interrupted; everything written so far is committed" in err
    assert "Traceback" not in err
    data = read_file(out)
    counts = json.loads(data["attrs"]["trmon_commit"])
    assert counts["events"] == len(data["events"]) > 0
    assert (np.diff(data["events"]["received"]) >= 0).all()
