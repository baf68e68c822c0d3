"""A program run in a pseudo-terminal, as over SSH: keys in, every byte it paints counted.

Used by bench_monitor.py.  The reader thread drains the pty (a full pty would stall the app),
counts the bytes and keeps the painted text with escape sequences removed, stamped with the
time it arrived, so a benchmark can wait until a string appears on screen.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import pty
import re
import signal
import struct
import termios
import threading
import time

# CSI sequences, OSC strings, DCS strings, two-character escapes.
ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)"
                    r"|P[^\x1b]*\x1b\\|[@-Z\\-_])")
OVERLAP = 400  # characters of the previous piece searched again (a match may straddle two)


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, all its threads, in clock ticks."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Terminal:
    """``argv`` running in a pty of ``size`` (columns, rows), TERM=xterm-256color."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int]) -> None:
        self.started = time.monotonic()
        self.bytes = 0
        self.pieces: list[tuple[float, str]] = []  # (arrival, text without escapes)
        pid, fd = pty.fork()
        if pid == 0:  # the child: its stdin/stdout/stderr are the pty's slave side
            cols, rows = size
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execve(argv[0], argv, dict(env, TERM="xterm-256color"))
        self.pid, self.fd = pid, fd
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        carry = ""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the program ended
                return
            if not chunk:
                return
            self.bytes += len(chunk)
            text = carry + decoder.decode(chunk)
            cut = text.rfind("\x1b")
            carry = ""
            if cut >= 0 and not ESCAPE.match(text, cut):  # an escape cut in two: keep its head
                text, carry = text[:cut], text[cut:]
            self.pieces.append((time.monotonic(), ESCAPE.sub("", text)))

    def write(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def mark(self) -> int:
        """A position in the output: wait_for(since=mark) looks only at what came after."""
        return len(self.pieces)

    def wait_for(self, pattern: str, timeout: float, since: int | None = None) -> float | None:
        """Monotonic time at which the output first showed ``pattern`` (after ``since``, by
        default from now on), or None after ``timeout`` seconds."""
        regex = re.compile(pattern)
        position = self.mark() if since is None else since
        tail = ""
        deadline = time.monotonic() + timeout
        while True:
            while position < len(self.pieces):
                arrived, text = self.pieces[position]
                position += 1
                window = tail + text
                if regex.search(window):
                    return arrived
                tail = window[-OVERLAP:]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)

    def close(self) -> int | None:
        """Quit with q; terminate it if it does not end within 5 s.  Its exit status (as
        os.waitstatus_to_exitcode: negative for a signal), None if it had ended already."""
        try:
            self.write("q")
        except OSError:
            pass
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    done, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:  # reaped already
                    return None
                if done:
                    os.close(self.fd)
                    return os.waitstatus_to_exitcode(status)
                time.sleep(0.05)
        return None
