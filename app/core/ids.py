"""Record ids: numeric ids as text and stable ids derived from content."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from typing import Any

from app.core.jsonstream import RawNumber

_log = logging.getLogger(__name__)

STABLE_ID_PREFIX = "rec-"


def is_number(value: Any) -> bool:
    """Return whether ``value`` is a JSON number (bool is not)."""
    # Parsed JSON holds exact ints and floats: two type checks answer for nearly every value.
    kind = type(value)
    if kind is str or kind is int or kind is float:
        return kind is not str
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number_text(value: int | float) -> str:
    """Return a JSON number as JavaScript's String(value) writes it, for ids.

    Integral floats (17.0) read as their integer, as in JavaScript; other floats
    use Python's shortest repr, which equals JavaScript's below 1e21.
    """
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    return str(value)


def id_text(value: Any) -> Any:
    """Return a numeric id as its decimal string; any other value unchanged."""
    if is_number(value):
        return number_text(value)
    return value


def _raw_text(value: Any) -> str:
    if not isinstance(value, RawNumber):
        raise TypeError(f"{type(value).__name__} is not JSON")
    return "\x00number:" + value.text  # its own text: the same on every run


def canonical_json(value: Any) -> str:
    """Return ``value`` as canonical JSON text (sorted keys, compact, not ASCII-escaped)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_raw_text)


def stable_id(record: Any) -> str:
    """Return an id derived from ``record``'s content: the same record gives the same id on every run."""
    text = canonical_json(record)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return STABLE_ID_PREFIX + digest[:16]
