"""The legacy -> 1.0.0 step at key level: which legacy keys move where, with what text."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.core import ids, jsonstream, keys, timestamps

_log = logging.getLogger(__name__)

_COLLECTION_KEYS = frozenset(keys.collection_key(kind) for kind in keys.COLLECTIONS)


@dataclass(frozen=True)
class Move:
    """A legacy key whose value moves to a new key."""

    source_key: str
    target_key: str


@dataclass
class LegacyPlan:
    """What the legacy -> 1.0.0 step writes; legacy keys themselves stay in place."""

    moves: list[Move] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # target key -> JSON text to write
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    legacy_keys: list[str] = field(default_factory=list)
    # target key -> the key each of its records was read from: one key for all of them,
    # or one key per record of a merged collection (the records' metadata.sourceKey).
    origins: dict[str, str | list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return this plan as JSON-compatible data."""
        return {
            "moves": [{"source_key": m.source_key, "target_key": m.target_key} for m in self.moves],
            "values": dict(self.values),
            "conflicts": list(self.conflicts),
            "legacy_keys": list(self.legacy_keys),
        }


def _parse(text: str) -> tuple[Any, bool]:
    """Return the value of ``text`` and whether it was JSON; a raw string stays a string."""
    try:
        return jsonstream.loads(text), True
    except ValueError:
        return text, False


_dumps = jsonstream.dumps


def _updated_ms(record: dict[str, Any]) -> float | None:
    """Return a record's update time in epoch milliseconds, None when unknown."""
    value = record.get("updatedAt", record.get("updated_at"))
    if ids.is_number(value):
        return float(value)
    if not timestamps.is_iso(value):
        return None
    text = value.replace("z", "Z").replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # as JavaScript reads a date-only text
    return moment.timestamp() * 1000


def _merge_collection(
    target_key: str,
    merged: list[Any],
    origin: list[str],
    incoming: list[Any],
    source_key: str,
    conflicts: list[dict[str, Any]],
) -> None:
    """Merge ``incoming`` records into ``merged`` by id; the newer updatedAt wins, the other copy is reported."""
    positions: dict[Any, int] = {}
    for position, record in enumerate(merged):
        key = ids.id_text(record.get("id")) if isinstance(record, dict) else None
        # An id that is an array or object matches nothing (the incoming loop keeps such records too).
        if key is not None and not isinstance(key, (dict, list)):
            positions.setdefault(key, position)
    for record in incoming:
        key = ids.id_text(record.get("id")) if isinstance(record, dict) else None
        if key is None or isinstance(key, (dict, list)) or key not in positions:
            # Records without a usable id cannot be matched: all of them are kept.
            if key is not None and not isinstance(key, (dict, list)):
                positions[key] = len(merged)
            merged.append(record)
            origin.append(source_key)
            continue
        position = positions[key]
        current = merged[position]
        incoming_ms, current_ms = _updated_ms(record), _updated_ms(current)
        # Ties and unknown times keep the copy already there (the newer key's).
        incoming_wins = incoming_ms is not None and (current_ms is None or incoming_ms > current_ms)
        winner, loser = (record, current) if incoming_wins else (current, record)
        loser_key = origin[position] if incoming_wins else source_key
        if incoming_wins:
            merged[position] = record
            origin[position] = source_key
        conflicts.append(
            {
                "target_key": target_key,
                "id": key,
                "kept_from": origin[position],
                "dropped_from": loser_key,
                "reason": "newer-updatedAt" if incoming_wins else "kept-existing",
                "kept": winner,
                "record": loser,
            }
        )


def _order(key: str) -> tuple[int, str]:
    return keys.LEGACY_FORMS.index(keys.legacy_form(key)), key


def plan_legacy(local: Mapping[str, str | None]) -> LegacyPlan:
    """Return the legacy -> 1.0.0 plan for the localStorage snapshot ``local``.

    A single legacy source for a free target keeps its text byte for byte (a raw,
    non-JSON string becomes a JSON string). When the new key already holds a
    collection the records are merged by id; for any other value the new key
    wins. Every copy that loses is listed in ``conflicts`` with its record.
    """
    plan = LegacyPlan()
    sources: dict[str, list[str]] = {}
    for key in sorted((k for k, v in local.items() if v is not None and keys.legacy_target(k)), key=_order):
        target = keys.legacy_target(key)
        assert target is not None
        plan.legacy_keys.append(key)
        plan.moves.append(Move(key, target))
        sources.setdefault(target, []).append(key)
    for target, source_keys in sources.items():
        existing_text = local.get(target)
        existing, _ = _parse(existing_text) if existing_text is not None else (None, False)
        if existing is None and len(source_keys) == 1:
            text = local[source_keys[0]]
            assert text is not None
            value, is_json = _parse(text)
            plan.values[target] = text if is_json else _dumps(value)
            plan.origins[target] = source_keys[0]
            continue
        _plan_merge(plan, target, existing, existing_text is not None and existing is not None, source_keys, local)
    return plan


def _plan_merge(
    plan: LegacyPlan,
    target: str,
    existing: Any,
    has_existing: bool,
    source_keys: list[str],
    local: Mapping[str, str | None],
) -> None:
    """Plan the value of ``target`` from its current value and several legacy sources."""
    current, current_key = (existing, target) if has_existing else (None, None)
    merged: list[Any] | None = None
    origin: list[str] = []
    if isinstance(current, list):
        merged, origin = list(current), [target] * len(current)
    # The most recent spelling first: it becomes the base the older ones merge into.
    for source_key in reversed(source_keys):
        text = local[source_key]
        assert text is not None
        value, _ = _parse(text)
        if current is None and merged is None:
            if isinstance(value, list):
                merged, origin = list(value), [source_key] * len(value)
            current, current_key = value, source_key
            continue
        if merged is not None and isinstance(value, list):
            if target in _COLLECTION_KEYS:
                _merge_collection(target, merged, origin, value, source_key, plan.conflicts)
            else:
                _union(merged, origin, value, source_key)
            continue
        plan.conflicts.append(
            {
                "target_key": target,
                "id": None,
                "kept_from": current_key,
                "dropped_from": source_key,
                "reason": "kept-existing",
                "record": value,
            }
        )
    if merged is not None:
        unchanged = (
            isinstance(existing, list)
            and len(merged) == len(existing)
            and all(a is b for a, b in zip(merged, existing, strict=True))
        )
        if not unchanged:
            plan.values[target] = _dumps(merged)
            plan.origins[target] = origin
    elif not has_existing and current_key is not None:
        text = local[current_key]
        assert text is not None
        value, is_json = _parse(text)
        plan.values[target] = text if is_json else _dumps(value)
        plan.origins[target] = current_key


def _union(merged: list[Any], origin: list[str], incoming: list[Any], source_key: str) -> None:
    """Append the items of a plain array (tags, favorites) that ``merged`` lacks."""
    present = {ids.canonical_json(item) for item in merged}
    for item in incoming:
        text = ids.canonical_json(item)
        if text not in present:
            present.add(text)
            merged.append(item)
            origin.append(source_key)
