"""One id space for the rows of several event files (see store.multi).

Each file's Batch refers to that file's own tables: string ids, event codes, dense run indices and
event rows.  ``Combiner.translate`` turns it into a Batch of one combined space, as if every row
came from one file, so that one StatsEngine and one Catalog take the rows of all the files:

- strings are deduplicated by value (a host or requestor named alike in two files is one
  string); combined string 0 is "" as in every file (the "absent" id);
- event names likewise, the 11 known names keeping their codes;
- runs: each file's new runs take the next combined runs as they arrive, so testrun ids are
  scoped by file (run k of file A and run k of file B are different testruns);
- device groups: with ``prefix_groups``, each run's group is the string "LABEL/GROUP" (only the
  runs' group column: the same string used as a requestor stays as it is);
- event rows: the combined order is the delivery order, which keeps each file's events in file
  order (all the statistics need; lists over several files, such as the queued ids of "all",
  follow the delivery order).  A request or error row is delivered in the same batch as its
  event (TailReader and SeedReader both guarantee it), so its event row moves by the batch's
  offset.

Costs O(batch): one gather per id column; strings and names go through a dict once each.
"""

from __future__ import annotations

import numpy as np

from store import schema
from store.batch import Batch
from store.columns import RunColumns

STRING_COLUMNS = {"requests": ("queue", "configuration", "requestor", "hosts"),
                  "errors": ("message",)}


class _FileIds:
    """One file's ids in the combined space: string id, event code and run lookup tables."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.strings = RunColumns({"to": (np.int32, 0, ())})  # file string id -> combined
        self.codes = np.zeros(0, np.int16)  # file event code -> combined
        self.runs = RunColumns({"to": (np.int32, 0, ())})  # file run -> combined run
        self.groups: dict[int, int] = {}  # file string id of a group -> combined "LABEL/GROUP"
        self.runs_total = self.events_total = 0  # the file's sizes, as its last batch said
        self.runs_read = self.events_read = 0


class Combiner:
    """The combined string, name and run tables of several files since the last reset."""

    def __init__(self, labels: list[str], prefix_groups: bool) -> None:
        self.labels = labels
        self.prefix_groups = prefix_groups
        self.reset()

    def reset(self) -> None:
        """Forget every row (the consumer was sent a Reset)."""
        self.files = [_FileIds(label) for label in self.labels]
        self.strings: list[str] = []
        self._string_ids: dict[str, int] = {}
        self._name_ids: dict[str, int] = {}
        self.run_file = RunColumns({"file": (np.int16, 0, ())})  # combined run -> file index
        self.n_events = 0
        self._started = False

    def translate(self, index: int, batch: Batch) -> Batch:
        """File ``index``'s batch in the combined space (the batch itself is left as it is)."""
        f = self.files[index]
        new_strings: list[str] = []
        new_names: list[str] = []
        if not self._started:  # "" is id 0 and the known names keep their codes
            self._started = True
            self._intern("", new_strings)
            for name in schema.EVENT_NAMES:
                self._name(name, new_names)
        _append(f.strings, [self._intern(s, new_strings) for s in batch.new_strings])
        if batch.new_names:
            codes = [self._name(name, new_names) for name in batch.new_names]
            f.codes = np.concatenate([f.codes, np.asarray(codes, np.int16)])
        first_run = self.run_file.n
        runs = self._runs(f, index, batch.runs, new_strings)
        offset = self.n_events - batch.first_event_row
        n = len(batch)
        columns = {}
        if n:
            columns = {"run": f.runs.to[batch.column("run")],
                       "code": f.codes[batch.column("code")],
                       "emit": batch.column("emit"), "received": batch.column("received")}
        out = Batch(first_event_row=self.n_events, first_run=first_run, runs=runs,
                    requests=self._rows(f, batch.requests, "requests", offset),
                    errors=self._rows(f, batch.errors, "errors", offset),
                    new_strings=tuple(new_strings), new_names=tuple(new_names),
                    event_columns=columns or None)
        self.n_events += n
        self._totals(f, batch, out)
        return out

    def _intern(self, value: str, new: list[str]) -> int:
        sid = self._string_ids.get(value)
        if sid is None:
            sid = self._string_ids[value] = len(self.strings)
            self.strings.append(value)
            new.append(value)
        return sid

    def _name(self, name: str, new: list[str]) -> int:
        code = self._name_ids.get(name)
        if code is None:
            code = self._name_ids[name] = len(self._name_ids)
            new.append(name)
        return code

    def _runs(self, f: _FileIds, index: int, runs: np.ndarray, new_strings: list[str]):
        """The file's new run rows with combined group ids; their combined runs are taken."""
        k = len(runs)
        if k == 0:
            return runs
        first = self.run_file.n
        _append(f.runs, np.arange(first, first + k, dtype=np.int32))
        self.run_file.ensure(first + k)
        self.run_file.file[first:first + k] = index
        out = runs.copy()
        local, inverse = np.unique(runs["group"], return_inverse=True)
        lut = np.array([self._group(f, int(sid), new_strings) for sid in local.tolist()],
                       np.int32)
        out["group"] = lut[inverse]
        return out

    def _group(self, f: _FileIds, sid: int, new_strings: list[str]) -> int:
        combined = f.groups.get(sid)
        if combined is None:
            name = self.strings[f.strings.to[sid]] if 0 <= sid < f.strings.n else ""
            if self.prefix_groups:
                name = f"{f.label}/{name}"
            combined = f.groups[sid] = self._intern(name, new_strings)
        return combined

    def _rows(self, f: _FileIds, rows: np.ndarray, table: str, offset: int) -> np.ndarray:
        """Request or error rows with combined run, event row and string ids."""
        if len(rows) == 0:
            return rows
        out = rows.copy()
        out["run"] = f.runs.to[rows["run"]]
        out["event_row"] += offset
        for name in STRING_COLUMNS[table]:
            out[name] = f.strings.to[rows[name]]
        return out

    def _totals(self, f: _FileIds, batch: Batch, out: Batch) -> None:
        """The combined sizes still to come: every file's rows not yet delivered (a catching
        up consumer sizes its arrays once from them)."""
        f.runs_read += len(batch.runs)
        f.events_read += len(batch)
        f.runs_total = batch.runs_total or f.runs_total
        f.events_total = batch.events_total or f.events_total
        out.runs_total = self.run_file.n + sum(max(0, g.runs_total - g.runs_read)
                                               for g in self.files)
        out.events_total = self.n_events + sum(max(0, g.events_total - g.events_read)
                                               for g in self.files)


def _append(column: RunColumns, values) -> None:
    """Append values to a one-field RunColumns."""
    if len(values):
        start = column.n
        column.ensure(start + len(values))
        column.to[start:column.n] = values
