"""The static demo generator: a real file, read back with PyTables, has the farm's statistics.

Phase durations are recomputed here from the raw rows (DESIGN.md's definitions), independently
of store.stats, and compared with the ranges of demo.farm within tolerances.  The incidents
(failing and flaky hosts, group outages, config faults, hangs, bad and slow days) are found in
the rows the same way; the ranges and rates of ordinary testruns leave out the ones the farm's
incidents touched.
"""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib

import numpy as np
import pytest
import tables

import demo
from demo import farm, generator, live
from demo.incidents import DAY, Incidents
from store.schema import CODE, TABLES

RUNS = 20_000
SEED = 7
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
    written = generator.write_static(str(path), RUNS, seed=SEED)
    data = read_file(path)
    assert len(data["events"]) == written
    return data


@pytest.fixture(scope="module")
def runs(farm_file):
    return derive(farm_file)


@pytest.fixture(scope="module")
def incidents():
    """The incidents of the seed's farm: days, failing hosts and outages depend on the seed
    alone, and those at its end on where it ends (FarmModel.trouble_at)."""
    found = Incidents(SEED, farm.GROUPS)
    found.fail_a_host_around(generator.FIXED_END)
    found.starve_a_group_around(generator.FIXED_END)
    return found


def derive(data) -> dict:
    """Per-run derived values: group name, first times of the waypoints, phase samples, host,
    error message, how and when the run ended."""
    ev, text = data["events"], data["text"]
    n = len(data["runs"])
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
    host, message = np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    req, errors = data["requests"], data["errors"]
    host[req["run"]] = [json.loads(h)[0][0] if h else "" for h in text[req["hosts"]]]
    config = np.full(n, "", dtype=object)
    config[req["run"]] = text[req["configuration"]]
    message[errors["run"]] = text[errors["message"]]
    error_emit = np.full(n, np.nan)
    error_emit[errors["run"]] = ev["emit"][errors["event_row"]]
    firsts = {name: first(name) for name in ("request", "queue_start", "queue_end", "publish",
                                             "error")}
    requested = np.full(n, np.nan)  # emit: the model's clock, which picks the day's incidents
    requested[req["run"]] = ev["emit"][req["event_row"]]
    failed = ~np.isnan(firsts["error"])
    return {
        "group": text[data["runs"]["group"]],
        "first": firsts,
        "pairs": {phase: pairs(phase) for phase in ("flash", "boot", "test")},
        "starts": {phase: np.bincount(run[code == CODE[f"{phase}_start"]], minlength=n)
                   for phase in ("flash", "boot")},
        "before_error": last_before_error,
        "requested": requested,
        "host": host,
        "config": config,
        "message": message,
        "error_emit": error_emit,
        "failed": failed,
        "ended": failed | ~np.isnan(firsts["publish"]),
        "end": np.where(failed, firsts["error"], firsts["publish"]),
    }


def longer_than_range(runs, phase, kind):
    """Mask of the phase's samples longer than their group's range (hangs, slow days)."""
    run, dur = runs["pairs"][phase]
    limit = {g.name: g.factors[kind] * farm.STEP_RANGE[kind][1] + JITTER for g in farm.GROUPS}
    names, at = np.unique(runs["group"][run], return_inverse=True)
    return dur > np.array([limit[n] for n in names])[at]


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
def test_phase_durations_follow_each_groups_range(runs, incidents, phase, kind):
    run, dur = runs["pairs"][phase]
    names = runs["group"][run]
    ordinary = np.ones(len(run), dtype=bool)
    if kind == farm.TEST:  # a slow day's tests take longer
        ordinary = incidents.day_factors(runs["requested"][run])[1] == 1.0
        assert 0 < (~ordinary).mean() < 2 * farm.SLOW_DAY_SHARE
    hung = longer_than_range(runs, phase, kind) & ordinary
    assert 0 < hung.mean() < 2 * farm.HANG_SHARE
    for group in farm.GROUPS:
        lo, hi = (x * group.factors[kind] for x in farm.STEP_RANGE[kind])
        p95 = lo + 0.95 * (hi - lo)
        h = dur[hung & (names == group.name)]
        assert len(h) and h.min() >= 3 * p95 - JITTER and h.max() <= 10 * p95 + JITTER
        d = dur[ordinary & ~hung & (names == group.name)]
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


