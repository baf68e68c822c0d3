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

import numpy as np

from store import schema
from store.batch import Batch

ATTRIBUTES = ("queue", "configuration", "requestor", "request_id", "hosts")


class Catalog:
    """Strings, names, testruns, latest request attributes and errors seen since a reset."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything (after a store.batch.Reset)."""
        self.strings: list[str] = []
        self.names: list[str] = []
        self.testrun_ids: list[str] = []
        self._groups = np.zeros(0, dtype=np.int32)
        self._first_row = np.zeros(0, dtype=np.int64)
        self._requests: dict[int, tuple] = {}  # run -> latest request row
        self._errors: dict[int, int] = {}      # run -> latest error message id
        self.events = 0

    def apply(self, batch: Batch) -> None:
        """Take in one batch (in order; call before event_dicts on it)."""
        self.strings.extend(batch.new_strings)
        self.names.extend(batch.new_names)
        self.testrun_ids.extend(v.decode("utf-8", "replace")
                                for v in batch.runs["testrun_id"].tolist())
        self._groups = np.concatenate([self._groups, batch.runs["group"].astype(np.int32)])
        grown = np.full(len(batch.runs), -1, dtype=np.int64)
        self._first_row = np.concatenate([self._first_row, grown])
        runs = batch.events["run"]
        if len(runs):
            uniq, first = np.unique(runs, return_index=True)
            unseen = self._first_row[uniq] < 0
            self._first_row[uniq[unseen]] = batch.first_event_row + first[unseen]
        for row in batch.requests.tolist():
            self._requests[row[0]] = row
        for run, _event_row, message in batch.errors.tolist():
            self._errors[run] = message
        self.events = batch.first_event_row + len(batch.events)

    # ------------------------------------------------------------------ naming

    def string(self, sid: int) -> str:
        """The string with id ``sid`` ("" when out of range)."""
        return self.strings[sid] if 0 <= sid < len(self.strings) else ""

    def name(self, code: int) -> str:
        """The event name of ``code``."""
        return self.names[code] if 0 <= code < len(self.names) else f"#{code}"

    def testrun_id(self, run: int) -> str:
        return self.testrun_ids[run]

    def device_group(self, run: int) -> str:
        return self.string(int(self._groups[run]))

    def error(self, run: int) -> str | None:
        """Latest error message of a testrun, None if it had no error event."""
        sid = self._errors.get(run)
        return None if sid is None else self.string(sid)

    def attributes(self, run: int) -> dict:
        """The testrun's device group and its latest request's attributes (absent ones left out)."""
        out = {"device_group": self.device_group(run)}
        row = self._requests.get(run)
        if row is not None:
            out.update(self._request_fields(row))
        return out

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
        first_row = self._first_row
        out = []
        for row, run, code, emit, received in zip(rows, runs, ev["code"].tolist(),
                                                  ev["emit"].tolist(), ev["received"].tolist(),
                                                  strict=True):
            event = {"testrun_id": self.testrun_ids[run],
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
