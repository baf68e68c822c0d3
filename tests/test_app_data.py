"""Deterministic farm data for the app's Pilot and snapshot tests (helpers + a self-check).

The data are hand-rolled (not demo.generator) so the snapshots depend only on this file: a seeded
RNG, fixed times ending at NOW, and hostile strings (markup, an escape sequence) to prove that
file strings are shown literally.
"""

from __future__ import annotations

import asyncio

import numpy as np

NOW = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: the fixed clock of the tests
GROUPS = ("aava", "n900", "tablet")
REQUESTORS = ("anna@farm.example", "[red]x[/]", "bob@farm.example", "esc\x1b[2Jape@farm")


def farm_events(n_runs: int = 40, seed: int = 7, end: float = NOW) -> list[dict]:
    """Events of ``n_runs`` testruns requested over the 6 hours before ``end``.

    The last runs are still running or queued at ``end``; every 7th run ends in an error."""
    rng = np.random.default_rng(seed)
    events: list[dict] = []
    start = end - 6 * 3600
    for i in range(n_runs):
        tid = f"tr-{i:04d}"
        t = start + i * (6 * 3600 - 900) / n_runs
        group = GROUPS[i % len(GROUPS)]
        request = {"testrun_id": tid, "event": "request", "emit": t, "received": t + 0.2,
                   "device_group": group, "queue": "release", "configuration": f"img-{i % 4}",
                   "requestor": REQUESTORS[i % len(REQUESTORS)], "request_id": f"req-{i}",
                   "hosts": [[f"{group}-worker{i % 3 + 1}", i % 2 + 1]]}
        wait = rng.integers(60, 900) if i < n_runs - 2 else 7200  # the last two stay queued
        steps = [("queue_start", 60 + rng.integers(0, 60)), ("queue_end", wait)]
        for _ in range(1 + (i % 5 == 0)):
            steps += [("flash_start", 5), ("flash_end", rng.integers(400, 900))]
        steps += [("boot_start", 5), ("boot_end", rng.integers(200, 500)),
                  ("test_start", 5), ("test_end", rng.integers(900, 1800))]
        steps += [("error", 30)] if i % 7 == 3 else [("publish", rng.integers(180, 400))]
        events.append(request)
        for name, gap in steps:
            t += float(gap)
            if t > end:
                break  # still running (or queued) at the end of the history
            event = {"testrun_id": tid, "event": name, "emit": t, "received": t + 0.2}
            if name == "error":
                event["error"] = "FlashError: [bold]device[/] did not answer"
            events.append(event)
    events.sort(key=lambda e: e["received"])
    return events


def write_farm(path, n_runs: int = 40, seed: int = 7, end: float = NOW) -> int:
    """Write the farm to ``path`` with the real EventWriter; returns the number of events."""
    from store.writer import EventWriter

    events = farm_events(n_runs, seed, end)
    with EventWriter(str(path)) as writer:
        for event in events:
            writer.write(event)
    return len(events)


async def wait_for(pilot, condition, timeout: float = 15.0, step: float = 0.05) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(step)


def loaded(app, events: int):
    """Condition: the app's latest snapshot counts ``events`` events."""
    return lambda: app.snapshot is not None and app.snapshot.counts.get("events") == events


def test_farm_is_deterministic():
    a, b = farm_events(), farm_events()
    assert a == b
    names = {e["event"] for e in a}
    assert {"request", "publish", "error", "flash_start"} <= names
    assert sum(e["event"] == "request" for e in a) == 40
