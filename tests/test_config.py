"""The config file (DESIGN.md "The config file") through the real command: where it is found,
what [files] and [[failures.rule]] do, and every error as one line naming file and line, exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from store.config import Config, ConfigError, load, parse


def cli(*args: str, home, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command with HOME at ``home`` (no user config leaks in) and no TRMON_* set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRMON_")}
    clean["HOME"] = str(home)
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "trmon_tui", *args], capture_output=True,
                          text=True, timeout=120, env=clean, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    path = tmp_path_factory.mktemp("farm") / "lab.h5"
    home = tmp_path_factory.mktemp("home")
    done = cli("generate", str(path), "--runs", "300", "--seed", "3", home=home)
    assert done.returncode == 0, done.stderr
    return path


BAD = [
    ("x = 1\n", 1, "unknown key 'x'"),
    ("[files]\nlab = \n", 2, "bad TOML"),
    ("[files]\nlab = '/a.h5'\n\n[[failures.rule]]\nmatch = '^A'\ncategory = 'a'\n\n"
     "[[failures.rule]]\nmatch = '(unclosed'\ncategory = 'b'\n", 9, "bad regular expression"),
    ("[[failures.rule]]\nmatch = 'x'\ncategory = 'no spaces'\n", 3, "bad category name"),
    ("[[failures.rule]]\nmatch = 'x'\ncategory = '" + "c" * 33 + "'\n", 3, "bad category"),
    ("[failures]\nrules = []\n", 2, "unknown key 'failures.rules'"),
    ("[[failures.rule]]\nmatch = 'x'\ncategory = 'a'\ncolour = 'red'\n", 4, "'colour'"),
    ("[[failures.rule]]\nmatch = 'x'\n", 1, "without category"),
    ("[files]\nlab = 3\n", 2, "must be a path"),
]


CASES = [(command, *bad) for command in ([], ["report"]) for bad in BAD] + \
    [(["exporter"], *BAD[0]), (["exporter"], *BAD[2])]


@pytest.mark.parametrize("command,text,line,says", CASES)
def test_a_bad_config_is_one_line_naming_file_and_line(tmp_path, farm, command, text, line,
                                                       says):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    done = cli(*command, "--config", str(config), str(farm), home=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"{config}:{line}: " in done.stderr and says in done.stderr, done.stderr


def test_a_missing_config_file_is_an_error_but_a_missing_default_is_none(tmp_path, farm):
    done = cli("report", "--config", str(tmp_path / "none.toml"), str(farm), home=tmp_path)
    assert done.returncode == 2 and "none.toml: not found" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    env = {"TRMON_CONFIG": str(tmp_path / "gone.toml")}
    done = cli("report", str(farm), "--json", home=tmp_path, env=env)
    assert done.returncode == 2 and "gone.toml: not found" in done.stderr
    done = cli("report", str(farm), "--json", home=tmp_path)  # no default file: no config
    assert done.returncode == 0, done.stderr


def test_files_and_rules_from_the_config(tmp_path, farm):
    config = tmp_path / "farm.toml"
    config.write_text(f'[files]\nlab1 = "{farm}"\n\n[[failures.rule]]\n'
                      'match = "^(Flash|USB)"\ncategory = "flash-usb"\n')
    plain = json.loads(cli("report", str(farm), "--json", "--now", "1790000000",
                           home=tmp_path).stdout)
    done = cli("report", "--config", str(config), "--json", "--now", "1790000000",
               home=tmp_path)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert list(got["files"]) == ["lab1"] and got["files"]["lab1"]["path"] == str(farm)
    categories = got["all"]["failures"]["categories"]
    assert list(categories) == ["flash-usb", "infra", "test"] and categories["flash-usb"] > 0
    assert sum(categories.values()) == got["all"]["errors"] == plain["all"]["errors"]
    assert plain["all"]["failures"]["categories"]["infra"] > categories["infra"]
    # $TRMON_CONFIG, then the default path, give the same
    for env, home in (({"TRMON_CONFIG": str(config)}, tmp_path), ({}, _home_with(tmp_path,
                                                                                config))):
        again = cli("report", "--json", "--now", "1790000000", home=home, env=env)
        assert again.returncode == 0 and json.loads(again.stdout)["all"] == got["all"]
    # a FILE on the command line wins over [files]
    direct = json.loads(cli("report", "--config", str(config), str(farm), "--json",
                            "--now", "1790000000", home=tmp_path).stdout)
    assert list(direct["files"]) == ["lab"]


def _home_with(tmp_path, config):
    home = tmp_path / "home"
    (home / ".config" / "trmon-tui").mkdir(parents=True)
    (home / ".config" / "trmon-tui" / "config.toml").write_text(config.read_text())
    return home


def test_no_file_and_no_files_in_the_config_says_so(tmp_path):
    config = tmp_path / "rules.toml"
    config.write_text('[[failures.rule]]\nmatch = "x"\ncategory = "x"\n')
    for command in (["report"], ["exporter"], []):
        done = cli(*command, "--config", str(config), home=tmp_path)
        assert done.returncode == 2 and "[files]" in done.stderr and "Traceback" not in \
            done.stderr


def test_parse_keeps_order_and_is_empty_without_a_file(tmp_path, monkeypatch):
    got = parse(b'[files]\nb = "/b.h5"\na = "/a.h5"\n[[failures.rule]]\nmatch = "1"\n'
                b'category = "one"\n[[failures.rule]]\nmatch = "2"\ncategory = "two"\n', "c")
    assert list(got.files) == ["b", "a"] and got.sources() == ["b=/b.h5", "a=/a.h5"]
    assert [(r.match, r.category) for r in got.rules] == [("1", "one"), ("2", "two")]
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load(None, {}) == Config()
    with pytest.raises(ConfigError, match=r"^c:2: bad regular expression"):
        parse(b'[[failures.rule]]\nmatch = "["\ncategory = "x"\n', "c")
