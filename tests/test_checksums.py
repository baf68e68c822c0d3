"""Checksums (issue 19): damage inside a product file is an error naming its rows, never other
numbers.  Real files written by the product, damaged by hand or by a fixed-seed fuzz, read by
`report`, `tail` and `ingest` in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tables
from damaged_files import damaged_copies
from test_multi import seed_file

from demo import generator
from store import schema

NOW = str(int(generator.FIXED_END))
TESTRUNS = 4000  # ~40k events: two chunks of /events and part of a third


def trmon(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trmon_tui", *args], capture_output=True,
                          text=True, timeout=120, input=stdin)


def figures(stdout: str) -> dict:
    answer = json.loads(stdout)
    answer.pop("files")
    return answer


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("checksums") / "farm.h5")
    generator.write_static(path, TESTRUNS, 1)
    return path


def _damaged_rows(source: str, target: str, row: int) -> tuple[int, int]:
    """A copy of ``source`` with one byte of /events row ``row`` changed; the rows of its chunk."""
    with tables.open_file(source) as h5:
        events = h5.root.events
        needle = events.read(row, row + 4).tobytes()
        chunk = int(events.chunkshape[0])
        rows = (row - row % chunk, min(row - row % chunk + chunk, int(events.nrows)))
    with open(source, "rb") as handle:
        data = bytearray(handle.read())
    at = data.find(needle)
    assert at > 0 and data.find(needle, at + 1) < 0
    data[at + 9] ^= 0x40  # a bit of the row's emit time: other numbers, were it read
    with open(target, "wb") as handle:
        handle.write(data)
    return rows


def test_the_product_writes_checksummed_data_and_metadata(farm, tmp_path):
    with tables.open_file(farm) as h5:
        assert all(getattr(h5.root, name).filters.fletcher32 for name in schema.TABLES)
    with open(farm, "rb") as handle:
        assert handle.read(9)[8] == 2  # superblock version 2: checksummed, as its object headers
    seed = tmp_path / "spike.h5"
    seed_file(seed)
    done = trmon("report", farm, f"spike={seed}", "--json", "--now", NOW)
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)["files"]
    assert files["farm"]["checksums"] is True and files["spike"]["checksums"] is False


def test_a_damaged_chunk_is_an_error_naming_its_rows(farm, tmp_path):
    path = str(tmp_path / "farm.h5")
    first, stop = _damaged_rows(farm, path, 20_000)
    assert (first, stop) == (16384, 32768)
    said = f"{path} is damaged: /events rows {first}-{stop - 1} fail their checksum"
    done = trmon("report", path, "--json")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"trmon-tui report: {said}\n"
    done = trmon("tail", path)
    assert done.returncode == 1 and done.stderr == f"trmon-tui tail: {said}\n"
    assert len(done.stdout.splitlines()) == first  # the rows before the damaged chunk


def test_skip_damaged_reads_around_the_chunk_and_says_what_it_left_out(farm, tmp_path):
    path = str(tmp_path / "farm.h5")
    first, stop = _damaged_rows(farm, path, 20_000)
    whole = json.loads(trmon("report", farm, "--json", "--now", NOW).stdout)
    done = trmon("report", path, "--json", "--now", NOW, "--skip-damaged")
    assert done.returncode == 0, done.stderr
    assert done.stderr == (f"trmon-tui report: left out {stop - first:,} events in chunks that "
                           "fail their checksum (--skip-damaged)\n")
    got = json.loads(done.stdout)
    assert got["files"]["farm"]["events"] == whole["files"]["farm"]["events"] - (stop - first)
    assert got["all"]["testruns"] < whole["all"]["testruns"]


def test_ingest_refuses_to_append_to_a_damaged_last_chunk(farm, tmp_path):
    path = str(tmp_path / "farm.h5")
    with tables.open_file(farm) as h5:
        last = int(h5.root.events.nrows) - 5
    first, stop = _damaged_rows(farm, path, last)
    with open(path, "rb") as handle:
        before = handle.read()
    line = '{"testrun_id": "x", "event": "request", "emit": 1, "device_group": "g"}\n'
    done = trmon("ingest", path, stdin=line)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        f"trmon-tui ingest: {path} is damaged: /events rows {first}-{stop - 1} fail their "
        "checksum; refusing to touch it")
    with open(path, "rb") as handle:
        assert handle.read() == before
    assert not os.path.exists(path + ".journal")


def test_freshness_is_the_latest_received(farm):
    done = trmon("report", farm, "--prometheus", "--now", NOW)
    assert done.returncode == 0, done.stderr
    with tables.open_file(farm) as h5:
        latest = float(np.max(h5.root.events.col("received")))
    (value,) = [line.split()[-1] for line in done.stdout.splitlines()
                if line.startswith('trmon_file_last_event_timestamp_seconds{file="farm"}')]
    assert float(value) == latest


def test_damage_anywhere_is_never_read_as_other_numbers(tmp_path):
    """The fixed-seed fuzz: 1-20 random bytes anywhere or a zeroed 4 KB page of a checksummed
    file: `report` gives the undamaged file's figures or a one-line error, nothing else.
    (Before checksums most such copies gave other figures with exit 0.)"""
    copies = damaged_copies(str(tmp_path), 10, seed=19, kinds=("anywhere", "page"),
                            layouts=("product",))
    source = os.path.join(str(tmp_path), "product.h5")
    want = figures(trmon("report", source, "--json", "--now", NOW).stdout)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda p: trmon("report", p, "--json", "--now", NOW), copies))
    refused = 0
    for path, done in zip(copies, results, strict=True):
        assert done.returncode in (0, 1), (path, done.stderr)
        if done.returncode == 0:
            assert figures(done.stdout) == want, path
        else:
            (line,) = done.stderr.splitlines()
            assert line.startswith(f"trmon-tui report: {path} ") and "Traceback" not in line
            refused += 1
    assert refused >= 3  # the damage lands where it shows
