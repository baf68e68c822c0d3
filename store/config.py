"""The config file (DESIGN.md "The config file"): TOML, read with the standard library.

Where it is: ``--config PATH``, else ``$TRMON_CONFIG``, else ``~/.config/trmon-tui/config.toml``
when that exists (none: an empty config).  What it holds, all optional::

    [files]                    # what the monitor, `report` and `exporter` read without FILE
    lab1 = "/data/farm/events.h5"

    [[failures.rule]]          # in order; the first match wins
    match = "^(ImageError|BadImage)"   # a Python regular expression (re.search)
    category = "image"         # letters, digits, _ and -, at most 32

Anything wrong (a named file missing or unreadable, bad TOML, an unknown key, a value of the
wrong type, a bad regular expression or category name) raises ConfigError with one line that
names the file and, where there is one, the line: the commands print it and exit 2.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field

from store.stats.failures import Rule

DEFAULT_PATH = "~/.config/trmon-tui/config.toml"
ENVIRONMENT = "TRMON_CONFIG"


class ConfigError(ValueError):
    """A config file that cannot be used; the message is one line naming file and line."""


@dataclass
class Config:
    """The settings of one config file (``path`` None: there was none)."""

    path: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    """{label: path} of ``[files]``, in the file's order."""
    rules: list[Rule] = field(default_factory=list)
    """The ``[[failures.rule]]`` entries, in order."""

    def sources(self) -> list[str]:
        """``[files]`` as the command line's ``LABEL=FILE`` arguments."""
        return [f"{label}={path}" for label, path in self.files.items()]


def find(explicit: str | None, environ=None) -> tuple[str | None, bool]:
    """(the config file to read, whether it must exist): ``--config``, else $TRMON_CONFIG
    (both must exist), else the default path when it exists (else (None, False))."""
    environ = os.environ if environ is None else environ
    if explicit is not None:
        return explicit, True
    if environ.get(ENVIRONMENT):
        return environ[ENVIRONMENT], True
    default = os.path.expanduser(DEFAULT_PATH)
    return (default, False) if os.path.isfile(default) else (None, False)


def load(explicit: str | None = None, environ=None) -> Config:
    """The config of ``--config`` ``explicit`` / $TRMON_CONFIG / the default path (an empty
    Config when there is none).  Raises ConfigError."""
    path, required = find(explicit, environ)
    if path is None:
        return Config()
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        if not required:
            return Config()
        raise ConfigError(f"config file {path}: not found") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot read it ({exc.strerror})") from None
    return parse(data, path)


def parse(data: bytes, path: str) -> Config:
    """The Config in the TOML bytes ``data`` of file ``path``.  Raises ConfigError."""
    try:
        text = data.decode("utf-8")
        doc = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc).splitlines()[0] if str(exc) else "bad TOML"
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        if found:
            message = message.replace(found.group(0), "").strip()
            raise ConfigError(f"{path}:{found.group(1)}: bad TOML: {message}") from None
        raise ConfigError(f"{path}: bad TOML: {message}") from None
    lines = _Lines(text)

    def fail(reason: str, key: str | None, table: str = "", nth: int = 0):
        line = lines.of(key, table, nth)
        where = f"{path}:{line}" if line else path
        raise ConfigError(f"{where}: {reason}")

    config = Config(path=path)
    for key in doc:
        if key not in ("files", "failures"):
            fail(f"unknown key {key!r} (known: files, failures)", key)
    files = doc.get("files", {})
    if not isinstance(files, dict):
        fail("files must be a table of LABEL = \"PATH\"", "files")
    for label, value in files.items():
        if not isinstance(value, str) or not value:
            fail(f"files.{label} must be a path in quotes", label, "files")
        if not label or "=" in label or "/" in label:
            fail(f"files: bad label {label!r} (no '=', no '/', not empty)", label, "files")
        config.files[label] = value
    failures = doc.get("failures", {})
    if not isinstance(failures, dict):
        fail("failures must be a table holding [[failures.rule]] entries", "failures")
    for key in failures:
        if key != "rule":
            fail(f"unknown key 'failures.{key}' (known: failures.rule)", key, "failures")
    rules = failures.get("rule", [])
    if not isinstance(rules, list):
        fail("failures.rule must be [[failures.rule]] entries", "rule", "failures")
    for nth, rule in enumerate(rules):
        table = "failures.rule"
        if not isinstance(rule, dict):
            fail("each failures.rule must be a table with match and category", "rule",
                 "failures")
        for key in rule:
            if key not in ("match", "category"):
                fail(f"unknown key {key!r} in [[failures.rule]] (known: match, category)",
                     key, table, nth)
        for key in ("match", "category"):
            if key not in rule:
                fail(f"[[failures.rule]] without {key}", None, table, nth)
            if not isinstance(rule[key], str):
                fail(f"{key} must be a string in quotes", key, table, nth)
        try:
            config.rules.append(Rule(rule["match"], rule["category"]))
        except re.error as exc:
            fail(f"bad regular expression {rule['match']!r}: {exc.msg}", "match", table, nth)
        except ValueError as exc:
            fail(str(exc), "category", table, nth)
    return config


class _Lines:
    """Line numbers of keys in a TOML text, for messages (tomllib gives none for valid TOML).

    Tracks the table headers ``[name]`` / ``[[name]]`` line by line; a key is found within the
    ``nth`` table of that name (0: the top level when the name is "").  Good enough for the
    plain layout DESIGN shows; for other spellings (inline tables, dotted keys) it falls back to
    the table's header line, then to the first line naming the key, else to none."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def of(self, key: str | None, table: str, nth: int) -> int | None:
        current, seen, header_line = "", {"": 0}, None
        for number, line in enumerate(self.lines, start=1):
            header = self._HEADER.match(line)
            if header:
                current = header.group(1).replace(" ", "").replace('"', "")
                seen[current] = seen.get(current, -1) + 1
                if current == table and seen[current] == nth:
                    header_line = number
                continue
            if current == table and seen.get(current) == nth and key is not None and \
                    _names_key(line, key):
                return number
        if header_line is not None:
            return header_line
        if key is not None:
            for number, line in enumerate(self.lines, start=1):
                if _names_key(line, key) or re.match(rf"^\s*\[\[?\s*{re.escape(key)}\b", line):
                    return number
        return None


def _names_key(line: str, key: str) -> bool:
    stripped = line.strip()
    for spelled in (key, f'"{key}"', f"'{key}'"):
        if stripped.startswith(spelled) and stripped[len(spelled):].lstrip().startswith("="):
            return True
    return False