def test_errors_in_every_phase_with_type_and_message(farm_file, runs, incidents):
    errors = farm_file["errors"]
    messages = farm_file["text"][errors["message"]]
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+: \S.*", m) for m in messages)
    down = running_at_outages(runs, incidents)
    planned = errors["run"][~down[errors["run"]]]
    before = {int(c) for c in runs["before_error"][planned]}
    # request (init), queue_start (queue), *_start (flash/boot/test), test_end (publish)
    assert before == {CODE[n] for n in ("request", "queue_start", "flash_start", "boot_start",
                                         "test_start", "test_end")}
    # An outage cuts the testruns running then short where they are, even between two phases.
    starts = [o.start for o in outages_in(runs, incidents)]
    cut = np.flatnonzero(np.isin(np.round(runs["error_emit"], 3), np.round(starts, 3)))
    assert len(cut) >= 2 * len(starts) and (down[cut]).all()
    assert {int(c) for c in runs["before_error"][cut]} - before
    assert {m.split(":")[0] for m in runs["message"][cut]} == {"ConnectionError",
                                                               "DeviceLostError"}


def running_at_outages(runs, incidents):
    """Testruns of an outage's group pulled before its end that ended after its start: those it
    cut short (and a few that had ended just before it, received late)."""
    touched = np.zeros(len(runs["host"]), dtype=bool)
    pulled, end = runs["first"]["queue_end"], runs["end"]
    for o in outages_in(runs, incidents):
        touched |= ((runs["group"] == farm.GROUPS[o.group].name) & (pulled < o.end)
                    & (end >= o.start))
    return touched


def outages_in(runs, incidents):
    days = runs["requested"] // DAY
    return incidents.outages(int(np.nanmin(days)), int(np.nanmax(days)) + 1)


def with_config_fault(runs):
    """Testruns of a configuration on a host that fails it (demo.farm.CONFIG_FAULTS)."""
    touched = np.zeros(len(runs["host"]), dtype=bool)
    for fault in farm.CONFIG_FAULTS:
        on_host = (np.isin(runs["host"], fault.hosts) if fault.hosts is not None
                   else runs["host"] != "")
        touched |= (runs["config"] == fault.configuration) & on_host
    return touched


def touched_by_incidents(runs, incidents):
    """Testruns requested on a bad day, run by a flaky host, or pulled by a host while (or
    about when) it was failing."""
    touched = incidents.day_factors(runs["requested"])[0] != 1.0
    touched |= np.isin(runs["host"], list(incidents.flaky))
    touched |= running_at_outages(runs, incidents) | with_config_fault(runs)
    pulled, days = runs["first"]["queue_end"], runs["requested"] // DAY
    for e in incidents.episodes(int(days.min()), int(days.max()) + 1):
        touched |= ((runs["host"] == e.host.name) & (pulled >= e.start - farm.HOUR)
                    & (pulled < e.end + farm.HOUR))
    return touched


def test_error_rate_per_group(runs, incidents):
    """Outside the incidents, each group's testruns fail at its rate (hangs the watchdog killed
    included: they are some of those errors)."""
    ordinary = ~touched_by_incidents(runs, incidents)
    assert 0.05 < (~ordinary).mean() < 0.5
    ended, failed = runs["ended"] & ordinary, runs["failed"]
    for g in farm.GROUPS:
        mine = (runs["group"] == g.name) & ended
        rate = failed[mine].mean()
        tolerance = 4 * (g.error_rate * (1 - g.error_rate) / mine.sum()) ** 0.5
        assert abs(rate - g.error_rate) < tolerance, g.name


def ended_in_order(runs, host):
    """The host's ended testruns, by end time (DESIGN's order for its error streak)."""
    mine = np.flatnonzero(runs["ended"] & (runs["host"] == host))
    return mine[np.argsort(runs["end"][mine], kind="stable")]


