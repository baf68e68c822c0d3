"""Command line of trmon-tui: parses arguments and hands each command to its module.

`trmon-tui [LABEL=]FILE ...` opens the monitor; the words ingest / tail / report / generate /
exporter select the headless commands of DESIGN.md.  Each command lives in trmon_tui/commands/
and returns an exit code.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from trmon_tui import __version__

COMMANDS = ("ingest", "tail", "report", "generate", "exporter", "mirror")

USAGE = """\
trmon-tui [FILE]                 the live monitor (FILE defaults to $TRMON_FILE)
       trmon-tui [LABEL=]FILE ...       the live monitor of several files (lab servers) at once
       trmon-tui --demo                 the live monitor over a live-written temporary file
       trmon-tui ingest FILE            append JSON-lines events from stdin
       trmon-tui tail FILE [--follow]   print events as JSON lines, each exactly once, in file order
       trmon-tui report FILE [--json]   the statistics, as a table or as JSON
       trmon-tui report [LABEL=]FILE ... [--json|--prometheus]   several files; the metrics once
       trmon-tui exporter [LABEL=]FILE ... [--port 9108] [--bind 127.0.0.1]   serve the metrics
       trmon-tui generate OUT --runs N [--live] [--seed S]   dummy data, static or written live
       trmon-tui mirror HOST:PATH LOCAL.h5 [--ssh CMD] [--restart]   mirror another server's file"""

EPILOG = """\
Run `trmon-tui COMMAND --help` for the options of one command.
Environment: TRMON_FILE is the file the monitor opens when none is given; TRMON_CONFIG the
config file when there is no --config (else ~/.config/trmon-tui/config.toml when it exists)."""

CONFIGURED = ("report", "exporter")  # the commands (with the monitor) that read the config file


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", default=None,
                        help="the config file (TOML: [files] read when no FILE is given, "
                             "[[failures.rule]] error categories; default $TRMON_CONFIG, else "
                             "~/.config/trmon-tui/config.toml when it exists)")


def _since_help() -> str:
    return "only testruns requested since then: a duration (24h, 7d, 90m) or a date (2026-11-01)"


def _port(text: str) -> int:
    """--port: a TCP port number."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0 to 65535)")
    return value


def _epoch(text: str) -> float:
    """--now: seconds since the Unix epoch, a finite number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: give seconds since the Unix epoch, such as 1790000000")
    return value


def _at_help() -> str:
    return ("the farm as it stood at T: only events received by then count, and ages are "
            "measured to T (as --now T); T = seconds since the epoch, a UTC date-time such as "
            "2026-12-07T03:00Z, or a time before now such as -2h or -1d")


def _files_help() -> str:
    return ("event files; LABEL (default: the file's name without extension) names a file's "
            "device groups LABEL/GROUP when there are several")


def monitor_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trmon-tui",
        usage=USAGE,
        description="Live terminal monitor for a hardware test farm's HDF5 event file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", metavar="[LABEL=]FILE",
                        help=_files_help() + " (default: $TRMON_FILE, else the config file's "
                                             "[files])")
    _config_option(parser)
    parser.add_argument("--version", action="version", version=f"trmon-tui {__version__}")
    parser.add_argument("--demo", action="store_true",
                        help="watch a temporary file that a live generator keeps writing")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="demo time acceleration (default 60: a minute a second)")
    parser.add_argument("--seed", type=int, default=None, help="demo random seed")
    parser.add_argument("--clock", choices=("received", "emit"), default="received",
                        help="which timestamp durations use (default received)")
    parser.add_argument("--since", default=None, help=_since_help())
    parser.add_argument("--group", default=None, help="start narrowed to this device group")
    parser.add_argument("--bell", action="store_true",
                        help="ring the terminal bell with each alert (a host turned bad, a "
                             "device group starved)")
    parser.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                        help="timer poll interval beside file-change notifications (default 1)")
    parser.add_argument("--now", type=_epoch, default=None, metavar="EPOCH",
                        help="a fixed time that ages are measured to (time in phase, oldest "
                             "wait, overdue, --since 24h), in seconds since the epoch "
                             "(default: the clock)")
    parser.add_argument("--at", default=None, metavar="T", help=_at_help())
    return parser


