"""Checking events before anything is written: one event dict, or columns of many.

An event is what `trmon-tui ingest` reads (DESIGN.md "Events")::

    {"testrun_id": str, "event": str, "emit": number, "received": number (optional),
     "device_group": str, "queue": str, "configuration": str, "requestor": str,
     "request_id": str, "hosts": [[str, int], ...], "error": str}

Rules (each violation raises InvalidEvent with a sentence saying what is wrong):

- testrun_id, event, emit are required; received is stamped by the caller when absent.
- Times are finite numbers (a bool is not a number).
- Strings fit their column in UTF-8 bytes (store.schema widths) and hold no NUL character:
  too long is rejected, never truncated.  An empty or null optional field means "absent".
- queue, configuration, requestor, request_id and hosts belong to a `request`; error to an
  `error` event: elsewhere they are rejected rather than silently dropped.
- Device groups: a request must name one; an event of a testrun the file does not know yet must
  name one too (it is kept and counted as "never requested"); a testrun never changes group.
- Unknown event names are valid (registered in /names).  Unknown keys are rejected.

The group rules need to know the testruns already in the file: callers pass ``known_group``, a
function from testrun_id to its group name (or None when unknown).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from store import schema

REQUIRED = ("testrun_id", "event", "emit")
TIMES = ("emit", "received")
REQUEST_KEYS = ("queue", "configuration", "requestor", "request_id", "hosts")
STRING_KEYS = ("device_group", "queue", "configuration", "requestor", "request_id", "error")
KEYS = ("testrun_id", "event", "emit", "received", "device_group", "queue", "configuration",
        "requestor", "request_id", "hosts", "error")
# UTF-8 byte limit of each string field (the column or string-table width).
WIDTH = {
    "testrun_id": schema.TESTRUN_ID_LEN,
    "event": schema.NAME_LEN,
    "request_id": schema.REQUEST_ID_LEN,
    "device_group": schema.STRING_LEN,
    "queue": schema.STRING_LEN,
    "configuration": schema.STRING_LEN,
    "requestor": schema.STRING_LEN,
    "hosts": schema.STRING_LEN,
    "error": schema.STRING_LEN,
}

KnownGroup = Callable[[str], "str | None"]
# Vectorised form for columns: UTF-8 testrun ids (bytes array) -> (known: bool array, group
# names: str array, "" where unknown).
KnownGroups = Callable[[np.ndarray], "tuple[np.ndarray, np.ndarray]"]


class InvalidEvent(ValueError):
    """An event breaks a rule; the message says which and why (nothing was written)."""


def check_text(key: str, value: Any, *, required: bool = False) -> str:
    """Return ``value`` if it is a string that fits ``key``'s column, else raise InvalidEvent."""
    if not isinstance(value, str):
        raise InvalidEvent(f"{key} must be a string, not {_type_name(value)}")
    if required and not value:
        raise InvalidEvent(f"{key} is empty")
    if "\x00" in value:
        raise InvalidEvent(f"{key} contains a NUL character")
    if value.isascii():  # the common case: one byte a character, nothing to encode
        if len(value) > WIDTH[key]:
            raise InvalidEvent(f"{key} is {len(value)} bytes long in UTF-8; "
                               f"the limit is {WIDTH[key]}")
        return value
    try:
        size, valid = len(value.encode("utf-8")), True
    except UnicodeEncodeError:
        size, valid = len(value.encode("utf-8", "surrogatepass")), False
    if size > WIDTH[key]:
        raise InvalidEvent(f"{key} is {size} bytes long in UTF-8; the limit is {WIDTH[key]}")
    if not valid:
        raise InvalidEvent(f"{key} is not valid Unicode text (lone surrogate)")
    return value


def check_time(key: str, value: Any) -> float:
    """Return a finite time in seconds as float, else raise InvalidEvent."""
    if type(value) is float and math.isfinite(value):  # JSON's numbers: skip the ABC checks
        return value
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise InvalidEvent(f"{key} must be a number of seconds since the epoch, "
                           f"not {_type_name(value)}")
    try:
        result = float(value)
    except OverflowError:  # an integer too large for a float
        result = math.inf
    if not math.isfinite(result):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise InvalidEvent(f"{key} must be a finite number, not {shown}")
    return result


