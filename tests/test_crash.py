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
import tables
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
    kills_mid_commit = torn = 0
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
        # A kill inside a commit may have torn a chunk that also holds committed rows (the
        # next writer rewrites it): the reader then says so and stops there, never reading
        # other numbers (read_events' torn_ok).
        cut = os.path.exists(path + ".journal") and os.path.getsize(path + ".journal") > 0
        before = read_events(path, torn_ok=cut)
        assert generation_prefix(before, gen) >= 0
        whole = len(before) >= sum(kept[g] for g in range(first, gen))
        assert whole or cut
        torn += not whole

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
    print(f"{ROUNDS} kills, {kills_mid_commit} left a journal to replay ({torn} a torn chunk "
          "that a reader stopped at before the replay):", *recoveries, sep="\n")


def _cut_commit(path: str, damaged_row) -> tuple[list[dict], dict, dict]:
    """A file of two commits turned into what a SIGKILL inside the second can leave: its
    journal, and one byte changed in /events row ``damaged_row(pre)`` of the one chunk that
    holds both commits' events (a row of the cut commit: the chunk torn).  (the events, the
    counts before the cut commit, its rows)."""
    from conftest import farm_events, write

    from store import checksummed, journal, schema

    events = farm_events(3, runs=30)
    cut = len(events) // 2
    write(path, events[:cut])
    with tables.open_file(path) as h5:
        pre = {name: int(getattr(h5.root, name).nrows) for name in schema.TABLES}
        tails = checksummed.verify_tails(h5, schema.TABLES)  # what the writer journals
        file_id = str(h5.root._v_attrs.trmon_file_id)
    write(path, events[cut:])
    with tables.open_file(path) as h5:
        rows = {name: getattr(h5.root, name).read(pre[name]) for name in schema.TABLES}
        assert int(h5.root.events.chunkshape[0]) > len(events)  # one chunk: committed + cut
        row = damaged_row(pre["events"])
        needle = h5.root.events.read(row, row + 4).tobytes()
    with open(journal.journal_path(path), "wb") as handle:
        handle.write(journal.encode(journal.Entry(file_id=file_id, pre=pre, rows=rows,
                                                  tails=tails)))
    with open(path, "r+b") as handle:
        data = handle.read()
        at = data.find(needle)
        assert at > 0 and data.find(needle, at + 1) < 0
        handle.seek(at + 9)
        handle.write(bytes([data[at + 9] ^ 0x40]))
    return events, pre, rows


def test_a_chunk_torn_by_a_killed_commit_waits_for_the_next_writer(tmp_path):
    """The state a SIGKILL inside a commit can leave (README, "File format"), made on purpose:
    the journal of a commit, and the chunk of /events that it was rewriting torn (its first
    rows committed before, the journalled rows after them half written: the chunk fails its
    checksum).  A reader says so and delivers no row of that chunk; the next writer takes the
    committed rows from the chunk's bytes (they match the journal's CRC), replays the journal,
    and then every event is there exactly once."""
    from store import journal
    from store.tail import TailReader
    from store.trouble import Trouble

    path = str(tmp_path / "events.h5")
    events, pre, rows = _cut_commit(path, lambda pre: pre + 5)

    result = TailReader(path).poll()
    assert result.status.reason == Trouble.CHECKSUM, result.status
    assert "a commit was cut short: the next writer repairs it" in result.status.message
    assert read_events(path, torn_ok=True) == []  # the torn chunk holds every event

    writer = EventWriter(path)  # recovers: rewrites the torn chunk, replays the journal
    writer.close()
    assert writer.recoveries == [
        f"replayed a commit cut short; rows cut back first: "
        f"{ {k: len(v) for k, v in rows.items() if len(v)} }; torn chunks rewritten: "
        f"/events rows 0-{pre['events'] - 1}"]
    assert not os.path.exists(journal.journal_path(path))
    after = read_events(path)
    assert [(e["testrun_id"], e["event"], e["emit"]) for e in after] == \
        [(e["testrun_id"], e["event"], e["emit"]) for e in events]


def test_committed_rows_damaged_beside_a_cut_commit_are_not_taken_for_torn(tmp_path):
    """The same, but the changed byte is in a row committed before (damage, not a tear): its
    bytes no longer match the journal's CRC, so the next writer refuses to touch the file (the
    journal kept for a later try) rather than take those bytes for the rows."""
    from store import journal
    from store.writer import StoreError

    path = str(tmp_path / "events.h5")
    _cut_commit(path, lambda pre: pre // 2)
    with open(path, "rb") as handle:
        before = handle.read()
    with pytest.raises(StoreError, match=r"/events rows 0-\d+ fail their checksum"):
        EventWriter(path)
    assert os.path.getsize(journal.journal_path(path)) > 0
    with open(path, "rb") as handle:
        assert handle.read() == before
