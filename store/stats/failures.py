"""Failure categories, error types and suspect hosts per configuration (DESIGN.md "Why it
waits, and why it fails").

Each error testrun's category and type depend only on the text of its first error (and, without
a matching rule, on whether a test_start came before that error): ``Labels`` classifies each
distinct error string once, when a query first meets it, and keeps the answer per string id,
so a query is a gather plus a few bincounts over the window's runs and (run, host) pairs, and
the regular expressions run O(new strings) times, never per testrun.  Configurations are
interned the same way.  The Fisher test (fisher.py) runs only for (configuration, host) pairs
with at least 3 errors above the expected count, and is cached per its four numbers.
"""

from __future__ import annotations

import re

import numpy as np

from store.stats.fisher import p_value, suspect_p
from store.stats.frame import distinct
from store.stats.hosts import infra_errors

NO_MESSAGE = "(no message)"
NO_CONFIGURATION = "(none)"
CATEGORY = re.compile(r"[A-Za-z0-9_-]{1,32}")
"""DESIGN's category names: letters, digits, _ and -, at most 32."""


class Rule:
    """One ``[[failures.rule]]``: the error texts ``pattern`` finds (re.search) get
    ``category``."""

    def __init__(self, match: str, category: str) -> None:
        if not CATEGORY.fullmatch(category):
            raise ValueError(f"bad category name {category!r}: letters, digits, _ and -, "
                             "at most 32")
        self.match = match
        self.pattern = re.compile(match)  # re.error on a bad expression
        self.category = category

    def __repr__(self) -> str:
        return f"Rule({self.match!r}, {self.category!r})"


def error_type(text: str) -> str:
    """DESIGN's error type: the text up to its first ":" (all of it without one), stripped;
    "(no message)" when that is empty."""
    return text.split(":", 1)[0].strip() or NO_MESSAGE


class Labels:
    """The category and type of every error string, and the name of every configuration
    string, by string id (computed once per string, when first asked for)."""

    def __init__(self, rules=()) -> None:
        self.rules = list(rules)
        self.categories: list[str] = []
        for name in [rule.category for rule in self.rules] + ["infra", "test"]:
            if name not in self.categories:
                self.categories.append(name)
        self.infra, self.test = self.categories.index("infra"), self.categories.index("test")
        self.types: list[str] = []
        self._type_id: dict[str, int] = {}
        self.configurations: list[str] = []
        self._configuration_id: dict[str, int] = {}
        # Indexed by string id + 1 (0: no string); -2: not classified yet; category -1: no
        # rule matched (infra or test, by the testrun).
        self._category = np.full(0, -2, np.int32)
        self._type = np.full(0, -2, np.int32)
        self._configuration = np.full(0, -2, np.int32)
        self._strings: list[str] | None = None

    def _follow(self, strings: list[str]) -> None:
        """Forget the per-string answers when the engine's string table is a new one (a reset:
        the file, and so its string ids, was replaced)."""
        if strings is not self._strings:
            self.__init__(self.rules)
            self._strings = strings

    def errors(self, strings: list[str], sids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rule category index or -1, type index) of the error texts ``sids``."""
        self._follow(strings)
        self._category = _grown(self._category, len(strings) + 1)
        self._type = _grown(self._type, len(strings) + 1)
        at = sids + 1  # string ids (int32): 1 + id indexes the per-string answers
        todo = distinct(at[self._category[at] == -2], len(self._category))
        if len(todo):
            # A first query meets every error text of the file (tens of thousands on a large
            # one): each answer array is written once, not element by element.
            texts = [strings[i - 1] if i > 0 else "" for i in todo.tolist()]
            self._category[todo] = [self._rule_category(text) for text in texts] \
                if self.rules else -1
            self._type[todo] = [_intern(error_type(text), self.types, self._type_id)
                                for text in texts]
        return self._category[at], self._type[at]

    def _rule_category(self, text: str) -> int:
        """Category index of the first rule whose pattern finds ``text``, else -1."""
        for rule in self.rules:
            if rule.pattern.search(text):
                return self.categories.index(rule.category)
        return -1

    def configuration(self, strings: list[str], sids: np.ndarray) -> np.ndarray:
        """Configuration index of the configuration strings ``sids`` (none or "": "(none)")."""
        self._follow(strings)
        self._configuration = _grown(self._configuration, len(strings) + 1)
        at = sids + 1  # string ids (int32): 1 + id indexes the per-string answers
        todo = distinct(at[self._configuration[at] == -2], len(self._configuration))
        for i in todo.tolist():
            text = (strings[i - 1] if i > 0 else "") or NO_CONFIGURATION
            self._configuration[i] = _intern(text, self.configurations, self._configuration_id)
        return self._configuration[at]


def _grown(a: np.ndarray, n: int) -> np.ndarray:
    if len(a) >= n:
        return a
    out = np.full(max(n, 2 * len(a)), -2, a.dtype)
    out[: len(a)] = a
    return out


def _intern(text: str, names: list[str], ids: dict[str, int]) -> int:
    i = ids.get(text)
    if i is None:
        i = ids[text] = len(names)
        names.append(text)
    return i


def _tally(keys: np.ndarray, width: int, *weights: np.ndarray):
    """(the distinct keys in [0, width), ascending; their count; the sum of each weight)."""
    if width <= 4 * len(keys) + 65536:
        counts = np.bincount(keys, minlength=width)
        present = np.flatnonzero(counts)
        sums = [np.bincount(keys, weights=w, minlength=width)[present] for w in weights]
        return present, counts[present], sums
    present, inverse = np.unique(keys, return_inverse=True)
    k = len(present)
    return present, np.bincount(inverse, minlength=k), [
        np.bincount(inverse, weights=w, minlength=k) for w in weights]


class ErrorRuns:
    """The window's error testruns with their category, type, time and group (file order)."""

    def __init__(self, f, labels: Labels) -> None:
        st, r = f.st, f.st.runs
        self.runs = np.flatnonzero(f.mask & (f.status == 3))
        rule, self.type = labels.errors(st.strings, r.error_msg[self.runs])
        infra = infra_errors(r, self.runs, np.ones(len(self.runs), bool))
        self.category = np.where(rule >= 0, rule, np.where(infra, labels.infra, labels.test))
        self.time = r.error[self.runs]
        self.group = f.gidx[self.runs].astype(np.int64)


