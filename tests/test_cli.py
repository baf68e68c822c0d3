"""The command line as a script sees it: help, version, dispatch, missing file argument."""

from __future__ import annotations

import os
import subprocess
import sys

from trmon_tui import __version__

COMMAND_LINES = (
    "trmon-tui [FILE]",
    "trmon-tui --demo",
    "trmon-tui ingest FILE",
    "trmon-tui tail FILE [--follow]",
    "trmon-tui report FILE [--json]",
    "trmon-tui report [LABEL=]FILE ... [--json|--prometheus]",
    "trmon-tui exporter [LABEL=]FILE ... [--port 9108] [--bind 127.0.0.1]",
    "trmon-tui generate OUT --runs N [--live] [--seed S]",
)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trmon_tui", *args],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for line in COMMAND_LINES:
        assert line in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"trmon-tui {__version__}"


def test_each_command_has_help():
    for command in ("ingest", "tail", "report", "generate", "exporter"):
        result = run_cli(command, "--help")
        assert result.returncode == 0, result.stderr
        assert f"trmon-tui {command}" in result.stdout


def test_monitor_without_file_explains_what_to_do():
    env = {k: v for k, v in os.environ.items() if k != "TRMON_FILE"}
    result = run_cli(env=env)
    assert result.returncode == 2
    assert "TRMON_FILE" in result.stderr and "--demo" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_flag_is_a_usage_error():
    result = run_cli("report", "--no-such-flag", "x.h5")
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr
