"""Opening the event file under HDF5's own file lock, retrying while another process holds it.

DESIGN.md records the protocol measured safe on PyTables 3.11 (no SWMR): every reader and writer
opens the file, does its work and closes it at once; HDF5's default file locking makes the two
sides take turns, and each side retries after a few milliseconds when it meets the other's lock.
``HDF5_USE_FILE_LOCKING`` must therefore stay enabled: this module refuses to run without it.
"""

from __future__ import annotations

import os
import threading
import time
import warnings

import tables

from store import vet

# A few milliseconds: a commit or a poll holds the lock for ~1-20 ms, so short sleeps keep the
# latency low without spinning.
RETRY_SLEEPS = (0.002, 0.003, 0.005, 0.008, 0.010)

# PyTables warns when it opens a file it did not write (foreign HDF5); readers report that
# themselves, so the warning would only add noise on stderr.
warnings.filterwarnings("ignore", category=tables.NaturalNameWarning)
warnings.filterwarnings("ignore", category=tables.FlavorWarning)
# A node PyTables cannot load (a damaged table header) becomes an UnImplemented node with a
# multi-line warning; the readers report such a file in one line of their own (store.vet).
warnings.filterwarnings("ignore", message="problems loading leaf", category=UserWarning)

# HDF5 prints its error stack to stderr on every failed open (a lock held by the other side is
# routine here). The store turns those errors into messages of its own, and in the monitor raw
# stderr output would scribble over the screen, so the library's own printing is switched off.
# The switch is per thread in a thread-safe HDF5 build, so every thread that opens files (the
# writer's commit thread, the monitor's tail worker) throws it again: see quiet_hdf5().
_quiet = threading.local()


def quiet_hdf5() -> None:
    """Stop HDF5 from printing error stacks on stderr from the calling thread (idempotent)."""
    if not getattr(_quiet, "done", False):
        tables.silence_hdf5_messages()
        _quiet.done = True


quiet_hdf5()


class FileLocked(Exception):
    """The file stayed locked by another process for longer than the caller's patience."""


def locking_enabled() -> bool:
    """False when HDF5_USE_FILE_LOCKING disables the lock this protocol relies on."""
    value = os.environ.get("HDF5_USE_FILE_LOCKING", "").strip().upper()
    return value not in ("FALSE", "0", "NO", "OFF")


def is_lock_error(exc: BaseException) -> bool:
    """True when an exception from open_file means "someone else holds the file".

    Another process shows as HDF5's lock error; another handle in this process (PyTables keeps
    a registry of open files) as a ValueError "already opened": both pass once it is closed.
    A reader thread of this process that HDF5 has opened but PyTables has not yet registered
    (the two steps are not atomic) shows as HDF5's "already open for read-only" to a writer
    thread: just as passing (seen when the monitor and a writer share a process, as in tests).
    """
    if isinstance(exc, vet.Busy):
        return True
    if isinstance(exc, ValueError):
        return "already opened" in str(exc)
    return vet.is_lock_text(str(exc))


def open_with_retry(path: str, mode: str = "r", *, patience: float = 60.0) -> tables.File:
    """Open ``path`` with PyTables, retrying while another process holds HDF5's lock.

    Raises FileLocked once ``patience`` seconds have passed; other errors propagate at once.
    """
    if not locking_enabled():
        raise RuntimeError(
            "HDF5_USE_FILE_LOCKING is disabled in the environment; trmon-tui relies on HDF5's "
            "file lock to take turns with the writer: unset it and try again"
        )
    quiet_hdf5()
    deadline = time.monotonic() + patience
    attempt = 0
    while True:
        try:
            return open_file(path, mode)
        except (tables.HDF5ExtError, ValueError) as exc:
            if not is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise FileLocked(f"{path} stayed locked by another process for "
                                 f"{patience:.0f} s") from None
        time.sleep(RETRY_SLEEPS[min(attempt, len(RETRY_SLEEPS) - 1)])
        attempt += 1


def try_open(path: str, mode: str = "r", **params) -> tables.File | None:
    """Open once without waiting: the file, or None when another process holds the lock.
    ``params``: PyTables parameters for this file, in lower case (e.g. chunk_cache_size)."""
    quiet_hdf5()
    try:
        return open_file(path, mode, **params)
    except (tables.HDF5ExtError, ValueError) as exc:
        if is_lock_error(exc):
            return None
        raise


def open_file(path: str, mode: str = "r", **params) -> tables.File:
    """``tables.open_file`` of a vetted file, minus a leak.

    An existing file is vetted first (store.vet: a damaged file can crash HDF5, so it is opened
    in a child process first): raises vet.Damaged, or vet.Busy while a writer holds it.

    When the open fails after HDF5 has opened the file (a root group it cannot read, a damaged
    attribute), PyTables leaves the half-built handle registered and the file open, so this
    process would hold HDF5's lock on it until it exits (a writer elsewhere would wait for it
    forever), and half-built nodes print "Exception ignored" tracebacks whenever they are
    collected. Such a handle is closed here before the error propagates."""
    if mode != "w":  # "w" truncates without reading
        vet.check(path)
    try:
        return tables.open_file(path, mode, **params)
    except BaseException as exc:
        for handle in _half_built(exc):
            _discard(handle)
        raise


def _half_built(exc: BaseException) -> list[tables.File]:
    """The File objects whose ``__init__`` raised ``exc`` (found in its traceback, so that a
    handle another thread opened on the same path is never touched)."""
    found, tb = [], exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "__init__":
            handle = frame.f_locals.get("self")
            if isinstance(handle, tables.File) and handle not in found:
                found.append(handle)
        tb = tb.tb_next
    return found


def _discard(handle: tables.File) -> None:
    if "root" in handle.__dict__:  # built far enough for its own close()
        try:
            handle.close()
            return
        except Exception:  # noqa: BLE001 - fall back to taking it apart below
            pass
    manager = handle.__dict__.get("_node_manager")
    for node in list(manager.registry.values()) if manager is not None else []:
        # Close what HDF5 opened for the node (HDF5 keeps a file open while any object in it
        # is), then mark it closed so that its finalizer has nothing left to do.
        close = getattr(node, "_g_close_group", None)
        if close is not None and node.__dict__.get("_v_isopen"):
            try:
                close()
            except tables.HDF5ExtError:
                pass  # it was never opened
        node.__dict__["_v_isopen"] = False
    if getattr(handle, "file_id", 0):
        try:
            handle._close_file()
        except tables.HDF5ExtError:
            pass
    handle.isopen = 0
    if handle in tables.file._open_files.handlers:
        tables.file._open_files.remove(handle)


def fsync_path(path: str) -> None:
    """Force a file's data to disk (the commit is durable only after this)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
