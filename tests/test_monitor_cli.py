"""The monitor as an operator starts it: `trmon-tui [LABEL=]FILE ...` in a real pseudo-terminal.

commands/monitor.py starts the tail loop before Textual is imported (it reads the history
while the UI starts up) and hands it to the app: these tests run that path end to end, in a
subprocess, at 80x24.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NOW, write_farm

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from pty_terminal import Terminal  # noqa: E402 - a helper of the benchmarks, shared

ROOT = str(Path(__file__).resolve().parent.parent)


def monitor(*args: str) -> Terminal:
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("NO_COLOR", None)
    return Terminal([sys.executable, "-m", "trmon_tui", *args], env, size=(80, 24))


@pytest.fixture
def farm(tmp_path):
    path = tmp_path / "farm.h5"
    return path, write_farm(path)


def test_the_monitor_reads_the_file_shows_its_panes_and_quits(farm):
    path, _ = farm
    term = monitor(str(path), "--now", str(NOW))
    try:
        assert term.wait_for(r"LIVE\s+farm\.h5.*40 runs", timeout=60, since=0) is not None
        assert term.wait_for(r"all groups", timeout=10, since=0) is not None  # the overview
        mark = term.mark()
        term.write("2")
        assert term.wait_for(r"ongoing", timeout=10, since=mark) is not None
    finally:
        status = term.close()
    assert status == 0  # q ended it (close() would have sent SIGTERM after 5 s)


def test_at_T_shows_the_farm_then_and_L_goes_live(farm):
    """--at T: the loop started before the app reads up to T only; L reads the whole file."""
    path, _ = farm
    term = monitor(str(path), "--at", "2025-12-31T22:00Z")
    try:
        assert term.wait_for(r"AT 2025-12-31 22:00 UTC.*28 runs", timeout=60, since=0) \
            is not None
        mark = term.mark()
        term.write("L")
        assert term.wait_for(r"LIVE\s+farm\.h5.*40 runs", timeout=60, since=mark) is not None
    finally:
        assert term.close() == 0


def test_several_files_one_of_them_missing(farm, tmp_path):
    path, _ = farm
    term = monitor(f"lab1={path}", f"lab2={tmp_path / 'missing.h5'}", "--now", str(NOW))
    try:
        assert term.wait_for(r"lab1 LIVE.*lab2 WAITING", timeout=60, since=0) is not None
        assert term.wait_for(r"lab1/", timeout=10, since=0) is not None  # LABEL/GROUP rows
    finally:
        assert term.close() == 0


@pytest.mark.parametrize(("args", "says", "one_line"), [
    (["--since", "the dawn of time"], "since", False),
    (["--group"], "expected one argument", False),  # argparse: usage, then the error
    (["--at", "yesterday-ish"], "T", True),
    (["--at", "-2h", "--now", str(NOW)], "not both", True),
])
def test_bad_options_end_at_once_with_status_2(farm, args, says, one_line):
    """The tail loop that started reading before the options were all checked stops too (a
    bad --at included, said in one line)."""
    path, _ = farm
    result = subprocess.run([sys.executable, "-m", "trmon_tui", str(path), *args],
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
    if one_line:
        assert len(result.stderr.strip().splitlines()) == 1
