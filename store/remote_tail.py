"""The remote half of `trmon-tui mirror`: how the source's `tail` is started on its server over
SSH, ended, and retried (store.mirror keeps the copy; README, "Files on other servers").

The SSH client runs in its own session (a Ctrl-C in the terminal is the mirror's to handle, and
the mirror ends the client) and gets SIGTERM if the mirror dies however it dies (Linux's
PR_SET_PDEATHSIG), so no client, and so no remote tail, outlives it.
"""

from __future__ import annotations

import ctypes
import shlex
import signal
import subprocess

from store.follow import RETRY_FIRST, RETRY_MAX

DEFAULT_SSH = "ssh -o BatchMode=yes -o ServerAliveInterval=15"
DEFAULT_REMOTE = "trmon-tui"
STOP_PATIENCE = 5.0   # seconds the SSH client gets to end after SIGTERM before SIGKILL


class Backoff:
    """Delays before reconnecting: 1 s, 2 s, 4 s ... up to 60 s; reset() after a success (the
    follow loop's policy, store.follow: the mirror follows a remote process, not a file)."""

    def __init__(self, first: float = RETRY_FIRST, limit: float = RETRY_MAX) -> None:
        self.first, self.limit = first, limit
        self.delay = first

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.limit, self.delay * 2)
        return delay

    def reset(self) -> None:
        self.delay = self.first


def split_source(text: str) -> tuple[str, str]:
    """HOST:PATH (HOST may be user@host or a bracketed [IPv6] address) as (host, path)."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        path = rest[1:] if rest.startswith(":") else ""
    else:
        host, sep, path = text.partition(":")
    if not host or not sep or not path:
        raise ValueError(f"{text!r} is not HOST:PATH (such as lab2:/data/farm/events.h5)")
    return host, path


def remote_argv(ssh: str, host: str, path: str, *, skip: int, identity: str | None,
                remote: str = DEFAULT_REMOTE) -> list[str]:
    """The command that runs the source's tail on HOST.  SSH joins the words after HOST into
    one shell command line there: every argument is quoted, except ``remote`` (a command line
    of its own, such as ``/opt/trmon-tui/.venv/bin/trmon-tui``)."""
    words = ["tail", "--follow", "--print-identity", "--skip", str(skip)]
    if identity is not None:
        words += ["--identity", identity]
    words += ["--", path]
    return [*shlex.split(ssh), host, " ".join([remote, *map(shlex.quote, words)])]


def start(argv: list[str]) -> subprocess.Popen:
    """Run the SSH client, its stdout a pipe to read the remote tail's lines from."""
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            start_new_session=True, preexec_fn=_end_with_parent)


def end(child: subprocess.Popen) -> int:
    """End the SSH client if it still runs (SIGTERM, then SIGKILL); its exit status."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(STOP_PATIENCE)
        except subprocess.TimeoutExpired:
            child.kill()
    child.stdout.close()
    return child.wait()


def how_it_ended(returncode: int | None) -> str:
    """Why a connection ended, in words (SSH's status is the remote command's, or 255)."""
    if returncode is None:
        return "status unknown"
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    if returncode == 255:
        return "SSH status 255: connection failed or cut"
    if returncode == 127:
        return "status 127: the remote command was not found"
    return f"status {returncode}"


def _find_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _find_prctl()  # looked up here: between fork and exec only a plain call is safe
PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """In the SSH client before exec: SIGTERM when the mirror dies (Linux; elsewhere the
    client ends at its next write into the closed pipe)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)
