"""`trmon-tui tail FILE [--follow] [--skip N]`: print events as JSON lines, each exactly once,
in file order.

Each event is one JSON object with the keys `ingest` reads.  With --follow it keeps printing as
commits land, woken by file-change notifications on FILE's directory (watchfiles; a file watch
would die when the file is renamed or recreated) and by a timer poll (watchfiles' polling fallback
misses a second write within the same second).  File lifecycle notices go to stderr.
Ctrl-C ends it quietly with status 0; so does a closed pipe (`| head`).

`--skip N` leaves out the events at file rows below N, so that a mirror made with
`tail --follow | ingest MIRROR` resumes after a cut: N = `ingest MIRROR --count`, the events the
mirror holds (ingest commits every line it read to the end of its input).  Rows are counted
in the file as it is: after a Reset (the file was replaced) the new file's rows below N are left
out too, so a replaced source wants a fresh mirror (the Reset is said on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import threading
import time

from store import checksummed
from store.batch import Batch, Reset
from store.catalog import Catalog
from store.tail import RETRY_PATIENCE, TailReader
from store.vet import one_line
from trmon_tui.commands.report_table import safe

PREFIX = "trmon-tui tail: "


def run(args: argparse.Namespace) -> int:
    """Print what is in FILE (and, with --follow, what arrives later)."""
    try:
        return _tail(args.file, follow=args.follow, poll=max(0.01, args.poll),
                     skip=max(0, args.skip))
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # Keep the interpreter from complaining when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - rows a damaged file got past every check
        print(PREFIX + safe(f"could not read {args.file} ({type(exc).__name__}: "
                            f"{one_line(exc)})"), file=sys.stderr)
        return 1


def _tail(path: str, *, follow: bool, poll: float, skip: int = 0) -> int:
    reader, catalog = TailReader(path), Catalog()
    wake = _watch(path) if follow else None
    last_message = ""
    short = False  # said that the file holds fewer events than --skip
    out = sys.stdout
    trouble_since = None
    while True:
        result = reader.poll()
        for item in result.items:
            if isinstance(item, Reset):
                catalog.reset()
                print(PREFIX + item.reason, file=sys.stderr, flush=True)
            elif isinstance(item, Batch):
                catalog.apply(item)
                out.write("".join(json.dumps(event, ensure_ascii=False) + "\n"
                                  for event in catalog.event_dicts(_after(item, skip))))
        out.flush()
        status = result.status
        if result.more:
            continue
        if status.state == "live" and catalog.events < skip and not short:
            short = True
            print(PREFIX + f"{path} holds {catalog.events} events, fewer than the {skip} to "
                  "skip" + ("; waiting for more" if follow else ""), file=sys.stderr,
                  flush=True)
        if status.state == "live" or any(isinstance(item, Batch) for item in result.items):
            trouble_since = None
        elif trouble_since is None:
            trouble_since = time.monotonic()
        code = None if follow else _done(status, trouble_since)
        message = status.message
        if code is not None and message:
            message = message.split("; ")[0]  # one-shot: no "waiting for ..." promise
        elif not follow and status.state != "locked":
            message = ""  # one-shot and still retrying: only its last word is printed
        if message and message != last_message:
            print(PREFIX + message, file=sys.stderr, flush=True)
        elif follow and last_message and not message and status.state == "live":
            # The problem printed last is over: say so, or the operator is left wondering.
            print(PREFIX + f"{path} is readable now; following it", file=sys.stderr, flush=True)
        last_message = status.message
        if code is not None:
            return code
        if wake is not None:
            wake.wait(poll)
            wake.clear()
            if _reader_gone(out):
                return 0  # as a closed pipe at the next write would, without waiting for one
        else:
            threading.Event().wait(min(poll, 0.05))


def _after(batch: Batch, skip: int) -> Batch:
    """The batch without its events at file rows below ``skip``."""
    start = skip - batch.first_event_row
    if start <= 0:
        return batch
    return batch.with_events_from(min(start, len(batch)))


def _reader_gone(out) -> bool:
    """True when stdout is a pipe whose reading end is closed (`ingest` or ssh gone): a follow
    with nothing new to print would otherwise linger until the file grows."""
    try:
        poller = select.poll()
        poller.register(out.fileno(), 0)  # only POLLERR and POLLHUP are reported
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no fileno, or no poll() (not on Linux)
        return False


def _done(status, trouble_since: float | None) -> int | None:
    """Exit code of a one-shot tail once it has read the file, None to keep trying.
    ``trouble_since``: when the reader last stopped making progress."""
    if status.state == "live":
        return 0
    if status.state == "locked" or not status.message:
        return None  # a writer holds the file: it lets go
    troubled = time.monotonic() - (trouble_since or time.monotonic())
    retried = status.message.endswith("retrying") or checksummed.FAILS in status.message
    if retried and troubled <= RETRY_PATIENCE:
        return None  # a failed read, perhaps of a chunk torn by a killed writer: once more
    return 1 if status.state == "error" or "does not exist" in status.message else 0


def _watch(path: str) -> threading.Event:
    """An Event set whenever FILE or its journal changes (watching the directory)."""
    wake = threading.Event()
    directory = os.path.dirname(os.path.abspath(path))
    names = {os.path.basename(path), os.path.basename(path) + ".journal"}

    def watcher() -> None:
        try:
            import watchfiles

            for _changes in watchfiles.watch(
                    directory, watch_filter=lambda _c, p: os.path.basename(p) in names,
                    debounce=100, step=10, recursive=False, raise_interrupt=False):
                wake.set()
        except Exception:  # noqa: BLE001 - the timer poll still works without notifications
            return

    threading.Thread(target=watcher, name="trmon-tail-watch", daemon=True).start()
    return wake
