"""The worker hosts of every testrun, kept by the engine as first requests arrive.

A testrun runs on the hosts of its FIRST request (DESIGN.md "Operator insight"): its ``hosts``
string, JSON text of [[host, instance], ...].  Each distinct string id is parsed once (instance
numbers ignored, each host once) into interned host ids, and each run's hosts are appended as
(run, host) pairs in file order: O(batch), and the same pairs and host ids whatever the batch
split (hosts are interned in file order of their first mention).
"""

from __future__ import annotations

import json

import numpy as np

from store.columns import SampleLog


def host_names(text: str) -> list[str]:
    """The hosts a request's ``hosts`` JSON text ([[host, instance], ...]) names, each once,
    in order; instance numbers ignored.  [] when empty, not JSON or not such a list (a foreign
    file): no host."""
    if not text:
        return []
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(value, list):
        return []
    out: list[str] = []
    for pair in value:
        if isinstance(pair, list) and pair and isinstance(pair[0], str) and pair[0] not in out:
            out.append(pair[0])
    return out


class HostIndex:
    """Host names and the (run, host) pairs of every run's first request."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._id_of: dict[str, int] = {}
        self._of_sid: dict[int, np.ndarray] = {}
        # intp / int64: the queries index and compute with them as they are (no conversion)
        self.pairs = SampleLog({"run": np.intp, "host": np.int64})

    def add(self, runs: np.ndarray, sids: np.ndarray, strings: list[str],
            expect: float = 1.0) -> None:
        """Append the pairs of ``runs`` (each run once, file order) whose first request
        carried the hosts string ``sids``."""
        sids = np.asarray(sids, np.int64)
        uniq, inverse = self._known_uniques(sids)
        if uniq is not None:  # every string parsed before: no sort, no new host ids
            parsed = [self._of_sid[sid] for sid in uniq.tolist()]
        else:
            uniq, first, inverse = np.unique(sids, return_index=True, return_inverse=True)
            parsed = [None] * len(uniq)
            for i in np.argsort(first).tolist():  # new hosts get ids in file order
                parsed[i] = self._hosts_of(int(uniq[i]), strings)
        lengths = np.array([len(p) for p in parsed], np.int64)
        width = int(lengths.max()) if len(lengths) else 0
        if width == 0:
            return
        # Each string's hosts as a row of a (strings, width) table padded with -1: a run's
        # row, read row after row without the padding, gives the (run, host) pairs in order.
        table = np.full((len(parsed), width), -1, np.int64)
        for i, ids in enumerate(parsed):
            table[i, : len(ids)] = ids
        if width == 1:
            host = table[inverse, 0]
            keep = host >= 0
            runs = np.asarray(runs)
            if keep.all():
                self.pairs.append(expect, run=runs, host=host)
            else:
                self.pairs.append(expect, run=runs[keep], host=host[keep])
            return
        hosts = table[inverse]
        keep = hosts >= 0
        self.pairs.append(expect, run=np.repeat(np.asarray(runs), lengths[inverse]),
                          host=hosts[keep])

    def _known_uniques(self, sids: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(distinct sids, index of each) without a sort when the sids are few and dense (a
        farm's hosts strings: a lookup table over their span) and all parsed before; else
        (None, None).  Catching up, np.unique's sort of every batch's sids cost more than the
        rest of the request rows' work."""
        if len(sids) == 0:
            return None, None
        lo, hi = int(sids.min()), int(sids.max()) + 1
        if hi - lo > 4 * len(sids) + 1024:
            return None, None
        uniq = np.flatnonzero(np.bincount(sids - lo, minlength=hi - lo)) + lo
        if any(sid not in self._of_sid for sid in uniq.tolist()):
            return None, None
        lut = np.zeros(hi - lo, np.intp)
        lut[uniq - lo] = np.arange(len(uniq))
        return uniq, lut[sids - lo]

    def _hosts_of(self, sid: int, strings: list[str]) -> np.ndarray:
        ids = self._of_sid.get(sid)
        if ids is None:
            text = strings[sid] if 0 <= sid < len(strings) else ""
            ids = np.array([self._intern(h) for h in host_names(text)], np.int32)
            self._of_sid[sid] = ids
        return ids

    def _intern(self, name: str) -> int:
        host = self._id_of.get(name)
        if host is None:
            host = self._id_of[name] = len(self.names)
            self.names.append(name)
        return host

    def id_of(self, name: str) -> int | None:
        return self._id_of.get(name)
