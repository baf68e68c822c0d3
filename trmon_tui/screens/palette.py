"""Command palette provider: every monitor action by name (Ctrl+P)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

COMMANDS = (
    ("Show overview", "show_tab('overview')", "Per device group totals and requestors"),
    ("Show testruns", "show_tab('testruns')", "Ongoing and queued testruns"),
    ("Show time and motion chart", "show_tab('chart')", "Stacked phases per testrun"),
    ("Show statistics", "show_tab('statistics')", "Durations per phase, histogram"),
    ("Show events", "show_tab('events')", "Latest events, newest first"),
    ("Show hosts", "show_tab('hosts')", "Worker hosts, bad and suspect first"),
    ("Show trends", "show_tab('trends')", "Testruns and errors per hour or day"),
    ("Show failures", "show_tab('failures')",
     "Failure categories, error types, configurations and their suspect hosts"),
    ("Trends: by hour / by day", "toggle_bucket", "Switch the trends' bucket (h)"),
    ("Trends: compare periods", "compare", "Last 24h, then 7d, against the one before (c)"),
    ("Look back one hour", "step(-1)", "The farm as it stood an hour earlier (<)"),
    ("Look forward one hour", "step(1)", "An hour later; reaching now is live (>)"),
    ("Back to live", "live", "Stop looking back (L)"),
    ("Pause / resume", "toggle_pause", "Freeze the display; reading goes on"),
    ("Choose device group", "choose_group", "Narrow every pane to one device group"),
    ("Show files", "show_files", "Every file read: its state, events, testruns, trouble"),
    ("Cycle time window", "cycle_window", "all · 24h · 7d"),
    ("Filter testruns", "filter", "Filter the testruns pane"),
    ("Reload from scratch", "reload", "Forget everything and read the file again"),
    ("Chart: newer page", "page(-1)", "Page the chart towards newer testruns"),
    ("Chart: older page", "page(1)", "Page the chart towards older testruns"),
    ("Help", "help", "Keys and what the panes show"),
    ("Quit", "quit", "Leave the monitor"),
)


class MonitorCommands(Provider):
    """Runs the app's actions; the same strings the key bindings use."""

    def _run(self, action: str) -> None:
        self.app.call_later(self.app.run_action, action)

    async def discover(self) -> Hits:
        for name, action, help_text in COMMANDS:
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action),
                          help=help_text)
