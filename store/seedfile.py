"""Reading the seed spike's layout (read-only), delivered as product-style Batches.

The spike (DESIGN.md, "Files") wrote one HDF5 group per device group, each holding a table
``events`` with columns testrun_id, ev_name, emit, received, the times integers in minutes.
This module converts that on the fly: times to seconds, the group name interned as a string,
a dense run index across groups (a testrun id is scoped by its group), event names coded as in
store.schema, and one request row per ``request`` event with empty-string attributes (string
id 0, "") so requestor counts still work.  Rows are delivered group by group (groups sorted by
name), each group's rows in file order.
"""

from __future__ import annotations

import numpy as np
import tables

from store import schema
from store.batch import Batch

SEED_COLUMNS = {"testrun_id", "ev_name", "emit", "received"}
MINUTE = 60.0


def seed_tables(h5: tables.File) -> list[tuple[str, tables.Table]]:
    """(group name, events table) of every seed-layout group, sorted by name; [] if none."""
    found = []
    for group in h5.root._f_iter_nodes("Group"):
        table = getattr(group, "events", None)
        if isinstance(table, tables.Table) and SEED_COLUMNS <= set(table.colnames):
            found.append((group._v_name, table))
    return sorted(found, key=lambda item: item[0])


def is_seed_layout(h5: tables.File) -> bool:
    """True when the open file follows the seed spike's layout."""
    return bool(seed_tables(h5))


def _text(values: np.ndarray) -> list[str]:
    if values.dtype.kind == "S":
        return [v.decode("utf-8", "replace") for v in values.tolist()]
    return [str(v) for v in values.tolist()]


class SeedReader:
    """Incremental reader of one seed file: remembers what it delivered (reset = new one)."""

    def __init__(self) -> None:
        self.delivered: dict[str, int] = {}
        self.strings: dict[str, int] = {}
        self.names: dict[str, int] = {}
        self.runs: dict[tuple[str, str], int] = {}
        self.events = 0

    def total(self, h5: tables.File) -> int:
        """Events in the file."""
        return sum(int(t.nrows) for _, t in seed_tables(h5))

    def shrank(self, h5: tables.File) -> bool:
        """True when a group lost rows or vanished since delivered (the file was rewritten)."""
        sizes = {name: int(t.nrows) for name, t in seed_tables(h5)}
        return any(sizes.get(name, 0) < n for name, n in self.delivered.items())

    def read(self, h5: tables.File, max_rows: int) -> tuple[Batch, bool]:
        """New rows of every group (at most ``max_rows`` events); returns (batch, more)."""
        new_strings: list[str] = []
        new_names: list[str] = []
        if not self.strings:
            new_strings.append("")
            self.strings[""] = schema.EMPTY_STRING_ID
        if not self.names:
            for name in schema.EVENT_NAMES:
                self.names[name] = len(self.names)
                new_names.append(name)
        parts, runs, budget, more = [], [], max_rows, False
        first_run, first_event = len(self.runs), self.events
        for group, table in seed_tables(h5):
            start = self.delivered.get(group, 0)
            stop = min(int(table.nrows), start + budget)
            if stop < table.nrows:
                more = True
            if stop <= start:
                continue
            rows = table.read(start, stop)
            budget -= stop - start
            self.delivered[group] = stop
            parts.append(self._convert(group, rows, runs, new_strings, new_names))
            if budget <= 0:
                break
        events = np.concatenate(parts) if parts else np.zeros(0, schema.EVENT_DTYPE)
        self.events += len(events)
        req = np.flatnonzero(events["code"] == schema.CODE["request"])
        requests = np.zeros(len(req), dtype=schema.REQUEST_DTYPE)
        requests["run"] = events["run"][req]
        requests["event_row"] = first_event + req
        run_rows = np.zeros(len(runs), dtype=schema.RUN_DTYPE)
        if runs:
            run_rows["testrun_id"] = [tid.encode()[:schema.TESTRUN_ID_LEN] for tid, _ in runs]
            run_rows["group"] = [g for _, g in runs]
        batch = Batch(first_event_row=first_event, events=events, first_run=first_run,
                      runs=run_rows, requests=requests, new_strings=tuple(new_strings),
                      new_names=tuple(new_names))
        return batch, more

    def _convert(self, group, rows, runs, new_strings, new_names) -> np.ndarray:
        if group not in self.strings:
            self.strings[group] = len(self.strings)
            new_strings.append(group)
        gid = self.strings[group]
        out = np.zeros(len(rows), dtype=schema.EVENT_DTYPE)
        uniq, inverse = np.unique(np.asarray(rows["testrun_id"]), return_inverse=True)
        run_ids = []
        for tid in _text(uniq):
            run = self.runs.get((group, tid))
            if run is None:
                run = self.runs[(group, tid)] = len(self.runs)
                runs.append((tid, gid))
            run_ids.append(run)
        out["run"] = np.asarray(run_ids, dtype=np.int32)[inverse]
        names, name_inv = np.unique(np.asarray(rows["ev_name"]), return_inverse=True)
        codes = []
        for name in _text(names):
            if name not in self.names:
                self.names[name] = len(self.names)
                new_names.append(name)
            codes.append(self.names[name])
        out["code"] = np.asarray(codes, dtype=np.int16)[name_inv]
        out["emit"] = np.asarray(rows["emit"], dtype=np.float64) * MINUTE
        out["received"] = np.asarray(rows["received"], dtype=np.float64) * MINUTE
        return out
