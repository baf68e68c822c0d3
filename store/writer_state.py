"""The writer's memory of the file: string ids, event codes, testrun -> run index and group.

Kept so a commit can turn validated events into rows without re-reading the file, and so the
validator can tell which device group a testrun already has.  It mirrors the file as of the last
commit (``counts``); before each commit the writer compares the file's counts and id with it and
reloads what changed (another writer may have appended in between).

Testrun ids are looked up vectorised: a sorted bytes array (searchsorted) for the bulk of the
ids plus a small dict of the ones added since the last merge, so a 1M-testrun file costs
~64 MB and a lookup of k ids O(k log n) without a per-row Python loop.
"""

from __future__ import annotations

import json

import numpy as np
import tables

from store import schema

MERGE_AT = 65536  # recent ids merged into the sorted array past this many


class FileState:
    """Interning tables and run index of one product file (by its trmon_file_id)."""

    def __init__(self) -> None:
        self.file_id = ""
        self.counts = {name: 0 for name in schema.TABLES}
        self.string_ids: dict[str, int] = {}
        self.strings: list[str] = []
        self.name_codes: dict[str, int] = {}
        self.sorted_ids = np.zeros(0, dtype=f"S{schema.TESTRUN_ID_LEN}")
        self.sorted_runs = np.zeros(0, dtype=np.int64)
        self.recent: dict[bytes, int] = {}
        self.run_group = np.zeros(0, dtype=np.int32)

    # ------------------------------------------------------------------ loading

    def sync(self, h5: tables.File) -> None:
        """Bring the state in line with an open product file (reload what changed)."""
        file_id = str(h5.root._v_attrs.trmon_file_id)
        counts = schema.row_counts(h5)
        if file_id != self.file_id or any(counts[k] < self.counts[k] for k in counts):
            self.__init__()
            self.file_id = file_id
        if counts == self.counts:
            return
        root = h5.root
        strings = root.strings.read(self.counts["strings"], counts["strings"])["value"]
        names = root.names.read(self.counts["names"], counts["names"])["name"]
        runs = root.runs.read(self.counts["runs"], counts["runs"])
        self.add_strings([s.decode("utf-8", "replace") for s in strings.tolist()])
        self.add_names([s.decode("utf-8", "replace") for s in names.tolist()])
        self.add_runs(runs["testrun_id"], runs["group"])
        self.counts = counts

    def add_strings(self, values: list[str]) -> None:
        for value in values:
            self.string_ids.setdefault(value, len(self.strings))
            self.strings.append(value)

    def add_names(self, values: list[str]) -> None:
        for value in values:
            self.name_codes.setdefault(value, len(self.name_codes))

    def add_runs(self, ids: np.ndarray, groups: np.ndarray) -> None:
        first = len(self.run_group)
        self.run_group = np.concatenate([self.run_group, groups.astype(np.int32)])
        for offset, tid in enumerate(ids.tolist()):
            self.recent.setdefault(tid, first + offset)
        if len(self.recent) > MERGE_AT:
            self._merge()

    def _merge(self) -> None:
        ids = np.array(list(self.recent.keys()), dtype=self.sorted_ids.dtype)
        runs = np.fromiter(self.recent.values(), dtype=np.int64, count=len(ids))
        # Sort only the recent ids and insert them: O(n) copying instead of re-sorting n ids.
        order = np.argsort(ids)
        ids, runs = ids[order], runs[order]
        at = np.searchsorted(self.sorted_ids, ids)
        self.sorted_ids = np.insert(self.sorted_ids, at, ids)
        self.sorted_runs = np.insert(self.sorted_runs, at, runs)
        self.recent = {}

    # ------------------------------------------------------------------ queries

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Run index of each testrun id (UTF-8 bytes array), -1 where unknown."""
        ids = np.asarray(ids, dtype=self.sorted_ids.dtype)
        out = np.full(len(ids), -1, dtype=np.int64)
        if len(self.sorted_ids):
            pos = np.searchsorted(self.sorted_ids, ids).clip(0, len(self.sorted_ids) - 1)
            hit = self.sorted_ids[pos] == ids
            out[hit] = self.sorted_runs[pos[hit]]
        if self.recent:
            miss = np.flatnonzero(out < 0)
            get = self.recent.get
            out[miss] = np.fromiter((get(t, -1) for t in ids[miss].tolist()), dtype=np.int64,
                                    count=len(miss))
        return out

    def groups_of(self, runs: np.ndarray) -> np.ndarray:
        """Group name of each run index (str array), "" where the index is -1."""
        known = runs >= 0
        gids = np.where(known, self.run_group[np.where(known, runs, 0)] if len(self.run_group)
                        else 0, -1)
        distinct, inverse = np.unique(gids, return_inverse=True)
        names = np.array([self.strings[g] if g >= 0 else "" for g in distinct.tolist()] or [""],
                         dtype=str)
        return names[inverse] if len(distinct) else np.zeros(len(runs), dtype="U1")

    def lookup_one(self, tid: bytes) -> int:
        """Run index of one testrun id, -1 when unknown."""
        run = self.recent.get(tid)
        if run is not None:
            return run
        if len(self.sorted_ids):
            pos = int(np.searchsorted(self.sorted_ids, tid))
            if pos < len(self.sorted_ids) and self.sorted_ids[pos] == tid:
                return int(self.sorted_runs[pos])
        return -1

    def group_of(self, run: int) -> str:
        return self.strings[int(self.run_group[run])]

    def commit_json(self) -> str:
        return json.dumps(self.counts)
