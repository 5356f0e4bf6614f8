"""ISO 8601 timestamps: the accepted format and epoch-millisecond conversion."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

_log = logging.getLogger(__name__)

# ISO 8601 calendar date, optionally with a time (seconds and fraction optional)
# and an offset. The same text is the JSON Schema "pattern", so pydantic and the
# schema documents agree; "(?!\n)$" ends the string in both Python's re (whose $
# also matches before a final newline) and ECMA-262 regular expressions.
ISO_PATTERN = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::(?:[0-5][0-9]|60)(?:[.,][0-9]+)?)?"
    r"(?:Z|z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?)?(?!\n)$"
)
_ISO = re.compile(ISO_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# An all-digit string is an epoch-millisecond number stored as text.
_DIGITS = re.compile(r"-?[0-9]{1,16}")


def is_iso(value: object) -> bool:
    """Return whether ``value`` is an ISO 8601 timestamp string."""
    return isinstance(value, str) and _ISO.search(value) is not None


def is_epoch_text(value: str) -> bool:
    """Return whether ``value`` is an epoch-millisecond number written as digits."""
    return _DIGITS.fullmatch(value) is not None


def from_epoch_ms(ms: int | float) -> str:
    """Return epoch milliseconds as JavaScript's Date.prototype.toISOString writes them."""
    # Integer milliseconds avoid float rounding; JavaScript truncates fractions too.
    return _format(_EPOCH + timedelta(milliseconds=int(ms)))


def from_epoch_seconds(seconds: float) -> str:
    """Return epoch seconds (``time.time()``) as toISOString would write them."""
    return _format(datetime.fromtimestamp(seconds, UTC))


def now_iso() -> str:
    """Return the current time as toISOString would write it."""
    return _format(datetime.now(UTC))


def _format(moment: datetime) -> str:
    # Explicit widths: strftime's %Y does not pad years below 1000 on every libc.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )
