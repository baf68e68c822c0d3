"""h5io.open_file: an open that fails half-way must not leave the file open (and locked)."""

from __future__ import annotations

import fcntl
import gc
import os

import pytest
import tables
from writer_proc import columns, read_events

from store import h5io, vet
from store.tail import TailReader
from store.writer import EventWriter


def _locked(path) -> bool:
    """Whether some open handle holds HDF5's lock on the file (HDF5 locks with flock, which
    conflicts across open file descriptions, also within one process)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _foreign(path, **root_attrs) -> str:
    """An HDF5 file another tool might have written: a group and odd root attributes, set
    by this process after it vetted the file (store.vet would refuse it otherwise, before
    PyTables opens it here: the half-built cases below are what is left when damage gets
    past the vetting)."""
    with tables.open_file(str(path), "w") as h5:
        h5.create_group("/", "data")
    h5io.open_file(str(path)).close()
    with tables.open_file(str(path), "a") as h5:
        for name, value in root_attrs.items():
            h5.root._v_attrs._g__setattr(name, value)
    vet.wrote(str(path))  # this process changed it: trusted as a writer's own commit is
    return str(path)


def test_locked_probe_sees_an_open_handle(tmp_path):
    path = _foreign(tmp_path / "f.h5")
    with tables.open_file(path, "r"):
        assert _locked(path)
    assert not _locked(path)


def test_failure_after_the_root_group_releases_the_file(tmp_path, capfd):
    # PyTables builds the root, then fails to parse the format version: without h5io's clean-up
    # the half-built handle stays registered and keeps the file locked until the process exits.
    path = _foreign(tmp_path / "odd.h5", PYTABLES_FORMAT_VERSION="2\\1")
    with pytest.raises(ValueError):
        h5io.open_file(path, "r")
    gc.collect()
    assert not _locked(path)
    assert not [h for h in tables.file._open_files.handlers if h.filename == path]
    assert "Exception ignored" not in capfd.readouterr().err


def test_failure_in_the_root_group_releases_the_file(tmp_path, capfd):
    # A root group HDF5 cannot open (here: one that does not exist) fails before PyTables has a
    # root: the other half-built case, whose nodes used to print tracebacks when collected.
    path = _foreign(tmp_path / "f.h5")
    with pytest.raises(tables.HDF5ExtError, match="Can't open the group"):
        h5io.open_file(path, "r", root_uep="/missing")
    gc.collect()
    assert not _locked(path)
    assert "Exception ignored" not in capfd.readouterr().err


def test_reader_of_an_unreadable_file_does_not_block_the_writer(tmp_path):
    path = _foreign(tmp_path / "events.h5", PYTABLES_FORMAT_VERSION="2\\1")
    reader = TailReader(path)
    status = reader.poll().status
    assert status.state == "error" and "cannot be opened" in status.message
    # The failure had the file vetted again: the next poll gets the vetting child's verdict.
    status = reader.poll().status
    assert status.state == "error" and "is damaged (invalid literal" in status.message
    assert not _locked(path)
    os.unlink(path)  # the operator puts a good file in its place
    with EventWriter(path) as writer:
        writer.write_columns(columns(0, 0, 10))
    assert len(read_events(path)) == 10
    while reader.poll().more:
        pass
    assert reader.poll().status.state == "live"
