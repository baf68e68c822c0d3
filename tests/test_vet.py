"""store.vet: when a file is opened first in a child, and what the child's verdict is."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
import tables
from damaged_files import damaged_copies
from writer_proc import columns

from store import h5io, vet
from store.writer import EventWriter

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")


@pytest.fixture(scope="module")
def crashing(tmp_path_factory) -> str:
    """A damaged copy that kills HDF5 (told by the vetting child, without risk here)."""
    for path in damaged_copies(str(tmp_path_factory.mktemp("vet")), 30, seed=1):
        if vet.vet(path).startswith("HDF5 crashed"):
            return path
    pytest.fail("no copy crashes HDF5")


@pytest.fixture
def vets(monkeypatch) -> list[str]:
    """The paths vetted in a child, in order."""
    calls, real = [], vet.vet
    monkeypatch.setattr(vet, "vet", lambda path: calls.append(path) or real(path))
    return calls


def _events_file(path, count=10) -> str:
    with EventWriter(str(path)) as writer:
        writer.write_columns(columns(0, 0, count))
    return str(path)


def test_a_file_is_vetted_once_then_trusted_while_it_grows(tmp_path, vets):
    path = _events_file(tmp_path / "events.h5")  # the writer vetted it: its first open
    for _ in range(3):
        h5io.open_file(path).close()
    assert vets == [path]
    with EventWriter(path) as writer:  # appends: still the same file
        writer.write_columns(columns(0, 10, 5000))
    h5io.open_file(path).close()
    assert vets == [path]
    vet.distrust(path)  # a read failed: vet it again
    h5io.open_file(path).close()
    assert vets == [path, path]


def test_a_damaged_file_is_refused_until_it_changes(tmp_path, vets, crashing):
    good = _events_file(tmp_path / "good.h5")
    path = str(tmp_path / "events.h5")
    shutil.copyfile(crashing, path)
    vets.clear()
    for _ in range(2):
        with pytest.raises(vet.Damaged, match=r"is damaged \(HDF5 crashed reading it: SIG"):
            h5io.open_file(path)
    assert vets == [path]  # refused again without a child
    shutil.copyfile(good, path)  # repaired in place
    h5io.open_file(path).close()
    assert vets == [path, path]


def test_a_file_rewritten_shorter_or_replaced_is_vetted_again(tmp_path, vets, crashing):
    path = _events_file(tmp_path / "events.h5", 5000)
    h5io.open_file(path).close()
    size = os.path.getsize(path)
    with open(crashing, "rb") as src, open(path, "r+b") as dst:  # rewritten in place, shorter
        dst.truncate(0)
        dst.write(src.read()[:size - 1])
    with pytest.raises(vet.Damaged):
        h5io.open_file(path)
    os.unlink(path)  # deleted, and a new file under the name (whatever its inode number)
    shutil.copyfile(crashing, path)
    with pytest.raises(vet.Damaged, match="crashed"):
        h5io.open_file(path)
    assert vets == [path] * 3


def test_a_locked_file_gives_no_verdict(tmp_path, vets):
    path = _events_file(tmp_path / "events.h5")
    vet.distrust(path)  # as if this process had never seen it
    vets.clear()
    holder = subprocess.Popen([sys.executable, HELPER, "hold", path, "30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert h5io.try_open(path) is None  # a lock, as before: the caller retries
        assert vets == []  # no child while the lock is visible from here
    finally:
        holder.kill()
        holder.wait()
    h5io.open_file(path).close()
    assert vets == [path]


def test_a_fork_child_stuck_on_another_threads_lock_gives_way_to_a_fresh_interpreter(
        tmp_path, monkeypatch, crashing):
    # Another thread inside HDF5 when this one forks: the child inherits HDF5's global lock
    # held by a thread it does not have, and waits forever.  A fresh interpreter decides.
    busy = str(tmp_path / "busy.h5")
    with tables.open_file(busy, "w") as h5:
        h5.create_carray("/", "x", obj=np.arange(4_000_000) % 977, filters=tables.Filters(9))
    stop = threading.Event()

    def read_all_the_time() -> None:
        with tables.open_file(busy) as h5:
            while not stop.is_set():
                h5.root.x.read()

    spawned = []
    real_spawn = vet._in_fresh_interpreter
    monkeypatch.setattr(vet, "FORK_TIMEOUT", 0.5)
    monkeypatch.setattr(vet, "_in_fresh_interpreter",
                        lambda path: spawned.append(path) or real_spawn(path))
    thread = threading.Thread(target=read_all_the_time, daemon=True)
    thread.start()
    try:
        verdicts = [vet.vet(crashing) for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    assert all(v.startswith("HDF5 crashed reading it") for v in verdicts)
    assert spawned  # at least one fork landed while the other thread was inside HDF5
