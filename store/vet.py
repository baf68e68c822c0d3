"""Vetting: a file this process has never opened is opened first in a child process.

HDF5 trusts the bytes of a file.  Random bytes in its first kilobytes (a bad disk, a partial copy,
an editor) make it follow wild addresses and die by SIGSEGV while PyTables opens the root group or
a table's attributes: no Python exception, the whole process goes (the monitor, `report`, an
`ingest` pipe).  That cannot be caught, only contained: before this process first opens a file
identity, a child process does the opening work every reader does (open, root attributes,
layout detection, each table node and its attributes, its first and last chunk of rows, the
seed groups: ``probe``), and the file is trusted only if the child got through.  A child killed
by a signal means "damaged (HDF5 crashed reading it)"; a Python exception in the child, its
one-line reason; a child that met a writer's lock gives no verdict (a lock is not damage: try
again later).  Some damage makes HDF5 write past a buffer without crashing at once: whether the
child dies of it depends on its heap, so the probe reads whole chunks, as the readers do (in
tests/benchmarks/fuzz_damaged.py's long runs, probing single rows let 2 of 6,400 copies through
to crash `report`; whole chunks, none of 9,000).

Identity: (st_dev, st_ino) of the path, remembered per path (the last MAX_RECORDS paths).  While
a file is trusted this process holds a descriptor on it, so that its inode number cannot be reused
by a new file (`rm events.h5; cp damaged.h5 events.h5` may otherwise get the same number).  A
trusted file is vetted again whenever its bytes may have changed since it was vetted: its size,
mtime or ctime moved (ctime cannot be set back: a file rewritten in place, `cp damaged.h5
events.h5` over a watched file, is vetted again however quickly it was copied), unless this
process wrote it itself (``wrote``: a writer's own commits); also when the reader saw it
replaced, and when a read of it failed unexpectedly (``distrust``: damage found by an error).
So a follower of a live file vets it once per poll that finds it changed (~20 ms in a child, at
most once a poll).  A refused file is refused at once, without a child, until it changes (a
repair).  Files without an HDF5
signature are not vetted: HDF5 gives up at the signature search, before reading anything else.

The child: os.fork() of the calling thread, which probes the file and leaves through os._exit
(~20 ms for a small file, half of it the probe itself; as much from a 540 MB process:
tests/benchmarks/bench_vet.py).  A fork of a multi-threaded process can deadlock if another
thread held a lock the child needs (HDF5's global lock, for instance), so the fork child gets
FORK_TIMEOUT seconds and, failing that, a fresh interpreter (``python -m store.vet PATH``, ~0.2 s)
decides.  Children write no output (stdout and stderr go to /dev/null, faulthandler is off) and
leave no core file.  POSIX only, as the rest of the store (fcntl locks).
"""

from __future__ import annotations

import collections
import errno
import faulthandler
import fcntl
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass

import tables

from store import schema
from store.checksummed import is_checksum_error
from store.seedfile import seed_tables

FORK_TIMEOUT = 3.0     # seconds: a probe takes milliseconds; past this the child is stuck
SPAWN_TIMEOUT = 20.0   # seconds for a fresh interpreter (imports included) on a loaded machine
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
HDF5_TRACE_END = "End of HDF5 error back trace"
MAX_RECORDS = 16       # paths remembered (one descriptor held for each trusted one)

# Python 3.12+ warns about fork() in a multi-threaded process (the deadlock above): the child
# here is bounded by FORK_TIMEOUT and never runs other threads' code, so the warning is noise.
warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks",
                        category=DeprecationWarning)


class Damaged(tables.HDF5ExtError):
    """The file made HDF5 crash or fail in the vetting child: it is not opened here."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path} is damaged ({reason})")
        self.reason = reason


class Busy(tables.HDF5ExtError):
    """Another process holds the file's lock: no verdict yet (h5io treats it as a lock)."""


@dataclass
class _Record:
    """What this process knows about the file at one path."""

    identity: tuple[int, int]  # (st_dev, st_ino)
    shape: tuple[int, int, int]  # (size, mtime_ns, ctime_ns) when vetted (or written here)
    refusal: str = ""          # why it was refused ("": trusted)
    fd: int = -1               # held open while trusted, so that the inode is not reused


_records: collections.OrderedDict[str, _Record] = collections.OrderedDict()
_lock = threading.Lock()


