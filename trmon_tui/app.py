"""The live monitor app: tabs over the panes, one tail worker, keys and the command palette.

The app is thin: the worker (trmon_tui.feed) reads and computes, the panes (trmon_tui.widgets)
draw snapshots; here we only route messages, keep the ViewState and handle keys.

Looking back (DESIGN "Looking back"): ``<`` / ``>`` step the view's ``at`` one hour back /
forward, ``L`` (or a step forward that reaches now) returns to live; only ``at`` changes, so the
pane, group, window and selection stay.  Stepping past now goes live rather than stopping at
now: a view "at now" would be a frozen copy of live, easily taken for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Footer, TabbedContent, TabPane

from trmon_tui.feed import Mailbox, Started, TailLoop, fixed_clock, start_loop
from trmon_tui.messages import (
    ConfigurationChosen,
    ErrorTypeChosen,
    FileReset,
    FileStatusChanged,
    HostChosen,
    ReadProgress,
    SnapshotReady,
    TailFailed,
    TailStopped,
    TestrunChosen,
    TestrunLoaded,
)
from trmon_tui.model import TABS, WINDOWS, Alerts, Snapshot, ViewState
from trmon_tui.screens import FilesScreen, GroupScreen, HostScreen, TestrunScreen
from trmon_tui.screens.failure import ConfigurationScreen, ErrorTypeScreen
from trmon_tui.screens.palette import MonitorCommands
from trmon_tui.widgets import (
    ChartPane,
    EventsPane,
    FailuresPane,
    HostsPane,
    OverviewPane,
    StatisticsPane,
    StatusBar,
    TestrunsPane,
    TrendsPane,
)
from trmon_tui.widgets import format as fmt
from trmon_tui.widgets.deferred import Deferred
from trmon_tui.widgets.livetable import LiveTable
from trmon_tui.widgets.pane import Pane

# The tab titles fit 80 columns (79 cells with their padding): eight tabs of "Statistics",
# "Testruns" and "Time+motion" did not (the help screen names each pane in full).
TAB_TITLES = {"overview": "1 Overview", "testruns": "2 Runs", "chart": "3 Chart",
              "statistics": "4 Stats", "events": "5 Events", "hosts": "6 Hosts",
              "trends": "7 Trends", "failures": "8 Failures"}
PANES: dict[str, type[Pane]] = {"overview": OverviewPane, "testruns": TestrunsPane,
                                "chart": ChartPane, "statistics": StatisticsPane,
                                "events": EventsPane, "hosts": HostsPane, "trends": TrendsPane,
                                "failures": FailuresPane}
DETAIL_SCREENS = (HostScreen, ErrorTypeScreen, ConfigurationScreen)
"""Screens that follow the snapshots while open (the tail loop computes their rows)."""


# Actions that change what the panes show; hidden while another screen is on top of them.
PANE_ACTIONS = frozenset({"choose_group", "cycle_window", "filter", "page", "show_tab",
                          "show_files", "toggle_bucket", "step", "live", "compare"})
STEP = 3600.0
"""Seconds a step back or forward (< >) moves the time looked at."""
COMPARE_PERIODS = (None, "24h", "7d")
"""What c cycles through on the trends pane: the trend rows, then each comparison."""


class MonitorApp(App[None]):
    """trmon-tui's live monitor of one HDF5 event file, or of several as one."""

    CSS_PATH = "app.tcss"
    TITLE = "trmon-tui"
    COMMANDS = App.COMMANDS | {MonitorCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("p", "toggle_pause", "Pause", id="pause"),
        Binding("g", "choose_group", "Group", id="group"),
        # Not in the footer (full at 80 columns): the status bar says "(f)" with several files.
        Binding("f", "show_files", "Files", show=False, id="files"),
        Binding("t", "cycle_window", "Window", id="window"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("r", "reload", "Reload", id="reload"),
        Binding("h", "toggle_bucket", "Hour/day", id="bucket"),
        # Not in the footer (full at 80 columns): the help and the palette list them, the
        # trends pane's first line says "c: compare", the status bar "< > L" while looking back.
        Binding("c", "compare", "Compare", show=False, id="compare"),
        Binding("less_than_sign", "step(-1)", "Back 1h", show=False, id="step_back"),
        Binding("greater_than_sign", "step(1)", "Forward 1h", show=False, id="step_forward"),
        Binding("L", "live", "Live", show=False, id="live"),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("left_square_bracket,pageup", "page(-1)", "Newer", show=False, id="page_newer"),
        Binding("right_square_bracket,pagedown", "page(1)", "Older", show=False, id="page_older"),
        *(Binding(str(i + 1), f"show_tab('{tab}')", TAB_TITLES[tab], show=False, id=f"tab_{tab}")
          for i, tab in enumerate(TABS)),
    ]

    paused: reactive[bool] = reactive(False)

    def __init__(self, path: str | Sequence[Any], *, clock: str = "received",
                 since: float | None = None,
                 since_label: str | None = None, rolling: str | None = None,
                 group: str | None = None, poll: float | None = 1.0, watch: bool = True,
                 now: Callable[[], float] = time.time, max_rows: int = 200_000,
                 min_interval: float = 1.0, wall: Callable[[], float] | None = None,
                 started: Started | None = None, bell: bool = False,
                 rules: Sequence[Any] = (), at: float | None = None) -> None:
        super().__init__()
        self.bell_on_alert = bell
        self.alerts: Alerts | None = None
        """The bad hosts and starved groups already alerted on (None: not yet known; the
        state found when the history is read is not alerted on)."""
        self.files = path  # a path, or store.sources.Sources (several files: `[LABEL=]FILE ...`)
        self.path = path if isinstance(path, str) else path[0].path
        self.now = now
        # The status bar's "updated N s ago" is the operator's time even when the data runs on
        # a faster farm clock (the demo); tests that fix `now` fix this one with it.
        self.wall = wall or now
        self.poll = poll
        self.watch_files = watch
        self.windows = dict(WINDOWS)
        window = "all"
        if since is not None:
            window = since_label or "since"
            self.windows[window] = None
        self.fixed_since = since
        self.view = ViewState(group=group, window=window, since=since, at=at)
        if rolling is not None:  # --since 24h / 7d: the rolling window `t` cycles through
            self.view = replace(self.view, window=rolling, window_seconds=WINDOWS[rolling])
        self.snapshot: Snapshot | None = None
        self.problem = ""
        self._all_mounted = False  # the deferred panes (see _snapshot)
        if started is not None:  # a loop that commands/monitor.py started before the app
            self.mailbox, self.loop, self._tail_cancelled = started
            self.loop.set_view(self.view)
            return
        self.mailbox = Mailbox()
        self._tail_cancelled = threading.Event()
        self.loop = TailLoop(self.files, self.mailbox.post, clock=clock, now=now,
                             max_rows=max_rows, min_interval=min_interval, view=self.view,
                             wall=self.wall, rules=rules)
        self._start_tail()

    # ---- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with TabbedContent(id="tabs", initial="overview"):
            for tab in TABS:
                with TabPane(TAB_TITLES[tab], id=tab):
                    pane = PANES[tab](id=f"pane-{tab}")
                    yield pane if tab == "overview" else Deferred(pane)
        yield StatusBar(self.path, at=self.view.at, id="statusbar")
        yield Footer()

    def on_mount(self) -> None:
        self.mailbox.open(self)
        self.set_interval(1.0, self._tick)
        self._status(problem="")

    def on_unmount(self) -> None:
        self._tail_cancelled.set()

    # ---- the tail loop -------------------------------------------------------------------
    def _start_tail(self) -> None:
        """Run the tail loop in its own thread: it owns every PyTables call until the app ends
        (see trmon_tui.feed)."""
        start_loop(self.loop, self._tail_cancelled, self.mailbox.post, poll=self.poll,
                   watch=self.watch_files)

    @on(TailStopped)
    def _tail_stopped(self, message: TailStopped) -> None:
        """The one place a failure of the loop itself ends up: shown; it restarts itself
        (store.follow), or the app starts a new one if its thread ended."""
        self._problem(f"reader stopped ({message.error}); restarting in "
                      f"{message.retry_in:.0f}s")
        if message.ended:
            self.set_timer(message.retry_in, self._restart)

    def _restart(self) -> None:
        self.loop = TailLoop(self.files, self.mailbox.post, clock=self.loop.clock, now=self.now,
                             max_rows=self.loop.max_rows, min_interval=self.loop.min_interval,
                             view=self.view, wall=self.wall, rules=self.loop.rules)
        self._start_tail()

    # ---- worker messages -----------------------------------------------------------------
    @on(SnapshotReady)
    def _snapshot(self, message: SnapshotReady) -> None:
        self.snapshot = message.snapshot
        for error in message.snapshot.errors:
            self._problem(f"statistics query failed: {error}")
        if not self.paused:
            self._show(message.snapshot)
        if isinstance(self.screen, FilesScreen) and message.snapshot.files:
            self.screen.show(message.snapshot.files)
        self._alert(message.snapshot)
        view = message.snapshot.view
        if (view.host, view.error_type, view.configuration) != (None, None, None):
            self._show_details(message.snapshot)
        if not message.snapshot.file.loading and not self._all_mounted:
            self._all_mounted = True  # the files are read: the other panes, after this paint
            self.call_after_refresh(self._mount_panes, *TABS)

    @on(FileStatusChanged)
    def _file_status(self, message: FileStatusChanged) -> None:
        self._status(files=message.files)
        file = message.file
        if file.state != "live" and file.message:
            severity = "error" if file.state == "error" else "warning"
            name = f"{file.label}: " if len(message.files) > 1 else ""
            self._notify(file.message, f"{name}file {file.state}", severity, 8)

    @on(ReadProgress)
    def _progress(self, message: ReadProgress) -> None:
        self._status(progress=message)

    @on(FileReset)
    def _file_reset(self, message: FileReset) -> None:
        self.alerts = None  # what the new file holds is its starting state, not news
        self._notify(f"{message.reason} — statistics start over", "file reset", "warning", 6)

    @on(TailFailed)
    def _tail_failed(self, message: TailFailed) -> None:
        self._problem(message.error)

    @on(TestrunLoaded)
    def _testrun_loaded(self, message: TestrunLoaded) -> None:
        screen = self.screen
        if isinstance(screen, TestrunScreen) and \
                (screen.testrun_id, screen.run) == (message.testrun_id, message.run):
            screen.show(message)

    def _problem(self, text: str) -> None:
        if text != self.problem:
            self._notify(text, "problem", "error", 10)
        self.problem = text
        self._status(problem=text)

    def _notify(self, text: str, title: str, severity: str, timeout: float) -> None:
        """A toast whose text may hold strings from the files (paths, labels, messages): shown
        literally, neither markup (markup=False) nor terminal escapes (format.clean)."""
        self.notify(fmt.clean(text), title=fmt.clean(title), severity=severity,
                    timeout=timeout, markup=False)

    # ---- drawing -------------------------------------------------------------------------
    def _show(self, snapshot: Snapshot) -> None:
        self._status(snapshot=snapshot)
        pane = self._pane(self.view.tab)
        if pane is None:
            return
        try:
            pane.show(snapshot)
        except Exception as exc:  # noqa: BLE001 - odd data must not take the monitor down
            self._problem(f"could not draw {self.view.tab}: {type(exc).__name__}: {exc}")

    async def _mount_panes(self, *tabs: str) -> None:
        """Mount the panes of ``tabs`` not mounted yet (widgets/deferred.py): a tab's when it
        is activated, every other one once the files have been read (see _snapshot)."""
        for tab in tabs:
            for placeholder in self.query(f"TabPane#{tab} > Deferred"):
                await placeholder.mount_pane()

    def _pane(self, tab: str) -> Pane | None:
        found = self.query(f"#pane-{tab}")
        return found.first() if found else None  # type: ignore[return-value]

    def _status(self, **changes) -> None:
        bars = self.query(StatusBar)
        if bars:
            bars.first().update_from(now=self.wall(), **changes)

    def _tick(self) -> None:
        self._status()

    def set_view(self, **changes) -> None:
        """Change what the worker computes; it answers with a new snapshot."""
        self.view = replace(self.view, **changes)
        self.loop.set_view(self.view)

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tab = event.pane.id or "overview"
        await self._mount_panes(tab)
        if tab != self.view.tab:
            self.set_view(tab=tab)
            self.refresh_bindings()  # h shows in the footer on the trends pane only

    @on(ChartPane.PageSizeChanged)
    def _page_size(self, message: ChartPane.PageSizeChanged) -> None:
        if message.limit != self.view.chart_limit:
            self.set_view(chart_limit=message.limit)

    @on(StatisticsPane.PhaseChosen)
    def _phase(self, message: StatisticsPane.PhaseChosen) -> None:
        if message.phase != self.view.phase:
            self.set_view(phase=message.phase)

    @on(TestrunChosen)
    def _chosen(self, message: TestrunChosen) -> None:
        self.push_screen(TestrunScreen(message.testrun_id, message.run))
        self.loop.lookup(message.testrun_id, message.run)

    @on(HostChosen)
    def _host_chosen(self, message: HostChosen) -> None:
        """The host's detail screen; the worker computes its testruns while it is open."""
        self.push_screen(HostScreen(message.host), lambda _: self.set_view(host=None))
        self.set_view(host=message.host)

    @on(ErrorTypeChosen)
    def _error_type_chosen(self, message: ErrorTypeChosen) -> None:
        """The error type's latest testruns; the worker computes them while it is open."""
        self.push_screen(ErrorTypeScreen(message.error_type),
                         lambda _: self.set_view(error_type=None))
        self.set_view(error_type=message.error_type)

    @on(ConfigurationChosen)
    def _configuration_chosen(self, message: ConfigurationChosen) -> None:
        """The configuration's hosts; the worker computes them while it is open."""
        self.push_screen(ConfigurationScreen(message.configuration),
                         lambda _: self.set_view(configuration=None))
        self.set_view(configuration=message.configuration)

    def _show_details(self, snapshot: Snapshot) -> None:
        """A detail screen (also under a testrun's) follows the snapshots, except while
        paused once it shows something."""
        for screen in self.screen_stack:
            if isinstance(screen, DETAIL_SCREENS) and not (self.paused and screen.filled):
                screen.show(snapshot)

    # ---- alerts ----------------------------------------------------------------------------
    def _alert(self, snapshot: Snapshot) -> None:
        """A toast (and with --bell the terminal bell) when a host turns bad or a device group
        becomes starved: once per change, compared with the last snapshot's state; the state
        found when the history has been read is the start, not news."""
        now = snapshot.alerts
        if snapshot.at is not None:  # looking back: nothing is news (live again: the start)
            self.alerts = None
            return
        if now is None or snapshot.file.loading:
            return
        before, self.alerts = self.alerts, now
        if before is None:
            return
        news = [(f"host {host} turned bad: 3 or more failures in a row",
                 "host bad") for host in sorted(now.bad_hosts - before.bad_hosts)]
        news += [(f"group {group} is starved: testruns wait, none runs", "group starved")
                 for group in sorted(now.starved_groups - before.starved_groups)]
        for text, title in news:
            self._notify(text, title, "error", 15)
        if news and self.bell_on_alert:
            self.bell()

    @on(TestrunsPane.SortChanged)
    def _sorted(self, message: TestrunsPane.SortChanged) -> None:
        order = "overdue" if message.sort == "overdue" else "newest"
        if order != self.view.order:
            self.set_view(order=order)

    def watch_paused(self, paused: bool) -> None:
        self.screen.set_class(paused, "-paused")
        self._status(paused=paused)
        if not paused and self.snapshot is not None:
            self._show(self.snapshot)

    # ---- actions -------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in PANE_ACTIONS and len(self.screen_stack) > 1:
            return False  # a detail, help or selector screen is on top: these act on the panes
        if action == "page":
            return self.view.tab == "chart" or None  # greyed out elsewhere
        if action == "toggle_bucket":
            return self.view.tab == "trends" and self.view.compare is None  # hidden elsewhere
        if action == "compare":
            return self.view.tab == "trends"
        return True

    def action_show_tab(self, tab: str) -> None:
        """Switch to a pane (keys 1-8), the keys going to its table (Enter, s, arrows)."""
        self.query_one(TabbedContent).active = tab
        self.call_after_refresh(self._focus_pane, tab)

    def _focus_pane(self, tab: str, tries: int = 40) -> None:
        """Focus the pane's first table, unless the pane has the focus already (the filter
        box) or the operator has moved on."""
        pane = self._pane(tab)
        if pane is None:  # still being mounted lazily
            if tries:
                self.set_timer(0.05, lambda: self._focus_pane(tab, tries - 1))
            return
        focused = self.focused
        if self.query_one(TabbedContent).active != tab or len(self.screen_stack) > 1 or \
                (focused is not None and (focused is pane or pane in focused.ancestors)):
            return
        tables = pane.query(LiveTable)
        if tables:
            tables.first().focus()

    def action_toggle_pause(self) -> None:
        """Freeze or resume the display; the worker keeps reading."""
        self.paused = not self.paused

    def action_choose_group(self) -> None:
        """Open the device group selector."""
        groups = list(self.snapshot.groups) if self.snapshot else []

        def chosen(result: tuple[str | None] | None) -> None:
            if result is not None:
                self.set_view(group=result[0], chart_offset=0)

        self.push_screen(GroupScreen(groups, self.view.group), chosen)

    def action_show_files(self) -> None:
        """List every file: its state, what was read from it, what is wrong with it."""
        files = self.snapshot.files if self.snapshot else ()
        bars = self.query(StatusBar)
        if bars and bars.first().files:  # newer states than the last snapshot's
            known = {f.label: f.testruns for f in files}
            files = tuple(replace(f, testruns=known.get(f.label, f.testruns))
                          for f in bars.first().files)
        at = None if self.snapshot is None else self.snapshot.at
        # Looking back, the files were read up to T (READ), their latest events aged to T.
        self.push_screen(FilesScreen(files, now=self.now if at is None else (lambda: at),
                                     back=at is not None))

    def action_cycle_window(self) -> None:
        """all -> 24h -> 7d (-> the --since window) -> all."""
        names = list(self.windows)
        window = names[(names.index(self.view.window) + 1) % len(names)]
        since = self.fixed_since if self.windows[window] is None and window != "all" else None
        # The trends' bucket follows the new window again (hours for 24h, days for more).
        self.set_view(window=window, window_seconds=self.windows[window], since=since,
                      chart_offset=0, trend_bucket=None)
        self.notify(f"time window: {window}", timeout=2, markup=False)

    def action_toggle_bucket(self) -> None:
        """Trends by hour or by day (h)."""
        shown = self.view.bucket_at(self.now())
        bucket = "day" if shown == "hour" else "hour"
        self.set_view(trend_bucket=bucket)
        self.notify(f"trends by {bucket}", timeout=2, markup=False)

    def action_step(self, hours: int) -> None:
        """Look at the files ``hours`` hours earlier (or later) than shown (< >); a step
        forward that reaches now returns to live (see the module)."""
        now = self.now()
        at = (now if self.view.at is None else self.view.at) + hours * STEP
        if at >= now:
            self.action_live()
            return
        self.set_view(at=at)

    def action_live(self) -> None:
        """Back to live (L): the files are read again up to their end and followed."""
        if self.view.at is None:
            self.notify("live already", timeout=2, markup=False)
            return
        self.set_view(at=None)
        self.notify("live again", timeout=2, markup=False)

    def action_compare(self) -> None:
        """Trends pane: the trend rows -> the last 24h against the 24h before -> the last 7d
        against the 7d before -> the trend rows (c)."""
        periods = list(COMPARE_PERIODS)
        compare = periods[(periods.index(self.view.compare) + 1) % len(periods)]
        self.set_view(compare=compare)
        self.refresh_bindings()  # h (by hour / day) is for the trend rows only

    def action_filter(self) -> None:
        """Go to the testruns pane and open its filter box."""
        self.action_show_tab("testruns")
        self.call_after_refresh(self._open_filter)

    def _open_filter(self) -> None:
        pane = self._pane("testruns")
        if isinstance(pane, TestrunsPane):
            pane.open_filter()
        else:  # still being mounted lazily
            self.set_timer(0.05, self._open_filter)

    def action_reload(self) -> None:
        """Forget everything and read the file again."""
        self.problem = ""
        self._status(problem="")
        self.loop.reload()

    def action_help(self) -> None:
        """Keys and panes."""
        from trmon_tui.screens import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_page(self, step: int) -> None:
        """Page the chart: -1 towards newer testruns, +1 towards older."""
        total = 0
        if self.snapshot and self.snapshot.segments:
            total = int(self.snapshot.segments.get("total", 0))
        limit = self.view.chart_limit
        last = max(0, (total - 1) // limit * limit)
        offset = min(last, max(0, self.view.chart_offset + step * limit))
        if offset != self.view.chart_offset:
            self.set_view(chart_offset=offset)


def make_app(path: str | Sequence[Any], *, clock: str = "received", since: str | None = None,
             group: str | None = None, poll: float | None = 1.0, watch: bool = True,
             now: Callable[[], float] | float = time.time, **kwargs) -> MonitorApp:
    """The monitor for ``path`` (or several files: store.sources.Sources); the CLI and the tests
    both build it here.

    ``since`` is the --since text (parsed by store.window); ``now`` is injectable so snapshot
    tests render a fixed clock; a number is --now: the time ages are measured to, fixed, while
    the status bar's "updated ... ago" keeps the wall clock; poll=None and watch=False read the
    file once (deterministic)."""
    if isinstance(now, int | float):
        now, wall = fixed_clock(float(now))
        kwargs.setdefault("wall", wall)
    since_at = None
    if since in WINDOWS and WINDOWS[since] is not None:  # 24h / 7d: a rolling window, as `t`
        return MonitorApp(path, clock=clock, rolling=since, group=group, poll=poll, watch=watch,
                          now=now, **kwargs)
    if since:
        from store.window import parse_since

        since_at = parse_since(since, now())
    return MonitorApp(path, clock=clock, since=since_at, since_label=since, group=group,
                      poll=poll, watch=watch, now=now, **kwargs)
