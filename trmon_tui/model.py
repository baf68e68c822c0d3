"""The monitor's data model: what the UI asks for (ViewState), what the tail loop computes for it
(Snapshot, each file's FileView), and the limits of what a pane shows.

Immutable values: the UI tells the tail loop what it wants to see through a ViewState, which the
loop reads at its next snapshot; the loop builds a fresh Snapshot each time and never mutates it
after posting (the dicts and arrays inside are owned by the snapshot).  The Textual messages that
carry them are in trmon_tui.messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TABS = ("overview", "testruns", "chart", "statistics", "events", "hosts", "trends", "failures")
WINDOWS: dict[str, float | None] = {"all": None, "24h": 86400.0, "7d": 7 * 86400.0}
EVENTS_SHOWN = 300
"""The events pane shows this many of the latest events (of the chosen device group)."""
LIST_LIMIT = 1000
"""The testruns pane lists at most this many ongoing and this many queued testruns (the newest):
a table of more is no use to read and would cost every refresh."""
HOST_TESTRUNS = 50
"""The host detail screen lists this many of the host's latest testruns."""
TYPE_TESTRUNS = 50
"""The error type screen lists this many of the type's latest testruns."""
HOURLY_UP_TO = 2 * 86400.0
"""The trends pane is by hour over a window of at most this many seconds, else by day (until
the operator chooses with h): 24 hours in 25 rows, a week or the whole history in days."""


@dataclass(frozen=True)
class EventRow:
    """One event for the events pane: its file row, its testrun's device group, the event as
    `tail` prints it."""

    row: int
    group: str
    event: dict
    run: int = -1
    """The testrun's run index (TestrunChosen.run)."""


@dataclass(frozen=True)
class ViewState:
    """What the visible pane needs from the statistics: the worker computes only that."""

    tab: str = "overview"
    group: str | None = None
    window: str = "all"
    """Label of the time window ("all", "24h", "7d", or the --since text)."""
    window_seconds: float | None = None
    """Rolling window: only testruns requested in the last so many seconds."""
    since: float | None = None
    """Fixed start (from --since with a date); used when window_seconds is None."""
    chart_offset: int = 0
    chart_limit: int = 20
    phase: str = "testrun"
    order: str = "newest"
    """Testruns pane: which testruns the engine lists first when there are more than
    LIST_LIMIT ("newest", or "overdue" while the pane is sorted by most overdue)."""
    trend_bucket: str | None = None
    """Trends pane: "hour" or "day" as chosen with h; None: by the window (see bucket_at)."""
    host: str | None = None
    """The worker host whose detail screen is open (its latest testruns are computed)."""
    at: float | None = None
    """Looking back (--at T, the keys < > L): the files as they stood at T, now = T; None:
    live."""
    compare: str | None = None
    """Trends pane: "24h" or "7d" shows the last period against the one before (the key c),
    None the trend rows."""
    error_type: str | None = None
    """The error type whose screen is open (its latest testruns are computed)."""
    configuration: str | None = None
    """The configuration whose screen is open (its hosts are computed)."""

    def since_at(self, now: float) -> float | None:
        """Start of the window as seconds since the epoch, or None for everything."""
        if self.window_seconds is not None:
            return now - self.window_seconds
        return self.since

    def bucket_at(self, now: float) -> str:
        """The trends pane's bucket: the chosen one, else by hour over a window of at most
        HOURLY_UP_TO seconds and by day over a longer one or the whole history."""
        if self.trend_bucket is not None:
            return self.trend_bucket
        since = self.since_at(now)
        return "hour" if since is not None and now - since <= HOURLY_UP_TO else "day"


