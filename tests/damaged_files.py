"""Damaged copies of event files, and a process that reads them as the monitor does.

    python tests/damaged_files.py read COPY...   one JSON line per copy: what the monitor's reader
                                                 (TailLoop), the detail look-up and a writer said
    python tests/damaged_files.py follow FILE    the monitor's tail loop running live: one JSON
                                                 line per file status change

Damage, as issue 10 describes it: 1 to 16 random bytes written into the first 4 KB (superblock,
root group, table headers: what a bad disk, a partial copy or an editor leaves), or a
truncation, or bits flipped anywhere.  Some copies make HDF5 die by SIGSEGV when opened in
process: that is why the reading runs here, in a subprocess of the test.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading

import numpy as np
import tables

SEED_ROW = [("testrun_id", "S16"), ("ev_name", "S16"), ("emit", "<i8"), ("received", "<i8")]
SEED_NAMES = [b"request", b"queue_start", b"queue_end", b"test_start", b"test_end", b"publish"]


def make_sources(directory: str) -> list[str]:
    """A product file of 50 testruns (the demo generator, seed 1) and a seed-layout file."""
    from demo import generator

    product = os.path.join(directory, "product.h5")
    generator.write_static(product, 50, 1)
    seed = os.path.join(directory, "seed.h5")
    with tables.open_file(seed, "w") as h5:
        for g in range(3):
            rows = np.zeros(300, dtype=SEED_ROW)
            rows["testrun_id"] = [f"tr-{k // 6}".encode() for k in range(300)]
            rows["ev_name"] = [SEED_NAMES[k % 6] for k in range(300)]
            rows["emit"] = rows["received"] = np.arange(300)
            h5.create_table(h5.create_group("/", f"group_{g}"), "events", rows)
    return [product, seed]


def damage(data: bytes, rng: random.Random, kind: str = "bytes") -> bytes:
    """A damaged copy of ``data``: "bytes" in the first 4 KB, "truncate", "flip" bits,
    "anywhere" (1-20 random bytes anywhere: a bad disk) or "page" (a 4 KB page zeroed)."""
    out = bytearray(data)
    if kind == "anywhere":
        for _ in range(rng.randint(1, 20)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == "page":
        start = rng.randrange(max(1, len(out) // 4096)) * 4096
        out[start:start + 4096] = bytes(len(out[start:start + 4096]))
        return bytes(out)
    if kind == "truncate":
        return bytes(out[:rng.randrange(1, len(out))])
    if kind == "flip":
        for _ in range(rng.randint(1, 64)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)
    for _ in range(rng.randint(1, 16)):
        out[rng.randrange(min(4096, len(out)))] = rng.randrange(256)
    return bytes(out)


def damaged_copies(directory: str, count: int, seed: int, kinds=("bytes",),
                   layouts: tuple[str, ...] = ("product", "seed")) -> list[str]:
    """``count`` damaged copies of make_sources' files (alternating among ``layouts``), kinds
    in turn."""
    rng = random.Random(seed)
    sources = [p for p, layout in zip(make_sources(directory), ("product", "seed"), strict=True)
               if layout in layouts]
    data = []
    for source in sources:
        with open(source, "rb") as handle:
            data.append(handle.read())
    copies = []
    for k in range(count):
        kind = kinds[k // len(sources) % len(kinds)]
        path = os.path.join(directory, f"copy-{k:04d}-{kind}.h5")
        with open(path, "wb") as handle:
            handle.write(damage(data[k % len(sources)], rng, kind))
        copies.append(path)
    return copies


# ------------------------------------------------------------------ the reading process

def read(paths: list[str]) -> None:
    from store.lookup import testrun_events
    from store.writer import EventWriter, StoreError
    from trmon_tui.feed import TailLoop

    for path in paths:
        posted = []
        loop = TailLoop(path, post=posted.append, max_rows=1000)
        loop.follow.open()
        loop.follow.catch_up()  # what the loop does on start
        for _ in range(2):  # and at each wake-up (a failure is vetted again)
            loop.follow.read()
        failed = [m.error for m in posted if type(m).__name__ == "TailFailed"]
        try:
            looked_up = f"{len(testrun_events(path, 'tr-1', patience=1.0))} events"
        except Exception as exc:  # noqa: BLE001 - the monitor shows it in one line
            looked_up = f"{type(exc).__name__}: {exc}"
        try:
            EventWriter(path).close()
            written = "opened"
        except StoreError as exc:
            written = f"StoreError: {exc}"
        print(json.dumps({"path": path, "state": loop._file.state, "message": loop._file.message,
                          "failed": failed, "lookup": looked_up, "writer": written}), flush=True)


def follow(path: str) -> None:
    from trmon_tui.feed import TailLoop

    def post(message) -> None:
        if type(message).__name__ == "FileStatusChanged":
            file = message.file
            print(json.dumps({"state": file.state, "message": file.message,
                              "rows": file.rows_read}), flush=True)

    cancelled = threading.Event()
    loop = TailLoop(path, post=post)
    worker = threading.Thread(target=loop.run, args=(cancelled,), kwargs={"poll": 0.1},
                              daemon=True)
    worker.start()
    sys.stdin.read()  # until the test closes our stdin
    cancelled.set()
    worker.join(10)


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read(sys.argv[2:])
    else:
        follow(sys.argv[2])