def failures(f, labels: Labels, with_all: bool) -> tuple[list[dict], dict | None]:
    """SUMMARY "failures" of every group of the frame and, with ``with_all``, of all of
    them: {"categories": {CAT: n}, "types": [...], "configurations": [...]}."""
    ng = len(f.group_names)
    e = ErrorRuns(f, labels)
    per_group = [{"categories": {}, "types": [], "configurations": []} for _ in range(ng)]
    whole = {"categories": {}, "types": [], "configurations": []} if with_all else None
    scopes = [(g, per_group[g]) for g in range(ng)] + ([(None, whole)] if with_all else [])
    nc = len(labels.categories)
    counts = np.bincount(e.group * nc + e.category, minlength=ng * nc).reshape(ng, nc)
    for g, out in scopes:
        row = counts.sum(axis=0) if g is None else counts[g]
        out["categories"] = dict(zip(labels.categories, row.tolist(), strict=True))
    _types(f, e, labels, scopes)
    _configurations(f, e, labels, scopes)
    return per_group, whole


def _pairs_of(f, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``runs``, host) of the (run, host) pairs of these runs."""
    log = f.st.hosts.pairs
    where = np.full(f.n, -1, np.int32 if len(runs) < 2**31 else np.int64)  # half the memory
    where[runs] = np.arange(len(runs), dtype=where.dtype)
    run = log["run"]
    pos = where[run]  # one gather of the pairs (a million at a million testruns)
    del where
    keep = pos >= 0
    if keep.all():  # every pair's run is wanted (the log is not copied: read only)
        return pos, log["host"]
    at = np.flatnonzero(keep)
    return pos[at], log["host"][at]


def _types(f, e: ErrorRuns, labels: Labels, scopes) -> None:
    """Per scope: error testruns, distinct hosts and latest error time per type.  One key
    (group, type) for the runs and (group, type, host) for their pairs serves every group;
    "all" adds the groups up (a type's hosts: distinct over the groups' (type, host) keys)."""
    ng = len(f.group_names)
    nt, nh = max(len(labels.types), 1), max(len(f.st.hosts.names), 1)
    key = e.group * nt + e.type
    keys, n, _ = _tally(key, ng * nt)
    last = np.full(ng * nt, -np.inf)
    np.fmax.at(last, key, e.time)
    pos, host = _pairs_of(f, e.runs)
    pair_keys = distinct(key[pos] * nh + host, ng * nt * nh)
    per_key = np.bincount(pair_keys // nh, minlength=ng * nt)
    per_type_all = np.bincount(distinct(pair_keys % (nt * nh), nt * nh) // nh, minlength=nt)
    count_all = np.bincount(keys % nt, weights=n, minlength=nt)
    last_all = np.full(nt, -np.inf)
    np.fmax.at(last_all, keys % nt, last[keys])
    for g, out in scopes:
        if g is None:
            rows = [(t, int(count_all[t]), int(per_type_all[t]), last_all[t])
                    for t in np.flatnonzero(count_all).tolist()]
        else:
            mine = keys[(keys // nt) == g]
            rows = [(k % nt, int(c), int(per_key[k]), last[k]) for k, c in
                    zip(mine.tolist(), n[(keys // nt) == g].tolist(), strict=True)]
        out["types"] = sorted(({"type": labels.types[t], "testruns": c, "hosts": h,
                                "last": float(t_last)} for t, c, h, t_last in rows),
                              key=lambda row: (-row["testruns"], row["type"]))


def _configurations(f, e: ErrorRuns, labels: Labels, scopes) -> None:
    """Per scope: ended testruns and errors per configuration and its suspect hosts.  One key
    (group, configuration) for the runs and (group, configuration, host) for their pairs
    serves every group; "all" adds the groups' keys up."""
    st = f.st
    ng = len(f.group_names)
    ended = np.flatnonzero(f.mask & (f.status >= 2))
    cfg = labels.configuration(st.strings, st.runs.configuration[ended])
    is_error = (f.status[ended] == 3).astype(np.float64)
    ncfg, nh = max(len(labels.configurations), 1), max(len(st.hosts.names), 1)
    run_key = f.gidx[ended]  # a new int64 array (the frame's group index is int64)
    run_key *= ncfg
    run_key += cfg  # in place, and the parts let go: a million ended testruns are 8 MB each
    del cfg
    cfg_keys, cfg_n, (cfg_k,) = _tally(run_key, ng * ncfg, is_error)
    pos, host = _pairs_of(f, ended)
    key = run_key[pos]
    key *= nh
    key += host  # in place: one array of the pairs less at a time
    pair_keys, pair_n, (pair_a,) = _tally(key, ng * ncfg * nh, is_error[pos])
    del key, pos, host
    for g, out in scopes:
        if g is None:  # every group's keys, added up per configuration (and host)
            totals = _sum_by(cfg_keys % ncfg, cfg_n, cfg_k)
            pairs = _sum_by(pair_keys % (ncfg * nh), pair_n, pair_a)
        else:
            at = (cfg_keys // ncfg) == g
            totals = dict(zip((cfg_keys[at] % ncfg).tolist(), zip(
                cfg_n[at].tolist(), cfg_k[at].tolist(), strict=True), strict=True))
            at = (pair_keys // (ncfg * nh)) == g
            pairs = dict(zip((pair_keys[at] % (ncfg * nh)).tolist(), zip(
                pair_n[at].tolist(), pair_a[at].tolist(), strict=True), strict=True))
        suspects: dict[int, list[dict]] = {}
        for key, (n, a) in pairs.items():
            c, h = divmod(key, nh)
            N, K = totals[c]
            p = suspect_p(int(a), int(n), int(K), int(N))
            if p is not None:
                suspects.setdefault(c, []).append({"host": st.hosts.names[h], "ended": int(n),
                                                   "errors": int(a), "p": p})
        rows = []
        for c, (N, K) in totals.items():
            hosts = sorted(suspects.get(c, []), key=lambda s: (s["p"], s["host"]))
            rows.append({"configuration": labels.configurations[c], "ended": int(N),
                         "errors": int(K), "error_pct": 100.0 * K / N,
                         "suspect_hosts": hosts})
        rows.sort(key=lambda row: (-row["error_pct"], row["configuration"]))
        out["configurations"] = rows


def _sum_by(keys: np.ndarray, n: np.ndarray, k: np.ndarray) -> dict[int, tuple[int, int]]:
    """{key: (sum of n, sum of k)} over repeated keys."""
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums_n = np.bincount(inverse, weights=n, minlength=len(uniq)).astype(np.int64)
    sums_k = np.bincount(inverse, weights=k, minlength=len(uniq)).astype(np.int64)
    return dict(zip(uniq.tolist(), zip(sums_n.tolist(), sums_k.tolist(), strict=True),
                    strict=True))


def configuration_hosts(f, labels: Labels, configuration: str) -> list[dict]:
    """Every host with an ended testrun of ``configuration`` in the frame: {"host", "ended",
    "errors", "error_pct", "p", "suspect"}, smallest p first (then host); ``p`` is DESIGN's
    one-sided Fisher p against the other hosts on that configuration."""
    st = f.st
    ended = np.flatnonzero(f.mask & (f.status >= 2))
    cfg = labels.configuration(st.strings, st.runs.configuration[ended])
    wanted = labels._configuration_id.get(configuration)
    if wanted is None:
        return []
    ended = ended[cfg == wanted]
    is_error = (f.status[ended] == 3).astype(np.float64)
    N, K = len(ended), int(is_error.sum())
    pos, host = _pairs_of(f, ended)
    hosts, n_host, (a_host,) = _tally(host, max(len(st.hosts.names), 1), is_error[pos])
    rows = []
    for h, n, a in zip(hosts.tolist(), n_host.tolist(), a_host.tolist(), strict=True):
        a = int(a)
        rows.append({"host": st.hosts.names[h], "ended": n, "errors": a,
                     "error_pct": 100.0 * a / n, "p": p_value(a, n, K, N),
                     "suspect": suspect_p(a, n, K, N) is not None})
    rows.sort(key=lambda row: (row["p"], row["host"]))
    return rows


def error_testruns(f, labels: Labels, limit: int | None = 50, *, type: str | None = None,
                   category: str | None = None, configuration: str | None = None,
                   host: str | None = None) -> list[dict]:
    """The window's error testruns (those of one type / category / configuration / host when
    given), latest first error first (then file order, latest first), at most ``limit``:
    {"run", "testrun_id", "device_group", "hosts", "configuration", "time", "category",
    "type", "error"}."""
    st = f.st
    e = ErrorRuns(f, labels)
    keep = np.ones(len(e.runs), bool)
    if type is not None:
        keep &= e.type == labels._type_id.get(type, -1)
    if category is not None:
        keep &= e.category == (labels.categories.index(category)
                               if category in labels.categories else -1)
    cfg = labels.configuration(st.strings, st.runs.configuration[e.runs])
    if configuration is not None:
        keep &= cfg == labels._configuration_id.get(configuration, -1)
    pos, hosts = _pairs_of(f, e.runs)
    if host is not None:
        wanted = st.hosts.id_of(host)
        keep &= np.isin(np.arange(len(e.runs)), pos[hosts == (-1 if wanted is None
                                                             else wanted)])
    at = np.flatnonzero(keep)
    at = at[np.lexsort((-e.runs[at], -e.time[at]))][:limit]
    ids = st.ids.get(e.runs[at])
    out = []
    for k, i in enumerate(at.tolist()):
        run = int(e.runs[i])
        sid = int(st.runs.error_msg[run])
        out.append({
            "run": run,
            "testrun_id": ids[k],
            "device_group": f.group_names[f.gidx[run]],
            "hosts": [st.hosts.names[h] for h in hosts[pos == i].tolist()],
            "configuration": labels.configurations[cfg[i]],
            "time": float(e.time[i]),
            "category": labels.categories[e.category[i]],
            "type": labels.types[e.type[i]],
            "error": st.strings[sid] if 0 <= sid < len(st.strings) else "",
        })
    return out