def flash_error_streaks(runs):
    """(host, length) of every streak of 3+ flash errors in a row on a host whose messages name
    the host and after which the host finished a testrun."""
    found = []
    for host in np.unique(runs["host"][runs["ended"]]):
        order = ended_in_order(runs, host) if host else []
        at_flash = [runs["failed"][r] and runs["before_error"][r] == CODE["flash_start"]
                    and host in runs["message"][r] for r in order]
        length = 0
        for i, flash_error in enumerate(at_flash + [False]):
            if flash_error:
                length += 1
                continue
            if length >= 3 and not runs["failed"][order[i:]].all():
                found.append((host, length))
            length = 0
    return found


def test_failing_hosts_fail_every_flash_for_a_while_then_recover(runs):
    streaks = flash_error_streaks(runs)
    assert len({host for host, _ in streaks}) >= 3   # now and then, here and there
    assert max(length for _, length in streaks) >= 8  # for a while


def test_flaky_hosts_fail_far_more_often_than_the_farm_and_their_group(runs):
    ended, failed, host, group = runs["ended"], runs["failed"], runs["host"], runs["group"]
    farm_rate = failed[ended].mean()
    flaky = []
    for h in np.unique(host[ended & (host != "")]):
        mine = ended & (host == h)
        rate, own_group = failed[mine].mean(), failed[ended & (group == group[mine][0])].mean()
        if rate >= 2 * farm_rate:
            flaky.append((h, rate / own_group))
    assert flaky
    assert max(ratio for _, ratio in flaky) >= 2  # DESIGN's `suspect` compares with the group


@pytest.mark.parametrize("phase", ["flash", "boot", "test"])
def test_some_testruns_hang_far_beyond_their_groups_p95(runs, phase):
    run, dur = runs["pairs"][phase]
    names = runs["group"][run]
    worst = [dur[names == g.name].max() / np.percentile(dur[names == g.name], 95)
             for g in farm.GROUPS]
    assert max(worst) > 3