def command_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"trmon-tui {command}")
    if command == "ingest":
        parser.description = ("Append JSON-lines events from stdin to FILE (created if missing). "
                              "Bad lines are reported on stderr and skipped.")
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--count", action="store_true",
                            help="only print how many events FILE holds (0 if it does not "
                            "exist), after finishing a commit a killed ingest left: the "
                            "--skip of `tail` for a mirror that resumes")
    elif command == "tail":
        parser.description = "Print FILE's events as JSON lines, each exactly once, in file order."
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--follow", "-f", action="store_true",
                            help="keep printing new events until interrupted")
        parser.add_argument("--poll", type=float, default=0.2, metavar="SECONDS",
                            help="timer poll interval with --follow (default 0.2)")
        parser.add_argument("--skip", type=int, default=0, metavar="N",
                            help="leave out the first N events (a mirror resuming: N = "
                            "`trmon-tui ingest MIRROR --count`)")
        parser.add_argument("--identity", default=None, metavar="ID",
                            help="stop with status 3 unless FILE is the file of this identity "
                            "(and when it is replaced or truncated while followed): what "
                            "`mirror` checks")
        parser.add_argument("--print-identity", action="store_true",
                            help="print {\"identity\": ID} as the first line, and stop with "
                            "{\"replaced\": REASON} and status 3 if FILE is replaced (the "
                            "protocol of `mirror`)")
    elif command == "report":
        parser.description = ("Print the statistics of the files as a table, as JSON with "
                              "--json, or as Prometheus metrics with --prometheus.")
        parser.add_argument("files", nargs="*", metavar="[LABEL=]FILE",
                            help=_files_help() + " (default: the config file's [files])")
        _config_option(parser)
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true", help="print DESIGN.md's JSON")
        output.add_argument("--prometheus", action="store_true",
                            help="print the exporter's metrics once (node_exporter's textfile "
                            "collector)")
        parser.add_argument("--output", metavar="PATH", default=None,
                            help="write the report to PATH (atomically: renamed into place)")
        parser.add_argument("--clock", choices=("received", "emit"), default="received")
        parser.add_argument("--since", default=None, help=_since_help())
        parser.add_argument("--group", default=None, help="only this device group in the table")
        parser.add_argument("--now", type=_epoch, default=None, metavar="EPOCH",
                            help="the time ages are measured to (oldest queued wait, overdue, "
                                 "--since 24h), in seconds since the epoch (default: now)")
        parser.add_argument("--trend", choices=("hour", "day"), default=None,
                            help="add a row per UTC hour or day of the testruns' requests "
                                 "(not to --prometheus: the metrics have no trend)")
        parser.add_argument("--at", default=None, metavar="T", help=_at_help())
        parser.add_argument("--compare", default=None, metavar="PERIOD",
                            help="instead of the statistics: the testruns requested in the last "
                                 "PERIOD before now (24h, 7d, ...) against the PERIOD before, "
                                 "per device group and for all (a table, or JSON with --json; "
                                 "--group keeps one group; not with --since, --trend or "
                                 "--prometheus)")
        parser.add_argument("--skip-damaged", action="store_true",
                            help="read around chunks of events that fail their checksum "
                                 "(saying on stderr how many events were left out) instead "
                                 "of failing")
    elif command == "exporter":
        parser.description = ("Follow the files live and serve their Prometheus metrics at "
                              "http://BIND:PORT/metrics until SIGINT or SIGTERM.")
        parser.add_argument("files", nargs="*", metavar="[LABEL=]FILE",
                            help=_files_help() + " (default: the config file's [files])")
        _config_option(parser)
        parser.add_argument("--port", type=_port, default=9108, help="TCP port (default 9108)")
        parser.add_argument("--bind", default="127.0.0.1",
                            help="address to listen on (default 127.0.0.1: this host only; "
                            "0.0.0.0 for every interface)")
        parser.add_argument("--clock", choices=("received", "emit"), default="received")
        parser.add_argument("--now", type=_epoch, default=None, metavar="EPOCH",
                            help="fixed reference time for ages (default: the wall clock)")
        parser.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                            help="timer poll interval beside file-change notifications "
                            "(default 1)")
    elif command == "mirror":
        parser.description = (
            "Keep LOCAL.h5 a copy of the event file PATH on HOST, running its `tail --follow` "
            "over SSH: resumes after a cut link exactly (no event lost or repeated), refuses a "
            "replaced source (status 3). Exit status: 0 stopped by SIGINT/SIGTERM, 1 an event "
            "the copy cannot keep, 2 usage or LOCAL unusable, 3 the source was replaced.")
        parser.add_argument("source", metavar="HOST:PATH")
        parser.add_argument("local", metavar="LOCAL.h5")
        parser.add_argument("--ssh", default=None, metavar="CMD",
                            help="the SSH client's command, HOST and the remote command "
                            "appended (default: ssh -o BatchMode=yes -o ServerAliveInterval=15)")
        parser.add_argument("--remote-command", default=None, metavar="CMD",
                            help="trmon-tui on HOST, as its shell runs it (default: trmon-tui; "
                            "e.g. /opt/trmon-tui/.venv/bin/trmon-tui)")
        parser.add_argument("--restart", action="store_true",
                            help="when the source was replaced, keep the old copy as "
                            "LOCAL.h5.1 (.2, ...) and start a fresh one instead of stopping")
        parser.add_argument("--progress", type=float, default=30.0, metavar="SECONDS",
                            help="how often to say on stderr how far the copy is (default 30; "
                            "0: never)")
    elif command == "generate":
        parser.description = "Write dummy farm events to OUT, all at once or live."
        parser.add_argument("out", metavar="OUT")
        parser.add_argument("--runs", type=int, default=None, metavar="N",
                            help="number of testruns (static: required; live: history first)")
        parser.add_argument("--live", action="store_true", help="keep writing in real time")
        parser.add_argument("--speed", type=float, default=60.0,
                            help="live time acceleration (default 60)")
        parser.add_argument("--seed", type=int, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `trmon-tui` script; returns the process exit code."""
    whole_process = argv is None  # the script itself, not a caller inside a larger program
    if whole_process:
        # numpy's OpenBLAS starts a thread per core when numpy is imported, and it spins for
        # about 0.1 s of CPU waiting for work that never comes (nothing here multiplies
        # matrices): on a two-core server, CPU taken from reading the files and from the UI.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    argv = _glued(list(sys.argv[1:] if argv is None else argv))
    if argv and argv[0] in COMMANDS:
        command = argv[0]
        parser = command_parser(command)
        args = parser.parse_args(argv[1:])
        if command in CONFIGURED:
            if not _configure(args):
                return 2
            if not args.files:
                parser.print_usage(sys.stderr)
                print(f"trmon-tui {command}: give a FILE, or list [files] in the config file "
                      f"({_config_where(args)})", file=sys.stderr)
                return 2
        code = _run_command(command, args)
        if command == "report" and whole_process:
            _exit_now(code)
        return code
    args = monitor_parser().parse_args(argv)
    if not args.demo and not args.files and os.environ.get("TRMON_FILE"):
        args.files = [os.environ["TRMON_FILE"]]
    if not _configure(args, files=not args.demo):
        return 2
    if not args.demo and not args.files:
        monitor_parser().print_usage(sys.stderr)
        print("trmon-tui: give a FILE, set TRMON_FILE, list [files] in the config file "
              f"({_config_where(args)}), or try --demo", file=sys.stderr)
        return 2
    from trmon_tui.commands import monitor

    return monitor.run(args)


def _glued(argv: list[str]) -> list[str]:
    """``--at -2h`` as ``--at=-2h``: argparse takes a value starting with "-" for an option."""
    out = []
    for arg in argv:
        if out and out[-1] == "--at" and arg.startswith("-") and len(arg) > 1:
            out[-1] = f"--at={arg}"
        else:
            out.append(arg)
    return out


def _configure(args: argparse.Namespace, files: bool = True) -> bool:
    """Read the config file into ``args.rules`` (its failure rules) and, when no FILE was
    given (and ``files``), ``args.files`` (its [files]); ``args.config_path`` is the file read
    (None: none).  False after printing its one-line error (the caller exits 2)."""
    from store.config import ConfigError, load  # headless and light (no numpy work)

    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"trmon-tui: {_printable(exc)}", file=sys.stderr)
        return False
    args.rules = config.rules
    args.config_path = config.path
    if files and not args.files:
        args.files = config.sources()
    return True


def _config_where(args: argparse.Namespace) -> str:
    return f"{_printable(args.config_path)} has none" if args.config_path else "none found"


def _printable(text: object) -> str:
    """Text with every non-printable character escaped (a path or regex from a file)."""
    from trmon_tui.plain import clean

    return clean(text)


def _exit_now(code: int) -> None:
    """End the process without tearing the interpreter down.

    After `report` on a large file half a gigabyte of numpy arrays is alive; freeing them one by
    one and unloading every module takes ~0.1 s, a tenth of the command's time, for nothing:
    the file is closed and the output only needs flushing.
    """
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.stderr.flush()
    os._exit(code)


def _run_command(command: str, args: argparse.Namespace) -> int:
    # Imported lazily so `trmon-tui tail` never pays for importing Textual.
    if command == "ingest":
        from trmon_tui.commands import ingest as module
    elif command == "tail":
        from trmon_tui.commands import tail as module
    elif command == "report":
        from trmon_tui.commands import report as module
    elif command == "exporter":
        from trmon_tui.commands import exporter as module
    elif command == "mirror":
        from trmon_tui.commands import mirror as module
    else:
        from trmon_tui.commands import generate as module
    return module.run(args)
