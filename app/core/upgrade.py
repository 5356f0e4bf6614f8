"""One name's value in the target shape, as the migration would write it (pure).

The compatibility layer reads through ``upgrade_collection``/``upgrade_value`` and
checks a save with ``prepare`` before its one write; ``is_current`` says whether a
stored value already has the target shape.
"""

from __future__ import annotations

from typing import Any

from app.core import jsonstream, keys, revisions
from app.core.errors import InvalidInput, ValidationFailed
from app.core.issues import Issue, Quarantined
from app.core.transform import CollectionTransformer, Context, upgrade_value
from app.core.validator import References, Validator
from app.core.versions import detect_record_version

# Names whose value is an array: they read as [] when missing.
ARRAY_NAMES = frozenset((*keys.COLLECTIONS, "tags", "favorites", "recent_items"))
VALUE_TYPES: dict[str, tuple[type, ...]] = {
    "tags": (list,),
    "favorites": (list,),
    "recent_items": (list,),
    "ui_preferences": (dict,),
    "user_settings": (dict,),
    "theme_preference": (str,),
}


def parse(text: str) -> Any:
    """Return the value of stored ``text``; a raw, non-JSON string stays a string."""
    try:
        return jsonstream.loads(text)
    except ValueError:
        return text


def plain(value: Any) -> Any:
    """Return ``value`` as JSON data, raising InvalidInput for anything JSON cannot hold."""
    try:
        return jsonstream.loads(jsonstream.dumps(value))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the value cannot be stored as JSON: {exc}") from exc


def upgrade_collection(
    name: str,
    records: list[Any],
    source_key: str,
    store_version: str,
    now_iso: str,
    validator: Validator,
    origins: str | list[str] | None = None,
) -> tuple[list[dict[str, Any]], list[Quarantined], list[Issue], int]:
    """Return the records as the migration would write them, the ones it would quarantine, and the count changed."""
    ctx = Context(name, source_key, store_version, now_iso, origins)
    result = CollectionTransformer(ctx, validator, References()).run(records, 0)
    changed = sum(n for version, n in result.counts.items() if version != revisions.target())
    return result.records, result.quarantined, result.repairs, changed


def is_current(name: str, location: str | None, value: Any, store_version: str) -> bool:
    """Return whether a value found at ``location`` (None: missing) already has the target shape."""
    if location is None:
        return True
    if location == "legacy":
        return False
    if name in keys.COLLECTIONS:
        if not isinstance(value, list):
            return False
        return all(
            isinstance(r, dict) and detect_record_version(name, r, store_version) == revisions.target() for r in value
        )
    upgraded, _ = upgrade_value(name, value, store_version)
    return upgraded == value


def prepare(name: str, value: Any, source_key: str, now_iso: str, validator: Validator) -> tuple[Any, int]:
    """Return the target-shape value to store and its record count; raise before any write when it is not valid."""
    value = plain(value)
    if name in keys.COLLECTIONS:
        if not isinstance(value, list):
            raise InvalidInput(f"{name} must be an array of records, got {type(value).__name__}", name=name)
        records, quarantined, _, _ = upgrade_collection(name, value, source_key, revisions.target(), now_iso, validator)
        if quarantined:
            bad = [
                {
                    "index": q.index,
                    "id": q.record.get("id") if isinstance(q.record, dict) else None,
                    "errors": q.errors,
                }
                for q in quarantined
            ]
            listing = "; ".join(
                f"#{b['index']}" + (f" (id {b['id']!r})" if b["id"] is not None else "") + f": {', '.join(b['errors'])}"
                for b in bad
            )
            raise ValidationFailed(
                f"{len(bad)} of {len(value)} {name} record(s) are not valid, nothing was saved: {listing}",
                name=name,
                records=bad,
            )
        return records, len(records)
    if value is None:
        raise InvalidInput(f"{name} cannot be saved as null", name=name)
    expected = VALUE_TYPES[name]
    if not isinstance(value, expected):
        raise InvalidInput(
            f"{name} must be {'an array' if expected == (list,) else 'an object' if expected == (dict,) else 'a string'}, "
            f"got {type(value).__name__}",
            name=name,
        )
    if name == "tags" and not all(isinstance(tag, str) for tag in value):
        raise ValidationFailed("tags must be an array of strings, nothing was saved", name=name)
    upgraded, _ = upgrade_value(name, value, revisions.target())
    return upgraded, len(upgraded) if isinstance(upgraded, list) else 1
