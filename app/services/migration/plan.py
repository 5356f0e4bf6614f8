"""What a run will change, as plain data: computed once per run from one read, before any write.

``read_plan`` turns a snapshot of the stored data into the run's plan: the version
plan, the legacy moves, the collections to transform (counted), and every value's
new text. ``build_targets`` turns the migrated texts into the live keys the switch
writes, moving a collection to AirPromptsDB where localStorage is too small. Both
are pure: no storage, no clock, testable on plain dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from app.core import ids, jsonstream, keys
from app.core.digest import utf8
from app.core.errors import InvalidInput, QuotaExceeded
from app.core.issues import Issue
from app.core.legacy import LegacyPlan, plan_legacy
from app.core.planner import Plan, make_plan
from app.core.transform import upgrade_value
from app.core.versions import version_text
from app.services import journal
from app.services.migration.report import INVALID_VALUE, LEGACY_CONFLICT, Staged
from app.services.migration.state import Snapshot, Source, Target
from app.storage.base import Text, utf16_len

LOCAL_LIMIT = 5 * 1024 * 1024 - 64 * 1024


@dataclass
class ValuePlan:
    """The non-collection values a run writes, and what the report says about each."""

    texts: list[tuple[str, str, str]] = field(default_factory=list)  # (area, key, new text)
    statuses: dict[str, str] = field(default_factory=dict)  # key -> "upgraded" | "unchanged" | "moved" | ...
    warnings: list[tuple[Issue, str]] = field(default_factory=list)  # (issue, the key it was read from)


@dataclass
class RunPlan:
    """Everything a run will change, read once: the plan, the legacy moves, the sources and the values."""

    plan: Plan
    legacy: LegacyPlan
    sources: list[Source]
    values: ValuePlan

    @property
    def total(self) -> int:
        return sum(src.count for src in self.sources)

    def legacy_report(self) -> dict[str, Any]:
        return {
            "moves": [{"from": m.source_key, "to": m.target_key} for m in self.legacy.moves],
            "conflicts": self.legacy.conflicts,
        }

    def conflict_warnings(self) -> list[dict[str, Any]]:
        return [
            {
                "kind": keys.short_name(conflict["target_key"]),
                "index": -1,
                "id": conflict.get("id"),
                "code": LEGACY_CONFLICT,
                "message": (
                    f"{conflict['target_key']}: the copy from {conflict['dropped_from']} lost to "
                    f"{conflict['kept_from']} ({conflict['reason']}); it stays in the legacy key and the backup"
                ),
                "source": conflict["dropped_from"],
            }
            for conflict in self.legacy.conflicts
        ]


def read_plan(
    snapshot: Snapshot, *, started_ms: int, count_array: jsonstream.ArrayCounter = jsonstream.count_array
) -> RunPlan:
    """Return what a run started at ``started_ms`` would change in ``snapshot``."""
    plan = make_plan(snapshot.local, snapshot.app)
    legacy = plan_legacy(snapshot.local)
    sources = collection_sources(plan, snapshot, legacy)
    for src in sources:
        inspect(src, count_array)
    values = plan_values(plan, snapshot, legacy, started_ms) if plan.needed else ValuePlan()
    return RunPlan(plan, legacy, sources, values)


def collection_sources(plan: Plan, snapshot: Snapshot, legacy: LegacyPlan) -> list[Source]:
    """Return the stored collections the plan names, each with its text (or its record)."""
    sources = []
    for entry in plan.collections:
        kind, source_key = entry["kind"], entry["source_key"]
        if entry["location"] == "local":
            text = legacy.values.get(source_key, snapshot.local.get(source_key))
            if text is None:
                continue
            origins = legacy.origins.get(source_key)
            # A legacy key's own text is what a quarantine keeps whole (its move may have wrapped it).
            raw = snapshot.local.get(origins, text) if isinstance(origins, str) else text
            sources.append(Source(source_key, kind, source_key, "local", text=text, raw=raw, origins=origins))
        else:
            raw = snapshot.app.get(kind)
            if raw is None:
                continue
            sources.append(Source(source_key, kind, kind, "app", raw=raw))
    return sources


def inspect(src: Source, count_array: jsonstream.ArrayCounter = jsonstream.count_array) -> None:
    """Count ``src``'s records, or note why it is not a JSON array (nothing is staged for it then)."""
    if src.location == "local":
        assert src.text is not None
        try:
            src.count = count_array(src.text)
        except jsonstream.MalformedJSON as exc:
            src.error = exc.message
            if src.raw is not None and src.raw != src.text:
                # A legacy key that is not JSON moved as a string: say what is wrong with its own text.
                try:
                    jsonstream.count_array(src.raw)
                except jsonstream.MalformedJSON as own:
                    src.error = f"invalid JSON: {own.message}"
        return
    try:
        # The count (in the browser, taken when the bridge read the record) proves the record
        # JSON and its nesting shallow enough to parse: its array is then read batch by batch
        # by the transform, never parsed whole here. A record it refuses is parsed in full to
        # say what is wrong.
        count = count_array(src.raw or "", "value")
        src.record, src.value_at = jsonstream.member_at(src.raw or "", "value")
    except (ValueError, InvalidInput):
        parse_whole(src)
        return
    src.count = count


