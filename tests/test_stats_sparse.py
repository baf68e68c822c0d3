"""Batches touching a few runs spread over a long history (the engine's sparse paths) give
the same answers as one cold batch (dense paths) and as event-by-event batches."""

from stats_reference import to_batches
from test_stats_hypothesis import engine_over, views

N_RUNS = 1100  # wider than 4 * batch + 1024: a late batch's runs are sparse


def _events() -> list[dict]:
    events, t = [], 100.0

    def add(i: int, name: str, lag: float = 0.25) -> None:
        nonlocal t
        t += 1.0
        e = {"testrun_id": f"tr-{i}", "event": name, "emit": t - lag, "received": t,
             "device_group": f"g{i % 3}"}
        if name == "request":
            e["requestor"] = "ann@x"
        if name == "error":
            e["error"] = "Boom"
        events.append(e)

    for i in range(N_RUNS):
        add(i, "request")
        add(i, "queue_start")
    add(7, "flash_start")  # left open across the cut below
    late = [(0, "queue_end"), (0, "flash_start"), (0, "flash_end"), (0, "flash_start"),
            (0, "flash_end"), (N_RUNS - 1, "queue_end"), (N_RUNS - 1, "boot_end"),
            (7, "flash_end"), (N_RUNS - 1, "weird"), (0, "boot_start"), (0, "boot_end"),
            (0, "test_start"), (0, "test_end"), (0, "publish"), (N_RUNS - 1, "error")]
    for i, name in late:
        add(i, name)
    return events


def test_sparse_batches_equal_cold():
    events = _events()
    cut = 2 * N_RUNS + 1
    cold = views(engine_over(events, []))
    assert views(engine_over(events, [cut])) == cold
    assert views(engine_over(events, [cut, cut + 4, cut + 9])) == cold
    assert views(engine_over(events, list(range(cut, len(events))))) == cold
    summary = cold["summary"]["all"]
    assert summary["testruns"] == N_RUNS
    assert summary["anomalies"]["ends_without_start"] == 1


def test_to_batches_helper_still_cuts_where_asked():
    assert len(to_batches(_events(), [2 * N_RUNS + 1])) == 2
