"""`trmon-tui ingest`: good lines kept (round trip through `tail`), bad lines reported by number."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import tables


def _ingest(path, text: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trmon_tui", "ingest", str(path)], input=text,
                          capture_output=True, text=True, timeout=60)


def _tail(path) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "trmon_tui", "tail", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


GOOD = [
    {"testrun_id": "t1", "event": "request", "emit": 100.0, "received": 101.0,
     "device_group": "g1", "queue": "daily", "configuration": "cfg", "requestor": "a@x.org",
     "request_id": "r1", "hosts": [["worker1", 1], ["worker2", 3]]},
    {"testrun_id": "t1", "event": "queue_start", "emit": 102, "received": 103},
    {"testrun_id": "t1", "event": "flash_gremlin", "emit": 104.5, "received": 105.5},
    {"testrun_id": "t2", "event": "boot_start", "emit": 1.0, "received": 2.0, "device_group": "g2"},
    {"testrun_id": "t1", "event": "error", "emit": 106, "received": 107,
     "error": "FlashError: device ünreachable"},
]

BAD = [
    ("not json at all", "not JSON"),
    ("[1, 2]", "an event must be a JSON object, not a list"),
    ('{"event": "request", "emit": 1}', "missing required key 'testrun_id'"),
    ('{"testrun_id": "t1", "event": "queue_end"}', "missing required key 'emit'"),
    ('{"testrun_id": "t1", "event": "queue_end", "emit": "1"}', "emit must be a number"),
    ('{"testrun_id": "t1", "event": "queue_end", "emit": true}', "not a boolean"),
    ('{"testrun_id": "t1", "event": "queue_end", "emit": NaN}', "must be a finite number"),
    ('{"testrun_id": "t1", "event": "queue_end", "emit": 1, "received": Infinity}',
     "received must be a finite number"),
    ('{"testrun_id": "t1", "event": "queue_end", "emit": 1' + "0" * 400 + "}",
     "emit must be a finite number, not 1000"),
    ('{"testrun_id": "", "event": "queue_end", "emit": 1}', "testrun_id is empty"),
    (json.dumps({"testrun_id": "x" * 65, "event": "e", "emit": 1}),
     "testrun_id is 65 bytes long in UTF-8; the limit is 64"),
    ('{"testrun_id": "nobody", "event": "queue_end", "emit": 1}',
     "testrun 'nobody' has no known device group: send its request first, or give device_group"),
    ('{"testrun_id": "t3", "event": "request", "emit": 1}', "has no device_group"),
    ('{"testrun_id": "t1", "event": "request", "emit": 1, "device_group": "other"}',
     "belongs to device group 'g1'; this event names 'other'"),
    ('{"testrun_id": "t1", "event": "request", "emit": 1, "device_group": "g1", '
     '"hosts": [["w", "1"]]}', "hosts[0] must be a [host, instance] pair"),
    ('{"testrun_id": "t1", "event": "request", "emit": 1, "device_group": "g1", '
     '"hosts": "w1"}', "hosts must be a list"),
    ('{"testrun_id": "t1", "event": "error", "emit": 1, "error": 42}', "error must be a string"),
    ('{"testrun_id": "t1", "event": "queue_end", "emit": 1, "queue": "q"}',
     "queue belongs to a request event"),
    ('{"testrun_id": "t1", "event": "queue_end", "emit": 1, "colour": "red"}',
     "unknown key 'colour'"),
    (json.dumps({"testrun_id": "t1", "event": "request", "emit": 1, "device_group": "g1",
                 "requestor": "é" * 129}),
     "requestor is 258 bytes long in UTF-8; the limit is 256"),
]


def test_round_trip_and_bad_lines(tmp_path):
    path = tmp_path / "new" / "events.h5"
    path.parent.mkdir()
    lines = [json.dumps(GOOD[0]), json.dumps(GOOD[1])] + [bad for bad, _ in BAD] + \
        [json.dumps(e) for e in GOOD[2:]] + [""]
    result = _ingest(path, "\n".join(lines) + "\n")
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    for number, (_, reason) in enumerate(BAD, start=3):
        line = next(e for e in errors if e.startswith(f"line {number}: "))
        assert reason in line, (line, reason)
    assert errors[-1] == f"trmon-tui ingest: kept {len(GOOD)} events, rejected {len(BAD)} lines"
    events = _tail(path)
    expected = [dict(e) for e in GOOD]
    for e in expected:
        e["emit"], e["received"] = float(e["emit"]), float(e["received"])
    assert events == expected


def test_received_is_stamped_and_clean_input_exits_0(tmp_path):
    path = tmp_path / "events.h5"
    line = json.dumps({"testrun_id": "a", "event": "request", "emit": 5, "device_group": "g"})
    result = _ingest(path, line + "\n")
    assert result.returncode == 0 and result.stderr == ""
    (event,) = _tail(path)
    assert event["received"] > 1.7e9


def test_refuses_files_that_are_not_event_files(tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"definitely not hdf5" * 100)
    result = _ingest(junk, "")
    assert result.returncode == 2 and "is not an HDF5 file" in result.stderr
    assert junk.read_bytes() == b"definitely not hdf5" * 100
    foreign = tmp_path / "foreign.h5"
    with tables.open_file(str(foreign), "w") as h5:
        h5.create_array("/", "data", np.arange(3))
    result = _ingest(foreign, "")
    assert result.returncode == 2 and "holds other HDF5 data" in result.stderr