def test_days_differ(runs, incidents):
    # A bad day's build multiplies the groups' error rates, not the faults of a configuration.
    ended = runs["ended"] & ~with_config_fault(runs) & ~running_at_outages(runs, incidents)
    failed = runs["failed"]
    day = (runs["requested"] // DAY).astype(np.int64)
    took = runs["first"]["publish"] - runs["first"]["request"]
    days = [d for d in np.unique(day) if (ended & (day == d)).sum() >= 200]  # whole days
    assert len(days) > 20
    errors = np.array([failed[ended & (day == d)].mean() for d in days])
    testrun_p50 = np.array([np.nanmedian(took[day == d]) for d in days])
    assert errors.max() >= 2 * np.median(errors)            # a bad day
    assert testrun_p50.max() >= 1.3 * np.median(testrun_p50)  # a slow day
    requests = np.bincount(day - day.min())[np.array(days) - day.min()]
    weekend = (np.array(days) + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    assert requests[weekend].mean() < 0.7 * requests[~weekend].mean()


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
    longest_hang = farm.HANG_LENGTH[1] * farm.STEP_RANGE[farm.TEST][1] * max(
        g.factors[farm.TEST] for g in farm.GROUPS)
    # Only the latest are open (and the hangs, and what waited for them).
    assert len(open_) and requested.min() > end - 6 * farm.HOUR - longest_hang


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


def assert_a_bad_host_and_a_hang(data, now):
    """A host failed its latest 3+ testruns (DESIGN's `bad`), and a testrun is in a phase for
    more than 3 times its group's p95 of that phase (overdue, and far)."""
    runs = derive(data)
    latest = [ended_in_order(runs, h)[-3:] for h in np.unique(runs["host"]) if h]
    assert any(len(r) == 3 and runs["failed"][r].all() for r in latest)
    ev = data["events"]
    last = np.full(len(runs["host"]), -1)
    np.maximum.at(last, ev["run"], np.arange(len(ev)))  # each run's last row (file order)
    hanging = []
    for phase in ("flash", "boot", "test"):
        in_phase = np.flatnonzero(~runs["ended"] & (last >= 0))
        in_phase = in_phase[ev["code"][last[in_phase]] == CODE[f"{phase}_start"]]
        run, dur = runs["pairs"][phase]
        for r in in_phase:
            samples = dur[runs["group"][run] == runs["group"][r]]
            elapsed = now - ev["received"][last[r]]
            if len(samples) >= 20 and elapsed > 3 * np.percentile(samples, 95):
                hanging.append((r, phase))
    assert hanging


def test_a_history_ends_with_a_bad_host_and_a_hang(farm_file):
    """So the Hosts pane and the overdue list of a generated file have something to show."""
    assert_a_bad_host_and_a_hang(farm_file, generator.FIXED_END)


def test_the_live_demo_opens_with_a_bad_host_a_hang_and_a_starved_group(tmp_path):
    """The history that --demo writes before going live has them too: the panes have something
    from the first second."""
    path, origin, stop = tmp_path / "live.h5", generator.FIXED_END, threading.Event()
    live.run_live(str(path), speed=60.0, seed=3, history=live.DEFAULT_HISTORY, stop=stop,
                  origin=origin, on_ready=lambda _events: stop.set())
    data = read_file(path)
    assert_a_bad_host_and_a_hang(data, origin)
    assert_a_starved_group(data, origin)


# ------------------------------------------------ why it waits and why it fails (DESIGN.md)

def states_at(runs, group, t):
    """(queued, ongoing, oldest queued wait) of a group's testruns by what was received at t
    (DESIGN's statuses; the wait since the first queue_start, else the request)."""
    first = runs["first"]
    mine = (runs["group"] == group) & (first["request"] <= t)
    ended = (first["error"] <= t) | (first["publish"] <= t)
    pulled = first["queue_end"] <= t
    queued, ongoing = mine & ~ended & ~pulled, mine & ~ended & pulled
    since = np.where(first["queue_start"] <= t, first["queue_start"], first["request"])
    wait = float((t - since[queued]).max()) if queued.any() else 0.0
    return int(queued.sum()), int(ongoing.sum()), wait


def starved(runs, group, t):
    queued, ongoing, wait = states_at(runs, group, t)
    return queued > 0 and ongoing == 0 and wait > 600


def test_outages_starve_their_group_then_it_recovers(runs, incidents):
    """While its hosts are down a group pulls nothing and runs nothing, its queue grows; once
    they are back it pulls what waited at once."""
    history = (np.nanmin(runs["first"]["request"]) + DAY, generator.FIXED_END)
    inside = [o for o in outages_in(runs, incidents)
              if history[0] < o.start and o.end < history[1]]
    assert len(inside) >= 5
    late = farm.LAG_MAX + JITTER  # a lagging worker's events arrive up to this late
    starving = 0
    for o in inside:
        name = farm.GROUPS[o.group].name
        pulled = runs["first"]["queue_end"][runs["group"] == name]
        assert not ((pulled >= o.start + late) & (pulled < o.end)).any(), o
        queued, ongoing, _ = states_at(runs, name, o.end - 1)
        assert ongoing == 0, o
        starving += starved(runs, name, o.end - 1)
        if queued:
            assert pulled[pulled >= o.end].min() <= o.end + late, o
            assert not starved(runs, name, o.end + late + 1), o
    assert starving >= 0.6 * len(inside)


def assert_a_starved_group(data, now):
    """The group of farm.STARVING_GROUP_AT_END starves at `now`: testruns queued for over an
    hour, none running."""
    runs = derive(data)
    queued, ongoing, wait = states_at(runs, farm.STARVING_GROUP_AT_END, now)
    assert queued >= 2 and ongoing == 0 and wait > farm.HOUR
    others = [g.name for g in farm.GROUPS if g.name != farm.STARVING_GROUP_AT_END]
    assert not any(starved(runs, g, now) for g in others)


def test_a_history_ends_with_a_starved_group(farm_file):
    assert_a_starved_group(farm_file, generator.FIXED_END)


def fisher_p(a, n, k, total):
    """DESIGN's one-sided Fisher exact test: the chance of `a` or more errors among `n` of
    `total` ended testruns of which `k` are errors."""
    return sum(math.comb(k, x) * math.comb(total - k, n - x)
               for x in range(a, min(k, n) + 1)) / math.comb(total, n)


def per_host(runs, config):
    """{host: (errors, ended)} on a configuration, and its (errors, ended) over all hosts."""
    on = runs["ended"] & (runs["config"] == config) & (runs["host"] != "")
    hosts = {h: (int(runs["failed"][on & (runs["host"] == h)].sum()),
                 int((on & (runs["host"] == h)).sum())) for h in np.unique(runs["host"][on])}
    return hosts, (int(runs["failed"][on].sum()), int(on.sum()))


def suspects(runs, config):
    """{host: p} of the hosts suspect for a configuration (3+ errors, p < 0.01)."""
    hosts, (k, total) = per_host(runs, config)
    found = {h: fisher_p(a, n, k, total) for h, (a, n) in hosts.items() if a >= 3}
    return {h: p for h, p in found.items() if p < 0.01}


def test_a_host_breaks_one_configuration_and_passes_the_others(runs):
    fault = next(f for f in farm.CONFIG_FAULTS if f.hosts)
    (host,) = fault.hosts
    assert set(suspects(runs, fault.configuration)) == {host}
    group = next(g for g in farm.GROUPS if fault.configuration in g.configurations)
    for config in set(group.configurations) - {fault.configuration}:
        assert host not in suspects(runs, config), config
        hosts, _ = per_host(runs, config)
        others = [a / n for h, (a, n) in hosts.items() if h != host]
        assert hosts[host][0] / hosts[host][1] < 2 * max(others), config


def test_a_broken_image_fails_on_every_host(runs):
    fault = next(f for f in farm.CONFIG_FAULTS if f.hosts is None)
    hosts, (k, total) = per_host(runs, fault.configuration)
    group = next(g for g in farm.GROUPS if fault.configuration in g.configurations)
    assert set(hosts) == {group.host(d)[0] for d in range(group.devices)}
    assert all(a / n > 0.3 for a, n in hosts.values())
    assert suspects(runs, fault.configuration) == {}
    pct = {c: 100 * sum(per_host(runs, c)[1][:1]) / per_host(runs, c)[1][1]
           for c in np.unique(runs["config"][runs["ended"]])}
    assert max(pct, key=pct.get) == fault.configuration and pct[fault.configuration] > 40
    assert pct[fault.configuration] > 3 * np.median(list(pct.values()))


def categories(runs, rules):
    """DESIGN's failure category of each error testrun: the first rule matching its text, else
    infra (no test_start before its error) or test."""
    out = {}
    for r in np.flatnonzero(runs["failed"]):
        text = runs["message"][r]
        tested = runs["before_error"][r] in (CODE["test_start"], CODE["test_end"])
        out[r] = next((rule["category"] for rule in rules if re.search(rule["match"], text)),
                      "test" if tested else "infra")
    return out


def test_the_sample_config_classifies_some_demo_errors(runs):
    config = tomllib.loads(demo.CONFIG.read_text())
    assert set(config) == {"failures"} and set(config["failures"]) == {"rule"}
    rules = config["failures"]["rule"]
    assert all(set(rule) == {"match", "category"} for rule in rules)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,32}", rule["category"]) for rule in rules)
    texts = set(runs["message"][runs["failed"]])
    for rule in rules:  # each compiles and classifies some of the demo's errors
        assert any(re.compile(rule["match"]).search(t) for t in texts), rule
    found = categories(runs, rules)
    counted = {c: list(found.values()).count(c) for c in set(found.values())}
    assert set(counted) == {rule["category"] for rule in rules} | {"infra", "test"}
    # The broken image's errors are "image"; the host that cannot boot one configuration
    # matches no rule: "infra".
    image = next(f for f in farm.CONFIG_FAULTS if f.hosts is None)
    of_image = [c for r, c in found.items() if runs["config"][r] == image.configuration]
    assert of_image.count("image") > 0.5 * len(of_image)
    boot = next(f for f in farm.CONFIG_FAULTS if f.hosts)
    of_boot = [c for r, c in found.items() if runs["config"][r] == boot.configuration
               and runs["host"][r] in boot.hosts and runs["message"][r].startswith("BootError")]
    assert of_boot and set(of_boot) == {"infra"}
