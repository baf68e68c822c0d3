"""What a snapshot holds besides the file's state: the statistics the visible pane shows.

Only the visible pane's data is computed (a summary of a million testruns costs a quarter of a
second); a failed query leaves its value None and says why, and never blanks the others.  The
one exception is what the alerts watch (bad hosts, starved groups, over the whole file), in
every snapshot: 11 ms at 200,000 testruns, a quarter of the overview's summary (on a large
file it is computed in a thread of its own beside the pane's queries: ALERTS_BESIDE).
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from trmon_tui.model import (
    EVENTS_SHOWN,
    HOST_TESTRUNS,
    LIST_LIMIT,
    TYPE_TESTRUNS,
    WINDOWS,
    Alerts,
    EventRow,
    ViewState,
)

ALERTS_BESIDE = 200_000
"""From this many testruns the alerts (and the statistics pane's samples) are computed beside
the pane's other queries (numpy releases the GIL: on two cores ~40 ms less per snapshot of a
million testruns; below, a thread costs more than it saves)."""


def pane_data(engine: Any, view: ViewState, now: float) -> tuple[dict[str, Any], list[str]]:
    """(Snapshot fields, errors) for ``view`` from a StatsEngine."""
    q = {"since": view.since_at(now), "group": view.group, "now": now}
    errors: list[str] = []

    def ask(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one failed query must not blank the rest
            errors.append(describe_error(exc))
            return None

    values: dict[str, Any] = {"counts": ask(engine.counts) or {},
                              "groups": tuple(ask(engine.groups) or ())}

    def beside() -> dict[str, Any]:
        out = {"alerts": ask(lambda: alerts(engine, now))}
        if view.tab == "statistics":  # the histogram's (a sample per testrun: 20 ms at 1M)
            out["samples"] = ask(lambda: engine.samples(view.phase, ordered=False, **q))
        return out

    # Both queries above waited for the engine's helper threads (and only this thread applies
    # batches), so the state stays as it is while another thread reads it beside this one.
    side = _Beside(beside, values["counts"].get("testruns", 0) >= ALERTS_BESIDE)
    if view.tab in ("overview", "statistics"):
        # No pane shows delivery delays (`report` does): skipping them saves a third; the
        # hosts and failures panes ask hosts() and failures() themselves (the hosts are a
        # third of the rest at a million testruns).
        values["summary"] = ask(lambda: engine.summary(**q, delivery_delay=False, hosts=False,
                                                       failures=False))
    if view.tab == "testruns":
        for status in ("ongoing", "queued"):
            rows = ask(lambda status=status: engine.testruns(status, limit=LIST_LIMIT,
                                                             order=view.order, **q))
            values[status] = None if rows is None else tuple(rows)
    if view.tab == "chart":
        values["segments"] = ask(lambda: engine.segments(
            offset=view.chart_offset, limit=view.chart_limit, **q))
    values.update(insight_data(engine, view, now, values.get("summary"), q, ask))
    values.update(failure_data(engine, view, q, ask))
    values.update(side.result())
    return values, errors


class _Beside:
    """``fn()`` in a thread of its own from now on (``beside``), else when its result is
    asked for."""

    def __init__(self, fn: Callable[[], Any], beside: bool) -> None:
        self._fn, self._value = fn, None
        self._thread = threading.Thread(target=self._run, name="trmon-alerts", daemon=True) \
            if beside else None
        if self._thread is not None:
            self._thread.start()

    def _run(self) -> None:
        self._value = self._fn()

    def result(self) -> Any:
        if self._thread is None:
            return self._fn()
        self._thread.join()
        return self._value


def failure_data(engine: Any, view: ViewState, q: dict,
                 ask: Callable[[Callable[[], Any]], Any]) -> dict[str, Any]:
    """The failures pane's data, and its detail screens' rows while one is open."""
    out: dict[str, Any] = {}
    if view.tab != "failures":
        return out
    out["failures"] = ask(lambda: engine.failures(**q))
    if view.error_type is not None:
        out["type_testruns"] = _tuple(ask(lambda: engine.error_testruns(
            limit=TYPE_TESTRUNS, type=view.error_type, **q)))
    if view.configuration is not None:
        out["configuration_hosts"] = _tuple(ask(lambda: engine.configuration_hosts(
            view.configuration, **q)))
    return out


def alerts(engine: Any, now: float) -> Alerts:
    """The bad hosts and starved groups of the whole file (store.stats.alerts)."""
    from store.stats.alerts import alert_state

    bad, starved = alert_state(engine, now)
    return Alerts(frozenset(bad), frozenset(starved))


def insight_data(engine: Any, view: ViewState, now: float, summary: dict | None, q: dict,
                 ask: Callable[[Callable[[], Any]], Any]) -> dict[str, Any]:
    """The operator-insight fields: the hosts and trends panes' data when one is visible, and
    the status bar's overdue count (taken from the summary when the pane has one: free)."""
    from store.stats import TrendTooLong

    out: dict[str, Any] = {}
    if view.tab == "hosts" or view.host is not None:  # a host's screen opens from others too
        out["hosts"] = _tuple(ask(lambda: engine.hosts(**q)))
        if view.host is not None:
            out["host_testruns"] = _tuple(ask(lambda: engine.host_testruns(
                view.host, limit=HOST_TESTRUNS, **q)))
    if view.tab == "trends" and view.compare is not None:  # c: the comparison instead
        out["comparison"] = ask(lambda: engine.compare(WINDOWS[view.compare],
                                                       group=view.group, now=now))
    elif view.tab == "trends":
        out["trend_bucket"] = bucket = view.bucket_at(now)

        def trend() -> list[dict] | None:
            try:
                return engine.trend(bucket, **q)
            except TrendTooLong as exc:  # a sentence for the pane, not a failure
                out["trend_refused"] = str(exc)
                return None
        out["trend"] = _tuple(ask(trend))
    late = ((summary or {}).get("all") or {}).get("overdue")
    if late is None:
        late = ask(lambda: engine.overdue(**q))
    out["overdue"] = None if late is None else len(late)
    return out


def _tuple(rows: Any) -> tuple | None:
    return None if rows is None else tuple(rows)


def latest_events(events: Iterable[EventRow], view: ViewState) -> tuple[EventRow, ...]:
    """Newest first (``events`` oldest first), of the view's device group, at most
    EVENTS_SHOWN."""
    shown: list[EventRow] = []
    for row in reversed(events):  # type: ignore[call-overload]
        if view.group is None or row.group == view.group:
            shown.append(row)
            if len(shown) == EVENTS_SHOWN:
                break
    return tuple(shown)


def describe_error(exc: BaseException) -> str:
    """One line for the UI: the exception and where it came from (never a full traceback)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (in {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