def parse_whole(src: Source, *, nesting_checked: bool = False) -> None:
    """Read an AirPromptsDB source's record in one parse: its array into ``items``, or its error."""
    try:
        record = jsonstream.loads(src.raw or "", nesting_checked=nesting_checked)
    except ValueError as exc:
        src.error = f"the AirPromptsDB record is not JSON ({exc})"
        return
    if not isinstance(record, dict) or not isinstance(record.get("value"), list):
        src.error = "the AirPromptsDB record's value is not an array"
        return
    src.items = record["value"]
    src.record = {k: v for k, v in record.items() if k != "value"}
    src.value_at = None
    src.count = len(src.items)


# ---------------------------------------------------------------------- values


def _is_json(text: str | None) -> bool:
    if text is None:
        return True
    try:
        jsonstream.loads(text)
    except ValueError:
        return False
    return True


def plan_values(plan: Plan, snapshot: Snapshot, legacy: LegacyPlan, started_ms: int) -> ValuePlan:
    """Return the managed values' upgrades and the other legacy moves (``ap_<name>``), in write order."""
    values = ValuePlan()
    version = plan.from_version
    handled = set()
    for key in plan.values:
        handled.add(key)
        if key.startswith(keys.APP_SOURCE_PREFIX):
            name = keys.short_name(key)
            text = _app_value(name, snapshot.app.get(name), version, started_ms, values)
            if text is not None:
                values.texts.append(("app", name, text))
            continue
        source = legacy.values.get(key, snapshot.local.get(key))
        origin = legacy.origins.get(key) if key in legacy.values else None
        read_from = origin if isinstance(origin, str) else key
        text = _local_value(key, source, snapshot.local.get(key), version, values, read_from)
        if read_from != key and key != keys.PREFIX + "theme_preference" and not _is_json(snapshot.local.get(read_from)):
            message = f"{read_from} is not JSON; its text moved to {key} as a string, unchanged"
            values.warnings.append((Issue(keys.short_name(key), -1, None, INVALID_VALUE, message), read_from))
        if text is not None:
            values.texts.append(("local", key, text))
    collection_keys = {keys.collection_key(kind) for kind in keys.COLLECTIONS}
    for key, text in legacy.values.items():
        if key in handled or key in collection_keys:
            continue
        # A legacy key outside the managed names (ap_<name>): its value moves as it is.
        values.statuses[key] = "moved"
        values.texts.append(("local", key, text))
    return values


def _local_value(
    key: str, source: str | None, current: str | None, version: str, values: ValuePlan, read_from: str
) -> str | None:
    """Return the new text of value ``key`` (read from ``read_from``: a legacy key, or itself), or None."""
    if source is None:
        return None
    try:
        value = jsonstream.loads(source)
    except ValueError:
        values.statuses[key] = INVALID_VALUE
        message = f"{read_from} is not JSON; kept as it is"
        values.warnings.append((Issue(keys.short_name(key), -1, None, INVALID_VALUE, message), read_from))
        return None
    new, found = upgrade_value(key, value, version)
    values.warnings += [(issue, read_from) for issue in found]
    text = source if ids.canonical_json(new) == ids.canonical_json(value) else jsonstream.dumps(new)
    values.statuses[key] = "unchanged" if text == current else "upgraded"
    return None if text == current else text


