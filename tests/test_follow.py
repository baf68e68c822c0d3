"""store.follow: the one follow loop, on a real file: every event taken once, status changes
said, a failure of the consumer retried with back-off (doubling while it fails, back to the
first delay once a catch-up succeeds)."""

from __future__ import annotations

import threading

from conftest import farm_events, write

import store.follow
from store.batch import Batch, Reset
from store.follow import Consumer, FollowLoop
from store.sources import Source


class Recorder(Consumer):
    """Takes what the loop reads; fails in take() while ``failures`` is above zero."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.starts = 0
        self.events = 0
        self.delays: list[float] = []
        self.states: list[str] = []
        self.caught_up = threading.Event()

    def start(self, tail) -> None:
        self.starts += 1
        self.events = 0

    def take(self, item) -> None:
        if isinstance(item, Reset):
            self.events = 0
        elif isinstance(item, Batch):
            if self.failures > 0:
                self.failures -= 1
                raise RuntimeError("a bug")
            self.events += len(item)

    def status_changed(self, index, status) -> None:
        self.states.append(status.state)

    def read_done(self) -> None:
        self.caught_up.set()

    def failed(self, error, retry_in) -> None:
        self.delays.append(retry_in)


def _follow(path, consumer: Consumer) -> FollowLoop:
    loop = FollowLoop([Source("farm", str(path))], consumer, poll=0.05, min_interval=0.05,
                      watch=False)
    threading.Thread(target=loop.run, daemon=True).start()
    return loop


def test_every_event_once_and_the_state_said(tmp_path):
    path = tmp_path / "farm.h5"
    events = farm_events(5)
    write(path, events)
    recorder = Recorder()
    loop = _follow(path, recorder)
    try:
        assert recorder.caught_up.wait(30)
        assert recorder.events == len(events) and recorder.states == ["live"]
    finally:
        loop.stop()


def test_a_failing_consumer_is_restarted_with_back_off(tmp_path, monkeypatch):
    monkeypatch.setattr(store.follow, "RETRY_FIRST", 0.01)
    path = tmp_path / "farm.h5"
    events = farm_events(6)
    write(path, events)
    recorder = Recorder(failures=3)
    loop = _follow(path, recorder)
    try:
        assert recorder.caught_up.wait(30)
        assert recorder.delays == [0.01, 0.02, 0.04]  # doubling while it fails
        assert recorder.starts == 4 and recorder.events == len(events)  # read again, once
    finally:
        loop.stop()