def hosts_text(value: Any) -> str:
    """Canonical JSON text of a hosts list of [host, instance] pairs; raises InvalidEvent."""
    if not isinstance(value, list | tuple):
        raise InvalidEvent(f"hosts must be a list of [host, instance] pairs, "
                           f"not {_type_name(value)}")
    pairs = []
    for i, pair in enumerate(value):
        ok = (isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str)
              and isinstance(pair[1], int) and not isinstance(pair[1], bool))
        if not ok:
            raise InvalidEvent(f"hosts[{i}] must be a [host, instance] pair of a string and an "
                               f"integer, not {json.dumps(pair, default=repr)}")
        pairs.append([pair[0], pair[1]])
    text = json.dumps(pairs, ensure_ascii=False)
    if "\x00" in text:
        raise InvalidEvent("hosts contains a NUL character")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > WIDTH["hosts"]:
        raise InvalidEvent(f"hosts is {size} bytes long as JSON; the limit is {WIDTH['hosts']}")
    return text


def normalize(event: Any, *, now: float, known_group: KnownGroup) -> tuple:
    """Validate one event dict and return it as a record tuple in KEYS order.

    Absent optional strings become "", hosts becomes its JSON text, received defaults to ``now``.
    """
    if not isinstance(event, dict):
        raise InvalidEvent(f"an event must be a JSON object, not {_type_name(event)}")
    unknown = [k for k in event if k not in KEYS]
    if unknown:
        raise InvalidEvent(f"unknown key {unknown[0]!r} (known keys: {', '.join(KEYS)})")
    for key in REQUIRED:
        if key not in event or event[key] is None:
            raise InvalidEvent(f"missing required key {key!r}")
    tid = check_text("testrun_id", event["testrun_id"], required=True)
    name = check_text("event", event["event"], required=True)
    emit = check_time("emit", event["emit"])
    received = event.get("received")
    received = now if received is None else check_time("received", received)
    fields = {}
    for key in STRING_KEYS:
        value = event.get(key)
        fields[key] = "" if value is None else check_text(key, value)
    hosts = event.get("hosts")
    hosts = "" if hosts is None else hosts_text(hosts)
    _check_placement(name, fields, hosts)
    check_group(tid, name, fields["device_group"], known_group(tid))
    return (tid, name, emit, received, fields["device_group"], fields["queue"],
            fields["configuration"], fields["requestor"], fields["request_id"], hosts,
            fields["error"])


def _check_placement(name: str, fields: dict, hosts: str) -> None:
    if name != "request":
        for key in REQUEST_KEYS:
            if (hosts if key == "hosts" else fields[key]):
                raise InvalidEvent(f"{key} belongs to a request event; this is {name!r} "
                                   f"(send it with the request)")
    if name != "error" and fields["error"]:
        raise InvalidEvent(f"error belongs to an error event; this is {name!r}")


def check_group(tid: str, name: str, group: str, known: str | None) -> None:
    """Apply the device-group rules to one event (``group`` "" = not given)."""
    if name == "request" and not group:
        raise InvalidEvent(f"request of testrun {tid!r} has no device_group")
    if not group and known is None:
        raise InvalidEvent(f"testrun {tid!r} has no known device group: send its request "
                           f"first, or give device_group")
    if group and known is not None and group != known:
        raise InvalidEvent(f"testrun {tid!r} belongs to device group {known!r}; this event "
                           f"names {group!r}")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", tuple: "a list", dict: "an object"}.get(type(value),
                                                                     type(value).__name__)


# ---------------------------------------------------------------- columns (vectorised)

