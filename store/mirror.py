"""A local mirror of an event file on another server, kept by running its `tail` over SSH.

The protocol (README, "Files on other servers"): the mirror runs
``SSH HOST REMOTE tail --follow --print-identity --skip N [--identity ID] -- PATH``, where N is
the number of events its copy holds (committed: a commit a killed mirror left in the journal is
finished first) and ID the identity of the source recorded in the copy.  The remote tail prints
``{"identity": ID}`` first, then the events at the source's rows N, N+1, ... as JSON lines
(with ``{"events_total": N}`` notices: how far behind the copy is), and, if the source is not
(or no longer) the file ID, ``{"replaced": REASON}`` and stops with status 3 before printing a
row of the other file (trmon_tui/commands/tail_identity.py).  store/remote_tail.py starts, ends
and retries the remote tail.  Each event goes through the writer's validation and
commit path (as `ingest`'s lines do); the writer commits every quarter second.

Exactly once: a link that drops (the remote tail, the SSH client or the mirror killed) loses at
most the lines not yet committed, and the next connection asks for the rows from the committed
count on, so nothing is lost or repeated; a last line cut in half is not an event and is asked
for again.  Reconnecting backs off 1 s, 2 s, 4 s ... up to 60 s, back to 1 s once a connection
has read the source again.

The copy records where it comes from in its root attribute ``trmon_mirror_source``, a JSON
object ``{"source": "HOST:PATH", "identity": ID}``, written (fsynced) before its first event.
"""

from __future__ import annotations

import fcntl
import json
import os
import selectors
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from store.lines import write_event
from store.remote_tail import (
    DEFAULT_REMOTE,
    DEFAULT_SSH,
    Backoff,
    end,
    how_it_ended,
    remote_argv,
    split_source,
    start,
)
from store.writer import EventWriter, StoreError

SOURCE_ATTR = "trmon_mirror_source"
REPLACED = 3          # exit status of a refused source (the remote tail's too)
USAGE = 2             # exit status of a usage error or a local file that cannot be written
REJECTED = 1          # exit status when the source holds an event the copy cannot keep


