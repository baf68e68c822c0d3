"""`trmon-tui report [LABEL=]FILE ... [--json|--prometheus] [--now EPOCH|--at T]
[--trend hour|day] [--compare PERIOD]`: the statistics of the files (the same files and --now
give the same bytes).

``--at T`` reports the files as they stood at T: only the events received by then are read in
(store.multi.MultiTail's ``at``) and now = T, so the report equals ``--now T`` of files holding
only those events.  ``--compare PERIOD`` prints, instead of the statistics, the last PERIOD
before now against the one before (store.stats.compare; report_table.render_compare).

Reads every file with store.multi.MultiTail (one TailReader per file, in batches, so memory
stays bounded), folds them into one store.stats.StatsEngine and prints its summary: DESIGN.md's
JSON with --json (plus "files"), the Prometheus metrics with --prometheus (see metrics), else a
plain-text table per device group (see report_table).  A file that cannot be read is said on
stderr and the others are reported; the status is then 1.

On a large file the work is spread over the machine's two cores: a reader thread reads the next
batch and prepares it (store.catchup, which the monitor shares), the engine applies the previous
one with a helper thread of its own, and the summary's sample statistics run in two threads.
See tests/benchmarks/bench_stats.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import closing

from store import catchup, memory
from store.multi import MultiTail
from store.reading import read_through
from store.sources import Source, default_label, file_summaries, parse_sources
from store.stats import StatsEngine, TrendTooLong
from store.stats.buckets import METRIC_BOUNDS
from store.vet import one_line
from store.window import parse_at, parse_period, parse_since
from trmon_tui.commands.compare_table import render_compare
from trmon_tui.commands.report_table import render
from trmon_tui.plain import clean

PREFIX = "trmon-tui report: "
MAX_LISTED = 6  # queued / ongoing testruns named per section of the table
THREAD_BYTES = 128 << 20  # from this file size a reader thread overlaps reading and applying


class ReportError(Exception):
    """A problem with the input that ends the command with a message and status 1."""


def run(args: argparse.Namespace) -> int:
    """Print the statistics of args.files; returns the exit status."""
    memory.keep_freed()
    at = getattr(args, "at", None)
    period = getattr(args, "compare", None)
    try:
        at, now, period = _moments(args, at, period)
        since = None if args.since is None else parse_since(args.since, now)
        sources = parse_sources(args.files)
    except ValueError as exc:
        print(PREFIX + clean(exc), file=sys.stderr)
        return 2
    try:
        # The metrics and --compare have no delivery delays: then none are kept.
        engine, tail, failed = read_sources(sources, args.clock, getattr(args, "rules", ()),
                                            at=at,
                                            skip_damaged=getattr(args, "skip_damaged", False),
                                            delays=not (args.prometheus or period is not None),
                                            delay_runs=since is not None)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - rows a damaged file got past every check
        names = ", ".join(s.path for s in sources)
        print(PREFIX + clean(f"could not read {names} ({type(exc).__name__}: {one_line(exc)})"),
              file=sys.stderr)
        return 1
    memory.release_freed()  # before the summary: the lowest peak (see store.memory)
    for reason in failed.values():
        print(PREFIX + clean(reason), file=sys.stderr)
    if tail.skipped:
        print(PREFIX + f"left out {tail.skipped:,} events in chunks that fail their checksum "
              "(--skip-damaged)", file=sys.stderr)
    if failed and len(sources) == 1 and not args.prometheus:
        return 1  # nothing else to report (the metrics still say the file is down)
    if args.group is not None and args.group not in engine.groups():
        known = ", ".join(clean(g) for g in engine.groups()) or "none"
        print(PREFIX + f"no device group {clean(args.group)!r} in "
              f"{', '.join(clean(s.path) for s in sources)} (groups: {known})", file=sys.stderr)
        return 1
    if period is not None:
        comparison = engine.compare(period, group=args.group, now=now)
        if args.json:
            text = json.dumps(comparison, ensure_ascii=False) + "\n"
        else:
            text = render_compare(comparison, args.compare, clock=args.clock)
        return _written(text, args.output, 1 if failed else 0)
    try:
        # The metrics have no delivery delays and no trend (as the exporter's summary).
        summary = engine.summary(since=since, group=args.group, now=now,
                                 delivery_delay=not args.prometheus,
                                 trend=None if args.prometheus else args.trend,
                                 buckets=METRIC_BOUNDS if args.prometheus else None)
    except TrendTooLong as exc:
        print(PREFIX + f"{exc} (--trend day, or --since)", file=sys.stderr)
        return 2
    files = file_summaries(tail, engine, failed)
    if args.prometheus:
        from trmon_tui.commands import metrics  # prometheus_client takes 80 ms to import

        text = metrics.exposition(metrics.compute(engine, summary, files, since=since,
                                                  group=args.group, now=now))
    elif args.json:
        text = json.dumps({**summary, "files": files}, ensure_ascii=False) + "\n"
    else:
        def waiting(status: str, group: str | None) -> list[dict]:
            rows = engine.testruns(status, since=since, group=group, now=now, limit=MAX_LISTED)
            for row in rows:
                since_t = row["phase_since"]
                row["phase_age"] = None if since_t is None else now - since_t
            return rows

        text = render(summary, engine.counts(), path=sources[0].path, clock=args.clock,
                      since=args.since, file_format=tail.statuses[0].file_format,
                      waiting=waiting, now=now, trend=args.trend,
                      files=files if len(sources) > 1 else None, at=at)
    return _written(text, args.output, 1 if failed else 0)


def _moments(args: argparse.Namespace, at: str | None,
             period: str | None) -> tuple[float | None, float, float | None]:
    """(--at as an epoch or None, now, --compare in seconds or None); ValueError with a line
    saying what is wrong: a bad T or PERIOD, or options that do not go together."""
    if at is not None and args.now is not None:
        raise ValueError("give --at T or --now EPOCH, not both (--at T sets now to T)")
    if period is not None:
        clash = [name for name, given in (("--since", args.since is not None),
                                          ("--trend", args.trend is not None),
                                          ("--prometheus", args.prometheus)) if given]
        if clash:
            raise ValueError(f"--compare sets its own periods and output: give it no "
                             f"{' or '.join(clash)}")
    now = time.time() if args.now is None else args.now
    when = None if at is None else parse_at(at, now)
    return when, now if when is None else when, None if period is None else parse_period(period)


def _written(text: str, output: str | None, status: int) -> int:
    """``status`` once ``text`` is written (see _write), 2 if it could not be."""
    try:
        _write(text, output)
    except OSError as exc:
        print(PREFIX + f"cannot write {clean(output)} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    return status


def _write(text: str, output: str | None) -> None:
    """Print ``text``, or put it in ``output`` atomically: written beside it under a hidden
    temporary name, then renamed over it (node_exporter's textfile collector reads *.prom
    files at any moment and must never see half a file)."""
    if output is None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    directory, name = os.path.split(os.path.abspath(output))
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())  # after a crash the renamed file is whole, never empty
        os.replace(temporary, output)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def read_file(path: str, clock: str = "received",
              at: float | None = None) -> tuple[StatsEngine, str]:
    """Fold every committed row of ``path`` into a new StatsEngine; (engine, "trmon"|"seed").

    Raises ReportError when the file is missing, not HDF5, foreign or stays unreadable.
    """
    engine, tail, failed = read_sources([Source(default_label(path), path)], clock, at=at)
    if failed:
        raise ReportError(next(iter(failed.values())))
    return engine, tail.statuses[0].file_format


def read_sources(sources: list[Source], clock: str = "received", rules=(), *,
                 at: float | None = None, skip_damaged: bool = False, delays: bool = True,
                 delay_runs: bool = True) -> tuple[StatsEngine, MultiTail, dict[str, str]]:
    """Fold every committed row of the files into one StatsEngine (store.multi: several
    files in one id space; ``rules``: the config file's failure rules; with ``at``, only the
    events received by then); (engine, the tail that read them, {label: reason} of the files
    that could not be read).  ``skip_damaged``: read around chunks of events that fail their
    checksum (``tail.skipped`` counts the events left out); ``delays`` / ``delay_runs``:
    StatsEngine's (whether the delivery delays are kept, and with their testruns)."""
    engine = StatsEngine(clock=clock, rules=rules, delays=delays, delay_runs=delay_runs)
    tail = MultiTail(sources, hold=catchup.HOLD, at=at, max_rows=catchup.FIRST_ROWS,
                     skip_damaged=skip_damaged)
    size = 0
    for source in sources:
        try:
            size += os.path.getsize(source.path)
        except OSError:
            pass  # missing or gone meanwhile: the reader says so
    failed: dict[str, str] = {}

    def polls():
        return read_through(tail, failed, prepare=StatsEngine.prepare)

    # HDF5 reads release the GIL: on a large file a reader thread reads and prepares the next
    # batch while this thread folds the previous one in; a small file is a few polls, for which
    # a thread costs more than it saves.
    with closing(tail):  # no file is left open
        ahead = catchup.ReadAhead(polls) if size >= THREAD_BYTES else None
        try:
            for items in ahead or polls():
                for item in items:
                    engine.apply(item)
        finally:
            if ahead is not None:
                ahead.close()
    engine.state.drain()  # the helper lanes' last batch is done (and its memory freed)
    return engine, tail, failed