def normalize_columns(cols: dict, *, now: float, known_groups: KnownGroups) -> dict:
    """Validate columns of n events at once; return them normalised (see module doc).

    Returns a dict of KEYS -> arrays: times float64, testrun_id/event/request_id as UTF-8 bytes
    arrays, other strings as numpy str arrays ("" = absent), hosts as canonical JSON str; and
    "_new_groups": {testrun id bytes: group} for testruns that known_groups did not know.
    Raises InvalidEvent naming the first bad row ("row i: reason").
    """
    unknown = [k for k in cols if k not in KEYS]
    if unknown:
        raise InvalidEvent(f"unknown column {unknown[0]!r} (known: {', '.join(KEYS)})")
    for key in REQUIRED:
        if key not in cols:
            raise InvalidEvent(f"missing required column {key!r}")
    n = len(cols["testrun_id"])
    for key, col in cols.items():
        if np.ndim(col) != 1 or len(col) != n:
            raise InvalidEvent(f"column {key!r} has shape {np.shape(col)}; expected ({n},)")
    out: dict[str, np.ndarray] = {}
    for key in TIMES:
        out[key] = _time_column(key, cols[key]) if key in cols else np.full(n, now)
    given: dict[str, np.ndarray] = {}  # key -> rows with a value, when the fast path knows
    for key in ("testrun_id", "event", "request_id"):
        out[key] = _bytes_column(key, cols.get(key), n, given, required=key != "request_id")
    for key in ("device_group", "queue", "configuration", "requestor", "error"):
        out[key] = _str_column(key, cols.get(key), n, given)
    out["hosts"] = _hosts_column(cols.get("hosts"), n)
    for key in KEYS:
        if key not in given and key not in TIMES:
            given[key] = present(out[key])
    _check_placement_columns(out, given)
    out["_new_groups"] = _check_groups_columns(out, given["device_group"], known_groups)
    return out


