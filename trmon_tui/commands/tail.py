"""`trmon-tui tail FILE [--follow] [--skip N]`: print events as JSON lines, each exactly once,
in file order.

Each event is one JSON object with the keys `ingest` reads.  With --follow it keeps printing as
commits land, woken by file-change notifications on FILE's directory (watchfiles; a file watch
would die when the file is renamed or recreated) and by a timer poll (watchfiles' polling fallback
misses a second write within the same second).  File lifecycle notices go to stderr.
Ctrl-C ends it quietly with status 0; so does a closed pipe (`| head`).

`--skip N` leaves out the events at file rows below N (the reader starts SKIP_CONTEXT rows
before row N instead of reading them all), so that a mirror made with
`tail --follow | ingest MIRROR` resumes after a cut: N = `ingest MIRROR --count`, the events the
mirror holds (ingest commits every line it read to the end of its input).  Rows are counted
in the file as it is: after a Reset (the file was replaced) the new file's rows below N are left
out too (the Reset is said on stderr).

For `trmon-tui mirror`, which must never append another file's rows to its copy (README, "Files
on other servers"), two options guard the file's identity (TailReader.identity: `trmon:FILE_ID`
of a product file, `seed:DEVICE:INODE` of a seed-layout one):

- `--identity ID`: the file must be the one of identity ID.  The identity is checked before
  anything is printed; another file, a Reset while following (replaced, truncated, deleted), or
  fewer events than `--skip` (rows the copy holds that the file lost) stop the tail with status 3
  and one line, instead of going on;
- `--print-identity`: the machine protocol of the mirror.  The first line printed is
  `{"identity": ID}` (once the file has been read), the events follow as usual, with a line
  `{"events_total": N}` after them whenever the file's event count changes (how far behind the
  mirror is), and a stop of the kind above prints `{"replaced": REASON}` as the last line
  (instead of on stderr), status 3.  A Reset stops it too, even without `--identity`.  A line
  that is a JSON object without "testrun_id" is such a notice, never an event.

Without them the output is exactly as above.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import threading
import time

from store.batch import Batch, Reset
from store.catalog import Catalog
from store.tail import RETRY_PATIENCE, TailReader
from store.vet import one_line
from trmon_tui.commands.report_table import safe

PREFIX = "trmon-tui tail: "
REPLACED = 3  # exit status: the file is not (or no longer) the one of --identity


def run(args: argparse.Namespace) -> int:
    """Print what is in FILE (and, with --follow, what arrives later)."""
    try:
        guard = Guard(args.identity, args.print_identity)
        return _tail(args.file, follow=args.follow, poll=max(0.01, args.poll),
                     skip=max(0, args.skip), guard=guard)
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


# Rows before --skip N that are read anyway (and dropped): the catalog sees the recent history
# of the testruns running at row N, so their next event does not repeat their device group.
# A testrun whose earlier events all lie further back gets its device_group on its first event
# printed (the group it has: `ingest` accepts it), never a new testrun without its group.
SKIP_CONTEXT = 100_000


class Guard:
    """What --identity and --print-identity ask of the tail (see the module docstring)."""

    def __init__(self, expected: str | None = None, announce: bool = False) -> None:
        self.expected = expected
        self.announce = announce
        self.announced = False
        self.total = -1  # the event count last printed

    @property
    def active(self) -> bool:
        return self.expected is not None or self.announce

    def check(self, reader: TailReader, result, out) -> str | None:
        """Why the tail must stop before printing this poll's items, or None; announces the
        identity once it is known."""
        if not self.active:
            return None
        reset = next((item for item in result.items if isinstance(item, Reset)), None)
        if reset is not None:
            return reset.reason.removesuffix("; starting over from its first row")
        identity = reader.identity
        if identity is None:
            return None
        if self.expected is not None and identity != self.expected:
            return (f"{reader.path} is another file (identity {identity}, not {self.expected}): "
                    "it was replaced")
        if self.announce and not self.announced:
            out.write(json.dumps({"identity": identity}) + "\n")
            self.announced = True
        return None

    def count(self, status, out) -> None:
        """With --print-identity: ``{"events_total": N}`` whenever the file's event count
        changes, after the events read with it (so the mirror knows how far behind it is)."""
        if self.announced and status.state == "live" and status.rows_total != self.total:
            self.total = status.rows_total
            out.write(json.dumps({"events_total": self.total}) + "\n")

    def refuse(self, reason: str, out) -> int:
        """Stop with status 3, saying why once: on stdout for the mirror, else on stderr."""
        if self.announce:
            out.write(json.dumps({"replaced": reason}, ensure_ascii=False) + "\n")
            out.flush()
        else:
            print(PREFIX + safe(reason) + "; stopping", file=sys.stderr, flush=True)
        return REPLACED


def _tail(path: str, *, follow: bool, poll: float, skip: int = 0,
          guard: Guard | None = None) -> int:
    guard = guard or Guard()
    # The reader starts near row N (TailReader.start_row) instead of reading and dropping N rows.
    reader = TailReader(path, start_row=max(0, skip - SKIP_CONTEXT))
    catalog = Catalog()
    wake = _watch(path) if follow else None
    last_message = ""
    short = False  # said that the file holds fewer events than --skip
    out = sys.stdout
    trouble_since = None
    while True:
        result = reader.poll()
        refusal = guard.check(reader, result, out)
        if refusal is not None:
            return guard.refuse(refusal, out)
        for item in result.items:
            if isinstance(item, Reset):
                catalog.reset()
                print(PREFIX + item.reason, file=sys.stderr, flush=True)
            elif isinstance(item, Batch):
                catalog.apply(item)
                out.write("".join(json.dumps(event, ensure_ascii=False) + "\n"
                                  for event in catalog.event_dicts(_after(item, skip))))
        guard.count(result.status, out)
        out.flush()
        status = result.status
        if result.more:
            continue
        held = max(catalog.events, status.rows_read)  # rows_read: where the reader started
        if status.state == "live" and held < skip and guard.active:
            return guard.refuse(f"{path} holds {held} events, fewer than the {skip} "
                                "already copied: it was truncated or replaced", out)
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
    if status.message.endswith("retrying") and troubled <= RETRY_PATIENCE:
        return None  # a failed read, perhaps of a file mid-rewrite: once more
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