@dataclass(frozen=True)
class FileView:
    """A tail reader's status, copied out of store.batch.Status, and which file it is."""

    state: str = "waiting"
    message: str = ""
    rows_read: int = 0
    rows_total: int = 0
    file_format: str = ""
    label: str = ""
    path: str = ""
    testruns: int = 0
    """Testruns read from the file (filled in snapshots only)."""
    checksums: bool = False
    """Whether the file's tables carry checksums (older files and the seed layout do not)."""
    last_event: float | None = None
    """Receive time of the latest event read from the file (None: none yet)."""

    @property
    def loading(self) -> bool:
        """True while history is still being read (for the progress bar)."""
        return self.rows_total > 0 and self.rows_read < self.rows_total


STATES = ("live", "waiting", "locked", "error")
"""A file's states, from good to bad: several files show as their worst."""


def combined(files: tuple[FileView, ...]) -> FileView:
    """Several files as one state: the worst file's, their messages (each named by its label,
    the worst first) and their rows added up.  One file is itself."""
    if len(files) == 1:
        return files[0]
    worst_first = sorted(files, key=badness, reverse=True)  # stable: ties keep their order
    messages = " · ".join(f"{f.label}: {f.message}" for f in worst_first if f.message)
    return FileView(worst_first[0].state, messages, sum(f.rows_read for f in files),
                     sum(f.rows_total for f in files), files[0].file_format,
                     f"{len(files)} files", testruns=sum(f.testruns for f in files))


def badness(file: FileView) -> int:
    """How bad a file's state is (an unknown one counts as the worst)."""
    return STATES.index(file.state) if file.state in STATES else len(STATES)


@dataclass(frozen=True)
class Alerts:
    """The states the monitor alerts on, over every testrun of every file whatever the view
    (so that changing the window or group never looks like a change of the farm)."""

    bad_hosts: frozenset[str] = frozenset()
    starved_groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Snapshot:
    """Everything the panes show, computed in the worker for one ViewState."""

    seq: int
    taken_at: float
    view: ViewState
    file: FileView
    counts: dict[str, int] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    summary: dict[str, Any] | None = None
    ongoing: tuple[dict, ...] | None = None
    queued: tuple[dict, ...] | None = None
    segments: dict[str, Any] | None = None
    samples: Any = None
    """numpy array of durations (s) of view.phase, or None when not computed."""
    events: tuple[EventRow, ...] = ()
    """The latest events of the view's device group, newest first."""
    overdue: int | None = None
    """How many testruns of the view are overdue (DESIGN "Operator insight"), for the status
    bar; None when not computed."""
    hosts: tuple[dict, ...] | None = None
    """StatsEngine.hosts rows (hosts pane), worst first."""
    host_testruns: tuple[dict, ...] | None = None
    """StatsEngine.host_testruns of view.host (its detail screen), newest first."""
    trend: tuple[dict, ...] | None = None
    """StatsEngine.trend rows (trends pane) by ``trend_bucket``, oldest first."""
    trend_bucket: str = ""
    """The bucket the trend rows are by ("hour" or "day")."""
    trend_refused: str = ""
    """Why there are no trend rows (too many buckets): the sentence to show."""
    failures: dict[str, Any] | None = None
    """The SUMMARY's "failures" of the view (failures pane), None when not computed."""
    type_testruns: tuple[dict, ...] | None = None
    """The latest testruns of view.error_type (its screen), newest first."""
    configuration_hosts: tuple[dict, ...] | None = None
    """The hosts of view.configuration (its screen), the most suspect first."""
    alerts: Alerts | None = None
    """What the alerts watch, farm-wide: the bad hosts and the starved device groups."""
    last_data_at: float | None = None
    """When the worker last received rows (wall clock of the injected now())."""
    errors: tuple[str, ...] = ()
    """Queries that failed for this snapshot (shown, never raised)."""
    files: tuple[FileView, ...] = ()
    """Each file's state (``file`` is them combined), with its testruns."""
    at: float | None = None
    """The time the data stands at while looking back (the view's ``at`` once read), None
    live."""
    comparison: dict[str, Any] | None = None
    """StatsEngine.compare of view.compare for the view's group (trends pane)."""
