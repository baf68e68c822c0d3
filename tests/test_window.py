"""store.window.parse_since."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from store.window import parse_since

NOW = 1_800_000_000.0


@pytest.mark.parametrize("text, back", [("30s", 30), ("90m", 5400), ("24h", 86400),
                                        ("7d", 7 * 86400), ("2w", 14 * 86400), (" 1.5h ", 5400),
                                        ("24H", 86400)])
def test_durations(text, back):
    assert parse_since(text, NOW) == NOW - back


def test_dates_are_utc_unless_an_offset_is_given():
    day = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    assert parse_since("2026-11-01", NOW) == day
    assert parse_since("2026-11-01T08:30", NOW) == day + 8.5 * 3600
    assert parse_since("2026-11-01 08:30:00+02:00", NOW) == day + 6.5 * 3600
    assert parse_since("2026-11-01T00:00:00Z", NOW) == day


@pytest.mark.parametrize("text", ["", "yesterday", "24", "-5h", "5y", "2026-13-01", "h"])
def test_bad_input_says_what_is_accepted(text):
    with pytest.raises(ValueError, match="24h, 7d"):
        parse_since(text, NOW)
