"""The app's farm data (tests/conftest.py) is deterministic: the snapshots depend on it."""

from __future__ import annotations

from conftest import app_farm_events


def test_farm_is_deterministic():
    a, b = app_farm_events(), app_farm_events()
    assert a == b
    names = {e["event"] for e in a}
    assert {"request", "publish", "error", "flash_start"} <= names
    assert sum(e["event"] == "request" for e in a) == 40
