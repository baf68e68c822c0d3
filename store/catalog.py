"""Catalog: the lookup tables a consumer builds from batches, and events back as dicts.

A consumer of store.tail (the `tail` command, the monitor's detail view) feeds every Batch to
``apply`` and every Reset to ``reset``; it can then name things (``testrun_id(run)``,
``string(id)``, ``name(code)``) and turn a batch's events back into the dicts `ingest` reads
(``event_dicts``): a request carries its device group and attributes, an error its message,
and the first event of a testrun carries its device group (the file keeps the group per testrun,
and only a testrun's first event had to name it).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from store import schema
from store.batch import Batch
from store.columns import BytesColumn, RunColumns

_NO_ROW = np.iinfo(np.int64).max
ATTRIBUTES = ("queue", "configuration", "requestor", "request_id", "hosts")


class Catalog:
    """Strings, names and testruns (id, device group, first event row) seen since a reset.

    Per-testrun facts live in numpy columns indexed by run, so taking in a batch costs time in
    proportion to the batch (a 1M-testrun history loads in seconds, not minutes of Python dicts).
    It keeps only what ``event_dicts`` needs: the monitor applies every batch of a history to
    it while catching up, so each column kept costs load time.
    """

    def __init__(self, ids: Callable[[], BytesColumn] | None = None) -> None:
        """``ids``: the column of testrun ids someone fed the same batches keeps (the monitor's
        StatsEngine: one copy of a million ids rather than two, and one copy less per batch);
        None: kept here."""
        self._shared_ids = ids
        self.reset()

    def reset(self) -> None:
        """Forget everything (after a store.batch.Reset)."""
        self.strings: list[str] = []
        self.names: list[str] = []
        self._ids = BytesColumn()
        self._runs = RunColumns({
            "group": (np.int32, schema.EMPTY_STRING_ID, ()),
            "first_row": (np.int64, _NO_ROW, ()),
        })
        self.events = 0

    @property
    def testrun_ids(self) -> list[str]:
        """Every testrun id, by run index (decodes them all: for small files and tests)."""
        return self._id_column().get(np.arange(self._runs.n))

    def apply(self, batch: Batch) -> None:
        """Take in one batch (in order; call before event_dicts on it)."""
        self.strings.extend(batch.new_strings)
        self.names.extend(batch.new_names)
        runs = self._runs
        runs.reserve(batch.runs_total)  # catching up: the file's runs at once, not by doubling
        if len(batch.runs):
            if self._shared_ids is None:
                self._ids.put(batch.first_run, batch.testrun_ids())
            runs.ensure(batch.first_run + len(batch.runs))
            runs.group[batch.first_run:runs.n] = batch.runs["group"]
        _first_rows(runs.first_row, batch.column("run"), batch.first_event_row)
        self.events = batch.first_event_row + len(batch)

    # ------------------------------------------------------------------ naming

    def string(self, sid: int) -> str:
        """The string with id ``sid`` ("" when out of range)."""
        return self.strings[sid] if 0 <= sid < len(self.strings) else ""

    def name(self, code: int) -> str:
        """The event name of ``code``."""
        return self.names[code] if 0 <= code < len(self.names) else f"#{code}"

    def testrun_id(self, run: int) -> str:
        return self._id_column().get([run])[0]

    def _id_column(self) -> BytesColumn:
        return self._ids if self._shared_ids is None else self._shared_ids()

    def device_group(self, run: int) -> str:
        return self.string(int(self._runs.group[run]))

    def _request_fields(self, row: tuple) -> dict:
        _run, _event_row, queue, configuration, requestor, hosts, request_id = row
        out = {}
        for key, sid in (("queue", queue), ("configuration", configuration),
                         ("requestor", requestor)):
            if sid != schema.EMPTY_STRING_ID:
                out[key] = self.string(sid)
        if request_id:
            out["request_id"] = request_id.decode("utf-8", "replace")
        if hosts != schema.EMPTY_STRING_ID:
            try:
                out["hosts"] = json.loads(self.string(hosts))
            except ValueError:
                out["hosts"] = self.string(hosts)
        return out

    # ------------------------------------------------------------------ events

    def event_dicts(self, batch: Batch) -> list[dict]:
        """The batch's events as ingest-style dicts, in file order."""
        ev = batch.events
        if not len(ev):
            return []
        runs = ev["run"].tolist()
        rows = range(batch.first_event_row, batch.first_event_row + len(ev))
        names = [self.name(c) for c in range(len(self.names))]
        requests = {r[1]: r for r in batch.requests.tolist()}
        errors = {r[1]: r[2] for r in batch.errors.tolist()}
        first_row = self._runs.first_row
        ids = self._id_column().get(ev["run"])  # decoded for this batch's events only
        out = []
        for row, run, testrun_id, code, emit, received in zip(
                rows, runs, ids, ev["code"].tolist(), ev["emit"].tolist(),
                ev["received"].tolist(), strict=True):
            event = {"testrun_id": testrun_id,
                     "event": names[code] if code < len(names) else f"#{code}",
                     "emit": emit, "received": received}
            if code == 0 or first_row[run] == row:
                event["device_group"] = self.device_group(run)
            request = requests.get(row)
            if request is not None:
                event.update(self._request_fields(request))
            message = errors.get(row)
            if message is not None and message != schema.EMPTY_STRING_ID:
                event["error"] = self.string(message)
            out.append(event)
        return out


def _first_rows(first_row: np.ndarray, event_runs: np.ndarray, first_event_row: int) -> None:
    """A testrun's first row is the first row naming it (rows come in file order): each run's
    first row in these events, where it has none yet.  Written in reverse order, so that each
    run's first write wins."""
    if len(event_runs) == 0:
        return
    rows = np.arange(first_event_row, first_event_row + len(event_runs))
    lo, hi = int(event_runs.min()), int(event_runs.max()) + 1
    if hi - lo <= 4 * len(event_runs) + 1024:
        # The runs of a batch are a narrow span (a history's runs are numbered as they come):
        # their first rows in an array over the span, then kept where earlier (one scatter into
        # a cache-sized array and one pass; twice as fast as gathering the rows they have).
        first = np.full(hi - lo, _NO_ROW, np.int64)
        first[(event_runs - lo)[::-1]] = rows[::-1]
        np.minimum(first_row[lo:hi], first, out=first_row[lo:hi])
        return
    unset = np.flatnonzero(first_row[event_runs] == _NO_ROW)
    first_row[event_runs[unset[::-1]]] = rows[unset[::-1]]
