"""Screens pushed over the monitor: help, testrun detail, device group selector."""

from trmon_tui.screens.group import GroupScreen
from trmon_tui.screens.help import HelpScreen
from trmon_tui.screens.testrun import TestrunScreen

__all__ = ["GroupScreen", "HelpScreen", "TestrunScreen"]
