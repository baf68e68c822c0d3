"""One testrun's events, read straight from the file (the monitor's detail view)."""

from __future__ import annotations

import numpy as np
import tables

from store import checksummed, h5io, schema, vet
from store.batch import Batch
from store.catalog import Catalog
from store.seedfile import SeedReader, is_seed_layout


def testrun_events(path: str, testrun_id: str, *, patience: float = 10.0) -> list[dict]:
    """Every event of ``testrun_id`` as ingest-style dicts, in file order.

    Opens the file once (retrying while a writer holds the lock; raises vet.Damaged for a file
    that crashed HDF5 in the vetting child) and closes it.  In a seed file
    the same id may exist in several device groups: all of them are returned.
    """
    h5 = h5io.open_with_retry(path, "r", patience=patience)
    try:
        if schema.is_product_file(h5):
            return _product(h5, testrun_id)
        if is_seed_layout(h5):
            batch, _ = SeedReader().read(h5, max_rows=1 << 62)
            catalog = Catalog()
            catalog.apply(batch)
            return [e for e in catalog.event_dicts(batch) if e["testrun_id"] == testrun_id]
        return []
    except tables.HDF5ExtError as exc:
        if checksummed.is_checksum_error(exc):
            raise vet.Damaged(path, "rows it holds fail their checksum") from None
        vet.distrust(path)  # damage the vetting did not reach: vet it before the next open
        raise
    except Exception:
        vet.distrust(path)
        raise
    finally:
        h5.close()


def _product(h5, testrun_id: str) -> list[dict]:
    root = h5.root
    runs = root.runs.read()
    matches = np.flatnonzero(runs["testrun_id"] == testrun_id.encode())
    if not len(matches):
        return []
    run = int(matches[0])
    rows = root.events.get_where_list("run == value", condvars={"value": np.int32(run)})
    strings = tuple(v.decode("utf-8", "replace") for v in root.strings.read()["value"])
    names = tuple(v.decode("utf-8", "replace") for v in root.names.read()["name"])
    catalog = Catalog()
    catalog.apply(Batch(runs=runs, new_strings=strings, new_names=names))
    out = []
    requests = root.requests.read_where("run == value", condvars={"value": np.int32(run)})
    errors = root.errors.read_where("run == value", condvars={"value": np.int32(run)})
    for row in rows.tolist():
        events = root.events.read(row, row + 1)
        batch = Batch(first_event_row=row, events=events, first_run=len(runs),
                      requests=requests[requests["event_row"] == row],
                      errors=errors[errors["event_row"] == row])
        catalog.apply(batch)
        out.extend(catalog.event_dicts(batch))
    return out
