"""The monitor's panes and bars; each shows a Snapshot and never reads the store itself."""

from trmon_tui.widgets.chart import ChartPane
from trmon_tui.widgets.events import EventsPane
from trmon_tui.widgets.failures import FailuresPane
from trmon_tui.widgets.hosts import HostsPane
from trmon_tui.widgets.overview import OverviewPane
from trmon_tui.widgets.statistics import StatisticsPane
from trmon_tui.widgets.statusbar import StatusBar
from trmon_tui.widgets.testruns import TestrunsPane
from trmon_tui.widgets.trends import TrendsPane

__all__ = ["ChartPane", "EventsPane", "FailuresPane", "HostsPane", "OverviewPane", "StatisticsPane",
           "StatusBar", "TestrunsPane", "TrendsPane"]