def check(path: str) -> None:
    """Return when ``path`` may be opened in this process; raise Damaged or Busy otherwise.

    A missing, empty or non-HDF5 file returns at once (opening it fails cleanly)."""
    try:
        st = os.stat(path)
    except OSError:
        return
    key = os.path.abspath(path)
    with _lock:
        record = _records.get(key)
        if record is not None and record.identity == (st.st_dev, st.st_ino):
            _records.move_to_end(key)
            if record.shape == _shape(st):
                if record.refusal:
                    raise Damaged(path, record.refusal)
                return
        _forget(key)
        if st.st_size == 0 or not has_hdf5_signature(path, st.st_size):
            return
        if _locked_by_another(path):
            raise Busy(f"{path} is locked by another process")
        _vet_and_remember(key, path)


def _vet_and_remember(key: str, path: str) -> None:
    """Vet the file now at ``path``, remember the verdict; raise as check() does."""
    try:
        fd = os.open(path, os.O_RDONLY)  # the inode vetted is the one this descriptor holds
    except OSError:
        return  # gone meanwhile: the open says so
    st = os.fstat(fd)
    verdict = vet(path)
    shape = _shape(st)
    if shape != _shape(os.fstat(fd)):  # written meanwhile: vet it again at the next check
        shape = (-1, -1, -1)
    if verdict != "ok":
        os.close(fd)
        fd = -1
    if verdict == "locked":
        raise Busy(f"{path} is locked by another process")
    refusal = "" if verdict == "ok" else verdict
    _records[key] = _Record((st.st_dev, st.st_ino), shape, refusal, fd)
    while len(_records) > MAX_RECORDS:
        _forget(next(iter(_records)))
    if refusal:
        raise Damaged(path, refusal)


