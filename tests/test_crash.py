"""SIGKILL a real writer process at random moments, many times: nothing acknowledged is lost.

Each round starts tests/writer_proc.py appending a new generation of events, flushing every
small batch and printing "flushed I" once flush() returned; the test kills it with SIGKILL after
a random delay, then checks that a reader sees only complete commits, that the next writer
recovers the file (journal replay), and that every generation is exactly its events 0..m-1 in
order with m >= the last acknowledged count: no acknowledged batch lost, none duplicated.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import pytest
from writer_proc import generation_prefix, read_events

from store.writer import EventWriter

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")
ROUNDS = int(os.environ.get("TRMON_CRASH_ROUNDS", "30"))


def _acknowledged(output: str) -> int:
    flushed = [int(line.split()[1]) for line in output.splitlines() if line.startswith("flushed")]
    return max(flushed, default=0)


@pytest.mark.parametrize("seed", [1])
def test_sigkill_never_loses_an_acknowledged_batch(tmp_path, seed):
    rng = random.Random(seed)
    acked: dict[int, int] = {}
    kept: dict[int, int] = {}
    recoveries: list[str] = []
    kills_mid_commit = 0
    for gen in range(ROUNDS):
        # A fresh file every 10 rounds keeps the checks fast.
        path = str(tmp_path / f"events{gen // 10}.h5")
        first = gen // 10 * 10
        proc = subprocess.Popen(
            [sys.executable, HELPER, "write", path, "--gen", str(gen), "--count", "20000",
             "--batch", str(rng.choice([20, 200, 1000])), "--interval", "0.02", "--flush-each"]
            + (["--single"] if gen % 3 == 0 else []),
            stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        # Random moment: usually several commits in, sometimes right at the start.
        delay = rng.uniform(0.0, 0.4)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pass
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate()
        acked[gen] = _acknowledged(rest)
        if os.path.exists(path + ".journal") and os.path.getsize(path + ".journal"):
            kills_mid_commit += 1

        # A reader before recovery: only complete commits, never garbage, never past a journal.
        before = read_events(path)
        assert generation_prefix(before, gen) >= 0
        assert len(before) >= sum(kept[g] for g in range(first, gen))

        # The next writer recovers; then every acknowledged event is there exactly once.
        writer = EventWriter(path)
        writer.close()
        recoveries.extend(writer.recoveries)
        assert not os.path.exists(path + ".journal")
        after = read_events(path)
        kept[gen] = generation_prefix(after, gen)
        assert kept[gen] >= acked[gen]
        assert len(after) == sum(kept[g] for g in range(first, gen + 1)) >= len(before)
        if gen % 10 == 9 or gen == ROUNDS - 1:  # earlier generations of this file intact
            final = read_events(path)
            for g in range(first, gen + 1):
                assert generation_prefix(final, g) == kept[g]
    assert sum(acked.values()) > 0
    print(f"{ROUNDS} kills, {kills_mid_commit} left a journal to replay:", *recoveries, sep="\n")
