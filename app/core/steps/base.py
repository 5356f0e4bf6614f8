"""What every step shares: the repair note, the error of an unrepairable record, legacyFields.

A leaf of the steps package: it imports only leaves of app/core.
"""

from __future__ import annotations

from typing import Any

from app.core import ids, issues
from app.core.errors import InvalidInput

Note = tuple[str, str]

LEGACY_FIELDS = "legacyFields"


class RecordError(InvalidInput):
    """A record has a structure no step can repair; it is quarantined whole."""

    def __init__(self, message: str, *, code: str = issues.INVALID_TYPE, field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)
        self.code = code
        self.field = field


def require_object(record: Any) -> dict[str, Any]:
    """Return ``record`` when it is an object; raise RecordError (it is quarantined) when not."""
    if not isinstance(record, dict):
        raise RecordError(f"record is {type(record).__name__}, not an object", code=issues.NOT_AN_OBJECT)
    return record


def same_value(a: Any, b: Any) -> bool:
    """Return whether two JSON values are the same data (1, 1.0 and true differ)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (dict, list)):
        return ids.canonical_json(a) == ids.canonical_json(b)
    return bool(a == b)


def keep_legacy(obj: dict[str, Any], extra: dict[str, Any]) -> None:
    """Merge ``extra`` into ``obj``'s legacyFields, which never loses a value."""
    if not extra:
        return
    current = obj.get(LEGACY_FIELDS)
    if current is None:
        obj[LEGACY_FIELDS] = extra
        return
    if not isinstance(current, dict):
        raise RecordError(f"{LEGACY_FIELDS} is not an object, cannot keep {sorted(extra)}", field=LEGACY_FIELDS)
    merged = dict(current)
    for name, value in extra.items():
        if name in merged and not same_value(merged[name], value):
            raise RecordError(f"{LEGACY_FIELDS}.{name} already holds another value", field=LEGACY_FIELDS)
        merged[name] = value
    obj[LEGACY_FIELDS] = merged
