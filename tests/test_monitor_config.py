"""The monitor and its config file, as an operator starts it (a real pseudo-terminal, 80x24):
`--config` with [files] and failure rules and no FILE, and `--demo`, which classifies its
errors with demo/config.toml."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from conftest import NOW, write_farm

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from pty_terminal import Terminal  # noqa: E402 - a helper of the benchmarks, shared

ROOT = str(Path(__file__).resolve().parent.parent)


def monitor(home: Path, *args: str) -> Terminal:
    env = dict(os.environ, PYTHONPATH=ROOT, HOME=str(home))  # no operator's own config
    for name in ("NO_COLOR", "TRMON_CONFIG", "TRMON_FILE"):
        env.pop(name, None)
    return Terminal([sys.executable, "-m", "trmon_tui", *args], env, size=(80, 24))


def test_config_files_and_rules_reach_the_monitor(tmp_path):
    farm = tmp_path / "farm.h5"
    write_farm(farm)  # its 5 errors are all "FlashError: ..."
    config = tmp_path / "trmon.toml"
    config.write_text(f'[files]\nlab = "{farm}"\n\n[[failures.rule]]\n'
                      'match = "^Flash"\ncategory = "flasher"\n')
    term = monitor(tmp_path, "--config", str(config), "--now", str(NOW))
    try:
        assert term.wait_for(r"LIVE\s+farm\.h5.*40 runs", timeout=60, since=0) is not None
        mark = term.mark()
        term.write("8")
        assert term.wait_for(r"failures 5: flasher 5 \(100\.0 %\)", timeout=15,
                             since=mark) is not None
    finally:
        assert term.close() == 0


def test_demo_classifies_its_errors_with_its_config(tmp_path):
    term = monitor(tmp_path, "--demo", "--seed", "3")
    try:
        assert term.wait_for(r"LIVE\s+demo\.h5", timeout=90, since=0) is not None
        mark = term.mark()
        term.write("8")
        assert term.wait_for(r"image \d[\d,]* \(", timeout=20, since=mark) is not None
        assert term.wait_for(r"device-lost \d", timeout=5, since=mark) is not None
    finally:
        assert term.close() == 0
