"""`trmon-tui tail FILE [--follow] [--skip N]`: print events as JSON lines, each exactly once,
in file order.

Each event is one JSON object with the keys `ingest` reads.  With --follow it keeps printing as
commits land (store.follow: woken by file-change notifications on FILE's directory and by a
timer poll; a long history caught up by a reader thread).  File lifecycle notices go to stderr.
Without --follow a file in trouble is waited for or given up on as store.trouble.decide says.
Ctrl-C ends it quietly with status 0; so does a closed pipe (`| head`).

`--skip N` leaves out the events at file rows below N (the reader starts SKIP_CONTEXT rows
before row N instead of reading them all), so that a mirror resumes after a cut: N = the events
it holds.  Rows are counted in the file as it is: after a Reset (the file was replaced) the new
file's rows below N are left out too (the Reset is said on stderr).

`--identity ID` and `--print-identity` guard the file's identity for `trmon-tui mirror`
(tail_identity.py); without them the output is exactly as above.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import threading

from store.batch import Batch, Reset
from store.catalog import Catalog
from store.follow import Consumer, FollowLoop
from store.sources import Source, default_label
from store.tail import TailReader
from store.trouble import decide
from store.vet import one_line
from trmon_tui.commands.tail_identity import Guard, Refused
from trmon_tui.plain import clean

PREFIX = "trmon-tui tail: "


def run(args: argparse.Namespace) -> int:
    """Print what is in FILE (and, with --follow, what arrives later)."""
    guard = Guard(args.identity, args.print_identity)
    try:
        return _tail(args.file, follow=args.follow, poll=max(0.01, args.poll),
                     skip=max(0, args.skip), guard=guard)
    except Refused as exc:
        return guard.refuse(str(exc), sys.stdout, PREFIX)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # Keep the interpreter from complaining when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - rows a damaged file got past every check
        print(PREFIX + clean(f"could not read {args.file} ({type(exc).__name__}: "
                            f"{one_line(exc)})"), file=sys.stderr)
        return 1


# Rows before --skip N that are read anyway (and dropped): the catalog sees the recent history
# of the testruns running at row N, so their next event does not repeat their device group.
# A testrun whose earlier events all lie further back gets its device_group on its first event
# printed (the group it has: `ingest` accepts it), never a new testrun without its group.
SKIP_CONTEXT = 100_000
FOLLOW_STEP = 10  # ms between the watch's looks for changes (as tail's own watch had)
FOLLOW_READ = 0.01  # s: a change notice is read at once, at most this often


def _tail(path: str, *, follow: bool, poll: float, skip: int = 0,
          guard: Guard | None = None) -> int:
    guard = guard or Guard()
    # The reader starts near row N (TailReader.start_row) instead of reading and dropping N rows.
    start_row = max(0, skip - SKIP_CONTEXT)
    if follow:
        printer = Printer(path, skip, sys.stdout, guard)
        # A commit is printed within tens of milliseconds (a mirror copies it on): the watch looks
        # every FOLLOW_STEP ms and a change notice is read at once (at most every
        # FOLLOW_READ s); the timer poll is the --poll interval.
        FollowLoop([Source(default_label(path), path)], printer, poll=poll,
                   min_interval=min(poll, FOLLOW_READ), start_row=start_row,
                   watch_step=FOLLOW_STEP).run()
        return 0
    reader, catalog = TailReader(path, start_row=start_row), Catalog()
    last_message = ""
    out = sys.stdout
    while True:
        result = reader.poll()
        for item in result.items:
            if isinstance(item, Reset):
                guard.reset(item)
                catalog.reset()
                print(PREFIX + item.reason, file=sys.stderr, flush=True)
            elif isinstance(item, Batch):
                guard.batch(reader, out)
                catalog.apply(item)
                out.write("".join(json.dumps(event, ensure_ascii=False) + "\n"
                                  for event in catalog.event_dicts(_after(item, skip))))
        status = result.status
        if not result.more:
            guard.settled(reader, status, out)
        out.flush()
        if result.more:
            continue
        held = max(catalog.events, status.rows_read)  # rows_read: where the reader started
        if status.state == "live":
            guard.short(path, held, skip)
        if status.state == "live" and held < skip:
            print(PREFIX + f"{path} holds {held} events, fewer than the {skip} to "
                  "skip", file=sys.stderr, flush=True)
        decision = decide(status, follow=False, path=path)
        code = None if decision.wait else 1 if decision.failed else 0
        if code is not None:
            message = decision.give_up  # no "waiting for ..." promise
        elif status.state == "locked":
            message = status.message  # waiting on a writer: say so
        else:
            message = ""  # still retrying: only its last word is printed
        if message and message != last_message:
            print(PREFIX + message, file=sys.stderr, flush=True)
        last_message = status.message
        if code is not None:
            return code
        threading.Event().wait(min(poll, 0.05))


class Printer(Consumer):
    """`tail --follow`: prints each event once (store.follow reads); lifecycle notices on
    stderr.  A restart after a failure resumes after the last event printed."""

    fatal = (BrokenPipeError, Refused)

    def __init__(self, path: str, skip: int, out, guard: Guard | None = None) -> None:
        self.path, self.skip, self.out = path, skip, out
        self.guard = guard or Guard()
        self.printed = 0  # file row after the last event printed
        self.short = False  # said that the file holds fewer events than --skip
        self.last_message = ""
        self.live = False  # the file's state, last it changed

    def start(self, tail) -> None:
        self.catalog = Catalog()
        self.tail = tail

    def take(self, item) -> None:
        if isinstance(item, Reset):
            self.guard.reset(item)
            self.catalog.reset()
            self.printed = 0
            print(PREFIX + item.reason, file=sys.stderr, flush=True)
            return
        self.guard.batch(self.tail.reader(0), self.out)
        self.catalog.apply(item)
        batch = _after(item, max(self.skip, self.printed))
        self.out.write("".join(json.dumps(event, ensure_ascii=False) + "\n"
                               for event in self.catalog.event_dicts(batch)))
        self.out.flush()
        self.printed = max(self.printed, item.first_event_row + len(item))

    def status_changed(self, index: int, status) -> None:
        message = status.message
        if message and message != self.last_message:
            print(PREFIX + message, file=sys.stderr, flush=True)
        elif self.last_message and not message and status.state == "live":
            # The problem printed last is over: say so, or the operator is left wondering.
            print(PREFIX + f"{self.path} is readable now; following it", file=sys.stderr,
                  flush=True)
        self.last_message = message
        self.live = status.state == "live"

    def read_done(self) -> None:
        status = self.tail.statuses[0]
        self.guard.settled(self.tail.reader(0), status, self.out)
        self.out.flush()
        held = max(self.catalog.events, status.rows_read)  # rows_read: where it started
        if self.live:
            self.guard.short(self.path, held, self.skip)
        if self.live and held < self.skip and not self.short:
            self.short = True
            print(PREFIX + f"{self.path} holds {held} events, fewer than the "
                  f"{self.skip} to skip; waiting for more", file=sys.stderr, flush=True)
        if _reader_gone(self.out):
            raise BrokenPipeError  # as a closed pipe at the next write would, without waiting

    def failed(self, error: BaseException, retry_in: float) -> None:
        print(PREFIX + clean(f"could not read {self.path} ({type(error).__name__}: "
                             f"{one_line(error)}); reading it again in {retry_in:.0f} s"),
              file=sys.stderr, flush=True)


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