def _shape(st: os.stat_result) -> tuple[int, int, int]:
    """What changes whenever the file's bytes do: its size, mtime and ctime (the last cannot
    be set back by a program; a `cp` over the file in place changes it however quick)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def wrote(path: str) -> None:
    """This process has just written ``path`` (a writer's commit, closed and fsynced): a file
    it trusted stays trusted as it is now, without a new vetting (its own appends)."""
    key = os.path.abspath(path)
    with _lock:
        record = _records.get(key)
        if record is None or record.refusal:
            return
        try:
            st = os.fstat(record.fd)
        except OSError:
            return
        if (st.st_dev, st.st_ino) == record.identity:
            record.shape = _shape(st)


def _forget(key: str) -> None:
    record = _records.pop(key, None)
    if record is not None and record.fd >= 0:
        os.close(record.fd)


def distrust(path: str) -> None:
    """A read of ``path`` failed unexpectedly, or it was replaced: vet it again before the
    next open."""
    key = os.path.abspath(path)
    with _lock:
        record = _records.get(key)
        if record is not None and not record.refusal:
            _forget(key)


def has_hdf5_signature(path: str, size: int | None = None) -> bool:
    """True when HDF5 would find its signature: at 0, 512, 1024, 2048, ... (user blocks)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size if size is None else size
            offset = 0
            while offset + len(HDF5_SIGNATURE) <= size:
                handle.seek(offset)
                if handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                    return True
                offset = offset * 2 if offset else 512
    except OSError:
        return False
    return False


def _locked_by_another(path: str) -> bool:
    """Whether a writer holds HDF5's lock (an flock on Linux): then the child could not open
    the file either, and forking would be wasted."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    finally:
        os.close(fd)  # releases the shared lock just taken (flock: this descriptor's only)
    return False


# ------------------------------------------------------------------ the child's work

def probe(path: str) -> None:
    """The opening work of every reader of ``path``; raises what it raises, or crashes."""
    with tables.open_file(path, "r") as h5:
        attrs = h5.root._v_attrs
        for name in attrs._f_list("all"):
            getattr(attrs, name)
        found = [schema.table(h5, name) for name in schema.TABLES] \
            if schema.is_product_file(h5) else []
        for group in h5.root._f_iter_nodes("Group"):
            if isinstance(getattr(group, "events", None), tables.UnImplemented):
                raise ValueError(f"/{group._v_name}/events cannot be read")  # a seed group
        found += [table for _, table in seed_tables(h5)]
        for table in found:
            for name in table.attrs._f_list("all"):
                getattr(table.attrs, name)
            # Whole chunks, as readers read them: the first (every reader starts there) and
            # the last (where the rows of a live file arrive).
            rows, chunk = int(table.nrows), int(table.chunkshape[0])
            for start, stop in ((0, min(rows, chunk)), (max(rows - chunk, 0), rows)):
                try:
                    table.read(start, stop)
                except tables.HDF5ExtError as exc:
                    # A chunk failing its checksum never reaches the caller (no crash to
                    # fear): the readers name its rows themselves.
                    if not is_checksum_error(exc):
                        raise


def verdict_of(path: str) -> str:
    """"ok", "locked", or the one-line reason why reading ``path`` fails."""
    tables.silence_hdf5_messages()
    try:
        probe(path)
    except Exception as exc:  # noqa: BLE001 - every failure is a verdict
        return "locked" if is_lock_text(str(exc)) else one_line(exc)
    return "ok"


def is_lock_text(text: str) -> bool:
    """True when an error's text says another handle holds the file (HDF5's lock, another
    PyTables handle in this process, or HDF5's own open of it): it passes once that one lets
    go.  (store.h5io.is_lock_error, for every open, tells these apart from the rest.)"""
    return any(sign in text for sign in ("unable to lock file", "Resource temporarily unavailable",
                                         "already open for read-only", "already opened"))


def one_line(exc: BaseException) -> str:
    """An exception in one line: the deepest cause of an HDF5 error back trace (its last
    line only says "Unable to open/create file"), else the message's last line, or its type."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if HDF5_TRACE_END in lines:
        causes = [line for line in lines[:lines.index(HDF5_TRACE_END)]
                  if not line.startswith("File ") and line != "HDF5 error back trace"]
        lines = causes or lines
    return (lines[-1] if lines else type(exc).__name__)[:300]


# ------------------------------------------------------------------ running the child

def vet(path: str) -> str:
    """verdict_of(path), computed in a child process (see the module docstring)."""
    answer = _in_fork(path)
    return _in_fresh_interpreter(path) if answer is None else answer


def _in_fork(path: str) -> str | None:
    """The verdict from a forked child, or None when it did not answer in time."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # out of processes or memory for now: the fallback says so if it fails too
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: exits here, whatever happens
        status = 70
        try:
            os.close(read_end)
            _quiet_child(stdout=True)
            os.write(write_end, verdict_of(path).encode("utf-8", "replace"))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        data = _read_all(read_end, FORK_TIMEOUT)
    finally:
        os.close(read_end)
    if data is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return None
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return _crashed(os.WTERMSIG(status))
    if os.WEXITSTATUS(status) != 0 or not data:
        return None  # the child failed on its own: let a fresh interpreter decide
    return data.decode("utf-8", "replace")


def _read_all(fd: int, timeout: float) -> bytes | None:
    """Everything written to the pipe until the child closes it (by exiting), or None."""
    deadline, chunks = time.monotonic() + timeout, []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _in_fresh_interpreter(path: str) -> str:
    """The verdict from ``python -m store.vet PATH``, of this very store package (run from
    its parent directory, which ``-m`` puts first on the path)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        proc = subprocess.run([sys.executable, "-m", "store.vet", os.path.abspath(path)],
                              capture_output=True, stdin=subprocess.DEVNULL, cwd=root,
                              timeout=SPAWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"reading it did not finish within {SPAWN_TIMEOUT:.0f} s"
    if proc.returncode < 0:
        return _crashed(-proc.returncode)
    answer = proc.stdout.decode("utf-8", "replace").strip()
    return answer or f"it could not be checked (exit status {proc.returncode})"


def _crashed(signum: int) -> str:
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return f"HDF5 crashed reading it: {name}"


def _quiet_child(stdout: bool) -> None:
    """No output from a child (HDF5 or faulthandler would write over the monitor's screen)
    and no core file for a crash that is expected."""
    faulthandler.disable()  # it may hold a copy of stderr (pytest's does)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2) if stdout else (2,):
        os.dup2(devnull, fd)
    os.close(devnull)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ValueError, OSError):
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m store.vet PATH``: print the verdict of PATH (the fresh-interpreter child)."""
    (path,) = sys.argv[1:] if argv is None else argv
    _quiet_child(stdout=False)
    sys.stdout.write(verdict_of(path) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
