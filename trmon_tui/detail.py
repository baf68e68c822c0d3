"""One testrun's detail (the detail screen), read by the tail loop from the testrun's own file.

Testrun ids are scoped by file: with several files, the run index a pane hands over (the
testrun's row in the statistics) tells which file to read (MultiTail.file_of); store.lookup
then reads that file by the testrun's id.  Without a run index (or one from before a reset), the
first readable file that has the id answers.
"""

from __future__ import annotations

from typing import Any

from trmon_tui.messages import TestrunLoaded
from trmon_tui.panedata import describe_error


def load_testrun(tail: Any, catalog: Any, testrun_id: str, run: int | None, *,
                 at: float | None = None) -> TestrunLoaded:
    """The events and attributes of ``testrun_id`` (``run``: its run in ``catalog``, the
    store.catalog.Catalog of what ``tail``, a store.multi.MultiTail, delivered); with ``at``
    (looking back), only its events received by then."""
    from store.lookup import testrun_events

    sources = tail.sources
    if run is not None and run >= 0 and catalog.testrun_id(run) == testrun_id:
        candidates = [int(tail.file_of([run])[0])]
    else:
        candidates = [k for k, status in enumerate(tail.statuses) if status.state == "live"]
    try:
        for index in candidates:
            events = tuple(e for e in testrun_events(sources[index].path, testrun_id)
                           if at is None or e["received"] <= at)
            if events:
                label = sources[index].label if len(sources) > 1 else None
                return TestrunLoaded(testrun_id, events, attributes(events, label), run=run)
        return TestrunLoaded(testrun_id, (), {}, run=run)
    except Exception as exc:  # noqa: BLE001 - said on the detail screen
        return TestrunLoaded(testrun_id, (), {}, describe_error(exc), run=run)


def attributes(events: tuple[dict, ...], label: str | None = None) -> dict:
    """A testrun's device group (LABEL/GROUP with ``label``, as the panes name it) and the
    attributes of its latest request, from its events."""
    from store.catalog import ATTRIBUTES

    out: dict = {}
    for event in events:
        if event.get("device_group") and "device_group" not in out:
            group = event["device_group"]
            out["device_group"] = group if label is None else f"{label}/{group}"
        if event.get("event") == "request":
            out.update({key: event[key] for key in ATTRIBUTES if key in event})
    return out
