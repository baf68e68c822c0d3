"""The Textual messages between the tail loop's thread and the UI.

The loop never touches widgets: it posts these (through feed.Mailbox, which holds them until the
app runs, then ``App.post_message``, which is thread-safe).  The values they carry are in
trmon_tui.model.
"""

from __future__ import annotations

from textual.message import Message

from trmon_tui.model import FileView, Snapshot


class TestrunChosen(Message):
    """The operator picked a testrun (testruns or events pane): open its detail screen."""

    __test__ = False  # not a pytest class, despite the name

    def __init__(self, testrun_id: str, run: int | None = None) -> None:
        super().__init__()
        self.testrun_id = testrun_id
        self.run = run
        """The testrun's run index in the statistics (which file it is in: with several
        files, testrun ids are scoped by file); None: look in every file."""


class HostChosen(Message):
    """The operator picked a worker host (hosts pane): open its detail screen."""

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host


class ErrorTypeChosen(Message):
    """The operator picked an error type (failures pane): list its latest testruns."""

    def __init__(self, error_type: str) -> None:
        super().__init__()
        self.error_type = error_type


class ConfigurationChosen(Message):
    """The operator picked a configuration (failures pane): list its hosts."""

    def __init__(self, configuration: str) -> None:
        super().__init__()
        self.configuration = configuration


class SnapshotReady(Message):
    """A new snapshot; a newer one still in the queue makes this one pointless."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady)


class ReadProgress(Message):
    """While a long history is read: how far (for the status bar); the panes wait for the
    snapshot that follows."""

    def __init__(self, file: FileView, testruns: int,
                 files: tuple[FileView, ...] = ()) -> None:
        super().__init__()
        self.file = file
        self.testruns = testruns
        """Testruns met so far."""
        self.files = files or (file,)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ReadProgress)


class FileStatusChanged(Message):
    """A file's state or message changed (waiting, locked, error, live)."""

    def __init__(self, file: FileView, files: tuple[FileView, ...] = ()) -> None:
        super().__init__()
        self.file = file
        """The file that changed."""
        self.files = files or (file,)
        """Every file's state now."""


class FileReset(Message):
    """The file was replaced or truncated: everything starts over."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class TailFailed(Message):
    """Reading or applying rows failed (shown as a problem); the worker keeps going."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class TailStopped(Message):
    """The tail loop itself failed (a bug, not a bad file): it starts again in ``retry_in``
    seconds (store.follow's back-off); ``ended``: its thread ended, the app starts another."""

    def __init__(self, error: str, retry_in: float = 1.0, ended: bool = False) -> None:
        super().__init__()
        self.error = error
        self.retry_in = retry_in
        self.ended = ended


class TestrunLoaded(Message):
    """The detail of one testrun, read by the tail worker for the detail screen."""

    def __init__(self, testrun_id: str, events: tuple[dict, ...], attributes: dict,
                 error: str = "", run: int | None = None) -> None:
        super().__init__()
        self.testrun_id = testrun_id
        self.events = events
        self.attributes = attributes
        self.error = error
        self.run = run
        """As in the TestrunChosen this answers."""
