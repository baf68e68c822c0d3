"""Screens pushed over the monitor: help, testrun and host detail, device group selector,
files."""

from trmon_tui.screens.files import FilesScreen
from trmon_tui.screens.group import GroupScreen
from trmon_tui.screens.host import HostScreen
from trmon_tui.screens.testrun import TestrunScreen

__all__ = ["FilesScreen", "GroupScreen", "HelpScreen", "HostScreen", "TestrunScreen"]


def __getattr__(name: str):
    # Markdown costs a tenth of the monitor's start-up: the help screen is imported when used.
    if name == "HelpScreen":
        from trmon_tui.screens.help import HelpScreen

        return HelpScreen
    raise AttributeError(name)