def _as_str_array(key: str, col: Any) -> np.ndarray:
    arr = np.asarray(col)
    if arr.dtype.kind == "O" and all(isinstance(v, str) for v in arr):
        arr = arr.astype(str)
    if arr.dtype.kind not in "US":
        raise InvalidEvent(f"column {key!r} must be a numpy str array, not {arr.dtype}")
    if arr.dtype.kind == "S":
        try:
            arr = np.char.decode(arr, "utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent(f"column {key!r} holds bytes that are not UTF-8") from None
    return arr


def _time_column(key: str, col: Any) -> np.ndarray:
    arr = np.asarray(col)
    if arr.dtype.kind not in "iuf":
        raise InvalidEvent(f"column {key!r} must be numeric seconds, not {arr.dtype}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidEvent(f"row {row}: {key} must be a finite number, not {float(arr[row])!r}")
    return arr


_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)


def unique(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like ``np.unique(arr, return_index=True, return_inverse=True)`` for str/bytes arrays.

    Sorting fixed-width strings dominates bulk writes, so rows are hashed to 64-bit integers
    (sorted ~20x faster) and the result is checked against the strings themselves; on a hash
    collision it falls back to the exact sort.  The distinct values come in hash order.
    """
    arr = np.asarray(arr)
    if len(arr) < 64 or arr.dtype.kind not in "US":
        return np.unique(arr, return_index=True, return_inverse=True)
    chars = arr.dtype.itemsize // (4 if arr.dtype.kind == "U" else 1)
    step = 2 if arr.dtype.kind == "U" else 8  # characters per 8-byte word
    padded = arr.astype(f"{arr.dtype.kind}{-(-chars // step) * step}", copy=False)
    words = np.ascontiguousarray(padded).view(np.uint64).reshape(len(arr), -1)
    hashed = np.zeros(len(arr), dtype=np.uint64)
    for column in words.T:  # a few dozen vector passes at most
        hashed = (hashed ^ column) * _HASH_MULT
    _, first, inverse = np.unique(hashed, return_index=True, return_inverse=True)
    if not np.array_equal(arr[first][inverse], arr):
        return np.unique(arr, return_index=True, return_inverse=True)
    return arr[first], first, inverse


def _unique_check(key: str, arr: np.ndarray, check) -> tuple[np.ndarray, np.ndarray]:
    """Run ``check`` on each distinct value (not each row) and name the first bad row."""
    uniq, _, inverse = unique(arr)
    for i, value in enumerate(uniq.tolist()):
        try:
            check(value)
        except InvalidEvent as exc:
            row = int(np.argmax(inverse == i))
            raise InvalidEvent(f"row {row}: {exc}") from None
    return uniq, inverse


def _char_codes(arr: np.ndarray) -> np.ndarray:
    """The code points of a str array as an (n, chars) uint32 array (a view when possible)."""
    arr = np.ascontiguousarray(arr)
    return arr.view(np.uint32).reshape(len(arr), arr.dtype.itemsize // 4)


def _ascii_present(key: str, arr: np.ndarray, *, required: bool) -> np.ndarray | None:
    """Rows holding a value, when every row of a str column is ASCII and passes check_text.

    The fast path of the column checks: a few vector passes, no per-row Python and no encoding
    (an ASCII character is one UTF-8 byte).  None sends the caller to the exact per-value
    path, which finds the bad row and words the message; so the fast path can never change
    what is accepted or what is said.
    """
    if arr.dtype.kind != "U" or not arr.dtype.itemsize:
        return None
    codes = _char_codes(arr)
    if codes.max(initial=0) >= 128:
        return None
    given = codes[:, 0] != 0
    if given.all():
        sub, sub_codes = arr, codes
    else:  # attribute columns are mostly empty: measure the rows with a value only
        sub, sub_codes = arr[given], codes[given]
    lengths = np.strings.str_len(sub)  # up to the last non-NUL character
    total = np.count_nonzero(codes)
    # Each row has at most `length` non-NUL characters and fewer exactly when a NUL is inside
    # the value; the rows starting with NUL must hold nothing at all.
    if not int(lengths.sum()) == np.count_nonzero(sub_codes) == total:
        return None
    if len(sub) and lengths.max() > WIDTH[key]:
        return None
    if required and len(sub) < len(arr):
        return None
    return given


def present(arr: np.ndarray) -> np.ndarray:
    """Rows holding a non-empty value, for str or bytes columns that passed the checks.

    Checked values hold no NUL, so a value is empty exactly when its first unit is NUL.
    """
    if not arr.dtype.itemsize or not len(arr):  # (no rows: nothing to reshape)
        return np.zeros(len(arr), dtype=bool)
    unit = np.uint32 if arr.dtype.kind == "U" else np.uint8
    return np.ascontiguousarray(arr).view(unit).reshape(len(arr), -1)[:, 0] != 0


def _bytes_column(key: str, col: Any, n: int, given: dict, *, required: bool) -> np.ndarray:
    if col is None:
        return np.zeros(n, dtype=f"S{WIDTH[key]}")
    arr = _as_str_array(key, col)
    rows = _ascii_present(key, arr, required=required)
    if rows is not None:  # ASCII: the UTF-8 bytes are the code points, one byte each
        given[key] = rows
        raw = _char_codes(arr).astype(np.uint8)
        return raw.view(f"S{raw.shape[1]}").reshape(n)  # as wide as the longest value
    uniq, inverse = _unique_check(key, arr, lambda v: check_text(key, v, required=required))
    return np.char.encode(uniq, "utf-8").astype(f"S{WIDTH[key]}")[inverse]


def _str_column(key: str, col: Any, n: int, given: dict) -> np.ndarray:
    if col is None:
        return np.full(n, "", dtype="U1")
    arr = _as_str_array(key, col)
    rows = _ascii_present(key, arr, required=False)
    if rows is not None:
        given[key] = rows
        return arr
    rows = np.flatnonzero(arr != "")  # attribute columns are mostly empty
    try:
        _unique_check(key, arr[rows], lambda v: check_text(key, v))
    except InvalidEvent as exc:
        sub_row, reason = str(exc).split(": ", 1)
        raise InvalidEvent(f"row {int(rows[int(sub_row[4:])])}: {reason}") from None
    return arr


def _hosts_column(col: Any, n: int) -> np.ndarray:
    if col is None:
        return np.full(n, "", dtype="U1")
    arr = _as_str_array("hosts", col)
    rows = np.flatnonzero(np.strings.str_len(arr) > 0)  # only requests carry hosts
    uniq, _, inverse = unique(arr[rows])
    canonical = []
    for i, text in enumerate(uniq.tolist()):
        try:
            try:
                value = json.loads(text)
            except ValueError:
                raise InvalidEvent(f"hosts is not JSON text: {text[:60]!r}") from None
            canonical.append(hosts_text(value))
        except InvalidEvent as exc:
            raise InvalidEvent(f"row {int(rows[np.argmax(inverse == i)])}: {exc}") from None
    if canonical == uniq.tolist():
        return arr  # already canonical (the generator's case): no copy
    out = np.zeros(n, dtype=np.array(canonical, dtype=str).dtype)
    out[rows] = np.array(canonical, dtype=str)[inverse]
    return out


def _check_placement_columns(out: dict, given: dict) -> None:
    is_request = out["event"] == b"request"
    for key in REQUEST_KEYS:
        bad = given[key] & ~is_request
        if bad.any():
            row = int(np.argmax(bad))
            name = out["event"][row].decode()
            raise InvalidEvent(f"row {row}: {key} belongs to a request event; this is {name!r}")
    bad = given["error"] & (out["event"] != b"error")
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidEvent(f"row {row}: error belongs to an error event; "
                           f"this is {out['event'][row].decode()!r}")


def _check_groups_columns(out: dict, given: np.ndarray,
                          known_groups: KnownGroups) -> dict[bytes, str]:
    tids, groups = out["testrun_id"], out["device_group"]
    missing = (out["event"] == b"request") & ~given
    if missing.any():
        row = int(np.argmax(missing))
        raise InvalidEvent(f"row {row}: request of testrun {tids[row].decode()!r} "
                           f"has no device_group")
    uniq, first, inverse = unique(tids)
    out["_tid_unique"] = (uniq, first, inverse)  # reused by the commit
    given = np.flatnonzero(given)
    # Fast path: the first group each testrun names, compared vectorised; anything wrong is
    # left to the exact pass below, which finds the row and words the message.
    first_row = np.full(len(uniq), -1, dtype=np.int64)
    first_row[inverse[given][::-1]] = given[::-1]  # reversed: the first naming row stays
    if np.array_equal(groups[given], groups[first_row[inverse[given]]]):
        known, known_names = known_groups(uniq)
        named = first_row >= 0
        named_group = groups[np.where(named, first_row, 0)] if len(groups) else groups
        clash = known & named & (named_group != known_names)
        if not (~known & ~named).any() and not clash.any():
            new = np.flatnonzero(~known & named)
            return dict(zip(uniq[new].tolist(), named_group[new].tolist(), strict=True))
    known, known_names = known_groups(uniq)
    known_list = [g if k else None for k, g in zip(known.tolist(), known_names.tolist(),
                                                   strict=True)]
    return _check_groups_exact(uniq, first, inverse, groups, given, known_list)


def _check_groups_exact(uniq, first, inverse, groups, given, known_list) -> dict[bytes, str]:
    """Per-testrun group rules, one testrun at a time: the first violation, worded."""
    # The group each testrun names in these rows: every row naming one must agree.
    named: dict[int, tuple[str, int]] = {}  # run -> (group, first row naming it)
    if len(given):
        pairs_u, pairs_first = np.unique(
            np.rec.fromarrays([inverse[given], groups[given]]), return_index=True)
        for (run, group), first_pair in zip(pairs_u.tolist(), pairs_first.tolist(), strict=True):
            row = int(given[first_pair])
            if run in named:
                (a, row_a), (b, row_b) = sorted([named[run], (group, row)], key=lambda p: p[1])
                raise InvalidEvent(f"row {row_b}: testrun {uniq[run].decode()!r} names device "
                                   f"group {b!r}, but {a!r} at row {row_a}")
            named[run] = (group, row)
    new_groups: dict[bytes, str] = {}
    for run in np.argsort(first, kind="stable").tolist():  # the first bad row is named
        known, group = known_list[run], named.get(run, ("", 0))[0]
        if known is None and group:
            new_groups[uniq[run].tolist()] = group
            continue
        if known is not None and (not group or group == known):
            continue
        tid = uniq[run].decode()
        if known is None and not group:
            raise InvalidEvent(f"row {int(first[run])}: testrun {tid!r} has no known device "
                               f"group: send its request first, or give device_group")
        if known is not None and group and group != known:
            row = int(given[np.argmax(inverse[given] == run)])
            raise InvalidEvent(f"row {row}: testrun {tid!r} belongs to device group {known!r}; "
                               f"this event names {group!r}")
    return new_groups
