"""An audit-trail entry's parts: the level names and ranks, and context made JSON-compatible."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from app.core.errors import InvalidInput, MigrateError

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")
RANK = {name: rank for rank, name in enumerate(LEVELS)}
_ALIASES = {"WARNING": "WARN", "FATAL": "CRITICAL"}
_MAX_DEPTH = 20


def normalize_level(level: object) -> str:
    """Return the canonical name of ``level`` (case-insensitive; ``WARNING`` is ``WARN``)."""
    if isinstance(level, str):
        name = level.strip().upper()
        name = _ALIASES.get(name, name)
        if name in RANK:
            return name
    raise InvalidInput(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}", level=level, levels=list(LEVELS))


def jsonable(value: Any, _depth: int = 0) -> Any:
    """Return ``value`` as JSON-compatible data (``repr`` for anything else)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        # NaN and infinities are not JSON: JavaScript's JSON.parse rejects them.
        return value if math.isfinite(value) else repr(value)
    if _depth >= _MAX_DEPTH:
        return repr(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item, _depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(item, _depth + 1) for item in value), key=repr)
    if isinstance(value, MigrateError):
        return value.to_dict()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return repr(value)
