"""store.follow: the one follow loop, on a real file: every event taken once, status changes
said, a failure of the consumer retried with back-off (doubling while it fails, back to the
first delay once a catch-up succeeds), freed memory kept only while catching up."""

from __future__ import annotations

import threading
import time

from conftest import farm_events, write

import store.follow
import store.memory
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


def test_freed_memory_is_kept_while_catching_up_and_given_back_at_the_next_read(tmp_path,
                                                                                 monkeypatch):
    """store.memory: kept from the catch-up's start, handed back (and glibc's trimming set
    again) at the first read after it, once: the recompute after a catch-up reuses it."""
    calls: list[str] = []
    monkeypatch.setattr(store.memory, "keep_freed", lambda: calls.append("keep"))
    monkeypatch.setattr(store.memory, "release_freed",
                        lambda trim_again=False: calls.append(f"release {trim_again}"))

    class Noting(Recorder):
        def take(self, item) -> None:
            if not calls or calls[-1] != "take":
                calls.append("take")
            super().take(item)

        def read_done(self) -> None:
            calls.append("read_done")
            super().read_done()

    path = tmp_path / "farm.h5"
    write(path, farm_events(5))
    recorder = Noting()
    loop = _follow(path, recorder)
    try:
        assert recorder.caught_up.wait(30)
        deadline = time.monotonic() + 30
        while calls.count("read_done") < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # live polls (every 0.05 s)
    finally:
        loop.stop()
    assert calls[:4] == ["keep", "take", "read_done", "release True"]
    assert calls.count("keep") == 1 and calls.count("release True") == 1