def _app_value(name: str, raw: str | None, version: str, started_ms: int, values: ValuePlan) -> str | None:
    key = keys.app_source(name)
    if raw is None:
        return None
    try:
        record = jsonstream.loads(raw)
    except ValueError:
        record = None
    if not isinstance(record, dict) or "value" not in record:
        values.statuses[key] = INVALID_VALUE
        message = f"{key} is not a storage record; kept as it is"
        values.warnings.append((Issue(name, -1, None, INVALID_VALUE, message), key))
        return None
    new, found = upgrade_value(name, record["value"], version)
    values.warnings += [(issue, key) for issue in found]
    if ids.canonical_json(new) == ids.canonical_json(record["value"]):
        values.statuses[key] = "unchanged"
        return None
    values.statuses[key] = "upgraded"
    return jsonstream.dumps({**record, "key": name, "value": new, "timestamp": started_ms})


# ---------------------------------------------------------------------- targets


def app_wrap(kind: str, record: dict[str, Any] | None, timestamp_ms: int) -> tuple[str, str]:
    """Return the text around a collection's array in its AirPromptsDB record, keeping the record's other fields."""
    head = '{"key":' + jsonstream.dumps(kind) + ',"value":'
    tail = ',"timestamp":' + str(timestamp_ms)
    for name, value in (record or {}).items():
        if name not in ("key", "value", "timestamp"):
            tail += "," + jsonstream.dumps(name) + ":" + jsonstream.dumps(value)
    return head, tail + "}"


@dataclass
class SwitchPlan:
    """The live keys a switch writes, the localStorage keys it removes, and the collections it moved."""

    targets: list[Target]
    remove: list[str]
    moved: list[Target]  # collections moved to AirPromptsDB because localStorage is too small, in order


def build_targets(
    run_id: str,
    started_ms: int,
    sources: list[Source],
    staged: Staged,
    migrated: Mapping[str, int],
    local: Mapping[str, str],
    *,
    local_limit: int = LOCAL_LIMIT,
) -> SwitchPlan:
    """Return the live texts to write (collections moved to AirPromptsDB where localStorage is too small).

    ``local`` is every localStorage key and value as the switch will find it; ``migrated``
    counts each source's migrated records.
    """
    targets: list[Target] = []
    app_kinds = {src.kind for src in sources if src.location == "app"}
    for src in sources:
        if src.error is not None:
            continue
        records = migrated[src.id]
        prefix = journal.staging_prefix(run_id, src.id)
        if src.location == "local":
            targets.append(Target("local", src.key, staged.array(src.id), prefix, True, records=records, kind=src.kind))
        else:
            head, tail = app_wrap(src.kind, src.record, started_ms)
            text = staged.array(src.id, head.encode("utf-8"), tail.encode("utf-8"))
            targets.append(Target("app", src.kind, text, prefix, True, head, tail, records, src.kind))
    for area, key, text in staged.values:
        targets.append(Target(area, key, text, journal.value_key(run_id, area, key), False))
    remove: list[str] = []
    moved: list[Target] = []

    def usage() -> int:
        after: dict[str, Text] = {k: v for k, v in local.items() if k not in remove}
        after.update({t.key: t.text for t in targets if t.area == "local"})
        after[keys.SCHEMA_VERSION_KEY] = version_text()
        return sum(utf16_len(k) + utf16_len(v) for k, v in after.items())

    while usage() > local_limit:
        movable = [t for t in targets if t.area == "local" and t.kind is not None and t.kind not in app_kinds]
        if not movable:
            raise QuotaExceeded(
                f"The migrated data needs {usage()} localStorage characters, more than the {local_limit} "
                "available, even with every collection moved to IndexedDB",
                needed=usage(),
                available=local_limit,
            )
        largest = max(movable, key=lambda t: utf16_len(t.text))
        assert largest.kind is not None
        head, tail = app_wrap(largest.kind, None, started_ms)
        text = b"".join((head.encode("utf-8"), utf8(largest.text), tail.encode("utf-8")))
        targets[targets.index(largest)] = Target(
            "app", largest.kind, text, largest.staging, True, head, tail, largest.records, largest.kind
        )
        app_kinds.add(largest.kind)
        if largest.key in local:
            remove.append(largest.key)
        moved.append(largest)
    return SwitchPlan(targets, remove, moved)

