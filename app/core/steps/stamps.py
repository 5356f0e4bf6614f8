"""What a record carries about itself: its createdAt and updatedAt, and its metadata stamp."""

from __future__ import annotations

from typing import Any

from app.core import ids, issues, timestamps
from app.core.steps.base import LEGACY_FIELDS, Note, RecordError, keep_legacy, require_object


def _as_timestamp(value: Any, name: str, notes: list[Note]) -> Any:
    """Return ``value`` as an ISO string when it is an epoch number; None when missing."""
    if value is None or value == "":
        return None
    if type(value) is str and not (value.isdigit() or value[:1] == "-"):
        return value  # the common case, an ISO text: it cannot be epoch digits, skip the pattern
    epoch = ids.is_number(value) or (isinstance(value, str) and timestamps.is_epoch_text(value))
    if not epoch:
        return value
    try:
        text = timestamps.from_epoch_ms(int(value) if isinstance(value, str) else value)
    except (OverflowError, ValueError) as exc:
        raise RecordError(f"{name} {value!r} is not a usable epoch-millisecond time", field=name) from exc
    notes.append((issues.TIMESTAMP_CONVERTED, f"{name} {value!r} converted to {text}"))
    return text


def fill_timestamps(rec: dict[str, Any], now: str, notes: list[Note] | None = None) -> tuple[dict[str, Any], list[Note]]:
    """Make createdAt and updatedAt ISO texts, filled from each other, lastUsed, then ``now``."""
    notes = [] if notes is None else notes
    require_object(rec)
    created = _as_timestamp(rec.get("createdAt"), "createdAt", notes)
    updated = _as_timestamp(rec.get("updatedAt"), "updatedAt", notes)
    if created is None or updated is None:
        last_used = rec.get("lastUsed")
        if ids.is_number(last_used) or timestamps.is_iso(last_used):
            last_used = _as_timestamp(last_used, "lastUsed", [])
        else:
            last_used = None
        fallback = updated if created is None else created
        if fallback is None:
            fallback = last_used
        if fallback is None:
            fallback = now
            missing = [name for name, value in (("createdAt", created), ("updatedAt", updated)) if value is None]
            notes.append(
                (issues.TIMESTAMP_REPAIRED, f"{' and '.join(missing)} missing, set to the migration time {now}")
            )
        created = fallback if created is None else created
        updated = fallback if updated is None else updated
    if rec.get("createdAt") is not created:
        rec["createdAt"] = created
    if rec.get("updatedAt") is not updated:
        rec["updatedAt"] = updated
    return rec, notes


def add_metadata(
    rec: dict[str, Any], migrated_from: str, source_key: str, target: str, notes: list[Note] | None = None
) -> tuple[dict[str, Any], list[Note]]:
    """Merge ``{schemaVersion: target, migratedFrom, sourceKey}`` into the metadata ``rec`` has."""
    notes = [] if notes is None else notes
    metadata = require_object(rec).get("metadata")
    if metadata is None:
        rec["metadata"] = {"schemaVersion": target, "migratedFrom": migrated_from, "sourceKey": source_key}
        return rec, notes
    if not isinstance(metadata, dict):
        keep_legacy(rec, {"metadata": metadata})
        rec["metadata"] = {"schemaVersion": target, "migratedFrom": migrated_from, "sourceKey": source_key}
        notes.append((issues.METADATA_REPLACED, f"metadata {metadata!r} was not an object, kept in {LEGACY_FIELDS}"))
        return rec, notes
    if metadata.get("schemaVersion") == target and "migratedFrom" in metadata and "sourceKey" in metadata:
        return rec, notes
    merged = dict(metadata)
    previous = merged.get("schemaVersion", target)
    if previous != target:
        # An older schemaVersion is the record's history: keep it, never drop it.
        keep_legacy(rec, {"metadata.schemaVersion": previous})
    merged["schemaVersion"] = target
    # Provenance a record already carries (from an earlier run) stays as it is.
    merged.setdefault("migratedFrom", migrated_from)
    merged.setdefault("sourceKey", source_key)
    rec["metadata"] = merged
    return rec, notes