class MirrorError(Exception):
    """The mirror cannot start or go on; ``code`` is its exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Session:
    """What one connection brought."""

    resumed_at: int = 0
    identity: str | None = None   # announced by the remote tail
    replaced: str | None = None   # why the source is refused
    rejected: str | None = None   # why an event could not be kept
    protocol: str | None = None   # the remote sent something this mirror does not understand
    returncode: int | None = None
    received: int = 0


class Mirror:
    """Keeps LOCAL a copy of HOST:PATH until stop(); see the module docstring."""

    def __init__(self, source: str, local: str, *, ssh: str = DEFAULT_SSH,
                 remote: str = DEFAULT_REMOTE, restart: bool = False, progress: float = 30.0,
                 say: Callable[[str], None] = print,
                 duration: Callable[[float], str] = lambda s: f"{s:.0f} s") -> None:
        self.source, self.local = source, os.fspath(local)
        try:
            self.host, self.path = split_source(source)
        except ValueError as exc:
            raise MirrorError(str(exc), USAGE) from None
        if not shlex.split(ssh):
            raise MirrorError("--ssh is empty: give the SSH client's command", USAGE)
        self.ssh, self.remote, self.restart = ssh, remote, restart
        self.progress, self.say = progress, say
        self.duration = duration  # how an age is shown (the command's: 42s, 3m05s, 2h07m)
        self.backoff = Backoff()
        self.writer: EventWriter | None = None
        self.identity: str | None = None
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._child: subprocess.Popen | None = None
        self._lock = None  # the open LOCAL.mirror-lock
        self._progress_at = time.monotonic()
        self._progress_events = 0
        self._last_received: float | None = None
        self._source_events: int | None = None  # as the remote tail last said
        self._received = 0  # events received up to now (the copy's count once committed)

    # ------------------------------------------------------------------ control

    def stop(self) -> None:
        """End the mirror cleanly (safe from a signal handler): the SSH client is ended, what
        was received is committed, run() returns 0."""
        self._stopping = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass  # the pipe is full: a wake-up is pending anyway

    def run(self) -> int:
        """Mirror until stopped (0), the source is refused (3) or cannot be kept (1)."""
        try:
            self._open()
            while not self._stopping:
                session = self._connect()
                code = self._judge(session)
                if code is not None:
                    return code
            self.writer.flush()
            self.say(f"stopped; {self.local} holds {self.writer.committed} events")
            return 0
        except MirrorError as exc:
            self.say(str(exc))
            return exc.code
        except StoreError as exc:  # a commit failed: what was committed stays exact
            self.say(f"cannot write {self.local}: {exc}")
            return USAGE
        except OSError as exc:  # keeping the old copy aside failed
            self.say(f"cannot keep {self.local} aside ({exc.strerror}); nothing was lost")
            return USAGE
        finally:
            self._close()

    # ------------------------------------------------------------------ the copy

    def _open(self) -> None:
        self._lock_copy()
        try:
            self.writer = EventWriter(self.local)
            recorded = self.writer.annotation(SOURCE_ATTR)
        except StoreError as exc:
            raise MirrorError(str(exc), USAGE) from None
        if recorded is not None:
            try:
                self.identity = str(json.loads(recorded)["identity"])
            except (ValueError, KeyError, TypeError):
                raise MirrorError(f"{self.local} records its source unreadably ({recorded!r})",
                                  USAGE) from None
        self._progress_events = self.writer.committed
        if recorded is None and self.writer.committed:
            why = (f"{self.local} holds {self.writer.committed} events of no recorded source "
                   "(not made by `mirror`)")
            if not self.restart:
                raise MirrorError(f"{why}: it cannot be continued exactly; --restart keeps it "
                                  "aside and starts a fresh mirror", USAGE)
            self._start_afresh(why)

    def _lock_copy(self) -> None:
        """One mirror per copy: two would both append what arrives, each event twice.  An
        flock on LOCAL.mirror-lock (left in place: removing a lock file races), released
        when the process ends however it ends."""
        path = f"{self.local}.mirror-lock"
        try:
            self._lock = open(path, "a")  # noqa: SIM115 - held for the mirror's lifetime
        except OSError as exc:
            raise MirrorError(f"cannot create {path} ({exc.strerror})", USAGE) from None
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise MirrorError(f"another mirror is writing {self.local} (it holds {path}); "
                              "one mirror per file", USAGE) from None

    def _start_afresh(self, why: str) -> None:
        """Keep the copy as LOCAL.N (the first free N from 1) and start an empty one."""
        self.writer.close()
        number = 1
        while os.path.lexists(f"{self.local}.{number}"):
            number += 1
        kept = f"{self.local}.{number}"
        os.rename(self.local, kept)
        self.say(f"{why}; the old mirror is kept as {kept}; starting a fresh mirror")
        try:
            self.writer = EventWriter(self.local)
        except StoreError as exc:
            raise MirrorError(str(exc), USAGE) from None
        self.identity = None
        self._progress_events = 0

    def _record(self, identity: str) -> None:
        self.writer.annotate(SOURCE_ATTR, json.dumps({"source": self.source,
                                                      "identity": identity}))
        self.identity = identity

    def _close(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except StoreError as exc:
                self.say(f"could not commit the last events to {self.local}: {exc}")
        os.close(self._wake_r)
        os.close(self._wake_w)
        if self._lock is not None:
            self._lock.close()

    # ------------------------------------------------------------------ one connection

    def _connect(self) -> Session:
        self.writer.flush()
        session = Session(resumed_at=self.writer.committed)
        argv = remote_argv(self.ssh, self.host, self.path, skip=session.resumed_at,
                           identity=self.identity, remote=self.remote)
        try:
            self._child = start(argv)
        except OSError as exc:
            raise MirrorError(f"cannot run {argv[0]} ({exc.strerror})", USAGE) from None
        try:
            self._receive(session)
        finally:
            child, self._child = self._child, None
            session.returncode = end(child)
        return session

    def _receive(self, session: Session) -> None:
        """Read the remote tail's lines until the link ends, stop() or the session's end."""
        fd = self._child.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        pending = b""
        try:
            while not self._stopping:
                ready = selector.select(self._until_progress())
                if session.identity is not None:  # connected, reading the source
                    self._maybe_progress()
                if not any(key.fd == fd for key, _ in ready):
                    continue
                data = os.read(fd, 1 << 20)
                if not data:
                    return  # the link ended; a last line cut in half is not an event
                *lines, pending = (pending + data).split(b"\n")
                for line in lines:
                    if not self._line(session, line):
                        return
        finally:
            selector.close()

    def _line(self, session: Session, raw: bytes) -> bool:
        """Handle one complete line; False when the session must end."""
        try:
            item = json.loads(raw)
        except ValueError:
            item = None
        if isinstance(item, dict) and "testrun_id" not in item:  # a notice, not an event
            if "replaced" in item:
                session.replaced = str(item["replaced"])
                return False
            if "identity" in item and session.identity is None:
                return self._announced(session, str(item["identity"]))
            if isinstance(item.get("events_total"), int):
                self._source_events = item["events_total"]
            return True  # notices a later remote tail may add are skipped
        if session.identity is None:
            session.protocol = ("it sent an event before the source's identity (is the "
                                "remote trmon-tui older than this one?)")
            return False
        if item is None:
            session.rejected = f"not JSON: {raw[:200].decode('utf-8', 'replace')}"
            return False
        reason = write_event(self.writer, item)
        if reason is not None:
            session.rejected = reason
            return False
        session.received += 1
        self._received = session.resumed_at + session.received
        received = item.get("received")
        if isinstance(received, (int, float)):
            self._last_received = float(received)
        return True

    def _announced(self, session: Session, identity: str) -> bool:
        session.identity = identity
        if self.identity is None:
            self._record(identity)  # before any event of it is written
        elif identity != self.identity:
            session.replaced = (f"{self.path} is another file than expected (identity "
                                f"{identity}, not {self.identity})")
            return False
        self._received = session.resumed_at
        self.backoff.reset()  # the link works and the source was read
        self._progress_at = time.monotonic()
        self._progress_events = self.writer.committed
        self.say(f"following {self.source} ({identity}) from event {session.resumed_at}")
        return True

    # ------------------------------------------------------------------ what next

    def _judge(self, session: Session) -> int | None:
        """The exit status after a connection ended, or None to connect again."""
        self.writer.flush()  # what was received is committed before anything else happens
        if session.rejected is not None:
            row = session.resumed_at + session.received
            raise MirrorError(f"event {row} of {self.source} cannot be kept ({session.rejected}); "
                              f"{self.local} holds the {row} events before it and the mirror "
                              "stops (it would no longer be exact)", REJECTED)
        if session.replaced is None and session.returncode == REPLACED and not self._stopping:
            session.replaced = "the remote tail stopped with status 3"
        if session.replaced is not None:
            why = f"{self.source} was replaced ({session.replaced})"
            if not self.restart:
                raise MirrorError(f"{why}: {self.local} keeps its {self.writer.committed} events "
                                  "and nothing more is appended; --restart keeps it aside and "
                                  "starts a fresh mirror", REPLACED)
            self._start_afresh(why)
            self.backoff.reset()
            return None
        if self._stopping:
            return None  # run() says so
        if session.protocol is not None:
            raise MirrorError(f"{self.source}: {session.protocol}", USAGE)
        if session.returncode == USAGE:
            raise MirrorError(f"the remote tail of {self.source} refused its arguments (status "
                              "2: is the remote trmon-tui older than this one?)", USAGE)
        delay = self.backoff.next()
        self.say(f"the link to {self.host} ended ({how_it_ended(session.returncode)}) after "
                 f"{session.received} events; reconnecting in {delay:.0f} s")
        self._sleep(delay)
        return None

    def _sleep(self, seconds: float) -> None:
        """Wait, or less if stop() is called."""
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        deadline = time.monotonic() + seconds
        try:
            while not self._stopping and time.monotonic() < deadline:
                selector.select(deadline - time.monotonic())
        finally:
            selector.close()

    # ------------------------------------------------------------------ progress

    def _until_progress(self) -> float | None:
        if self.progress <= 0:
            return None
        return max(0.0, self._progress_at + self.progress - time.monotonic())

    def _maybe_progress(self) -> None:
        now = time.monotonic()
        if self.progress <= 0 or now < self._progress_at + self.progress:
            return
        self.writer.flush()
        held = self.writer.committed
        elapsed = now - self._progress_at
        rate = (held - self._progress_events) / elapsed if elapsed > 0 else 0.0
        behind = ""
        if self._source_events is not None:
            behind = f", {max(0, self._source_events - self._received)} behind the source"
        if self._last_received is not None:
            ago = self.duration(time.time() - self._last_received)
            behind += f"; the last event was received {ago} ago (the source's clock)"
        self.say(f"{self.local} holds {held} events ({rate:.0f}/s over {elapsed:.0f} s){behind}")
        self._progress_at, self._progress_events = now, held
