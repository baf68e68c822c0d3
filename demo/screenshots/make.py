"""Write SVG screenshots of every pane from seeded demo data into demo/screenshots/.

    /work/venv/bin/python demo/screenshots/make.py [--runs 400] [--seed 1]

Uses the static generator (`trmon-tui generate`, seeded) and a clock fixed at the end of its
history, so the pictures are reproducible.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))

from trmon_tui.app import make_app  # noqa: E402

# Keys to press, and the pane shown; the 400 testruns span a day: the trends by hour (h).
PANES = (("1", "overview"), ("2", "testruns"), ("3", "chart"), ("4", "statistics"),
         ("5", "events"), ("6", "hosts"), ("7 h", "trends"), ("8", "failures"))


async def shoot(path: str, now: float, size: tuple[int, int]) -> None:
    from trmon_tui.commands.monitor import demo_rules

    app = make_app(path, now=lambda: now, poll=None, watch=False, rules=demo_rules())
    async with app.run_test(size=size) as pilot:
        for keys, tab in PANES:
            await pilot.press(*keys.split())
            for _ in range(400):  # bounded wait for the pane's snapshot
                snap = app.snapshot
                if snap is not None and snap.view.tab == tab and not snap.file.loading and (
                        tab != "statistics" or snap.samples is not None) and (
                        tab != "trends" or snap.trend_bucket == "hour") and (
                        tab != "failures" or snap.failures is not None):
                    break
                await pilot.pause(0.05)
            await pilot.pause(1.1 if tab == "trends" else 0.4)  # its chart: at most 1 Hz
            name = f"{tab}-{size[0]}x{size[1]}.svg"
            app.save_screenshot(filename=name, path=HERE)
            print("wrote", os.path.join(HERE, name))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    path = os.path.join(tempfile.mkdtemp(prefix="trmon-shots-"), "farm.h5")
    subprocess.run([sys.executable, "-m", "trmon_tui", "generate", path, "--runs",
                    str(args.runs), "--seed", str(args.seed)], check=True)
    from store.stats import StatsEngine
    from store.tail import TailReader

    # The clock stops at the last event received, so running testruns look as they did then.
    engine, reader = StatsEngine(), TailReader(path)
    last = 0.0
    for item in reader.poll().items:
        engine.apply(item)
        if len(getattr(item, "events", ())):
            last = max(last, float(item.events["received"].max()))
    for size in ((80, 24), (120, 36)):
        asyncio.run(shoot(path, last, size))


if __name__ == "__main__":
    main()
