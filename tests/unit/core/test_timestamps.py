"""Epoch times written as toISOString writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.core import timestamps


@pytest.mark.parametrize(
    "seconds", [0.0, 1_700_000_000.0, 1_700_000_000.123, 1.0005, 0.9999996, 328337523.3929995, -1.5, 4_102_444_800.9995]
)
def test_from_epoch_seconds_writes_what_datetime_writes(seconds):
    expected = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert timestamps.from_epoch_seconds(seconds) == expected


def test_from_epoch_seconds_agrees_with_from_epoch_ms_on_whole_milliseconds():
    # Up to 2100: further out a double no longer holds seconds to the microsecond.
    for ms in (0, 1, 999, 1_700_000_000_123, 4_102_444_800_999):
        assert timestamps.from_epoch_seconds(ms / 1000) == timestamps.from_epoch_ms(ms)
