"""The field operations of data.md section 3, which the schema version modules compose.

``app.core.revisions`` runs them: each version's ``upgrade`` is a few of these
calls. They are idempotent. ``rename_fields`` returns a new dict; the others
change the dict they are given, which the caller owns (a fresh shallow copy of
the stored record: the original is what gets quarantined when a later check
fails), and return it. Nested values are shared with the input unless an
operation changes them, so a record costs one shallow copy, not a deep one.
Repairs are reported as ``(code, message)`` notes; ``app.core.transform`` turns
them into issues.
"""

from __future__ import annotations

import logging
from typing import Any

from app.core import ids, issues, timestamps
from app.core.errors import InvalidInput
from app.core.fields import CACHE_LIMIT, RENAMES, UNSEEN, is_snake

_log = logging.getLogger(__name__)

Note = tuple[str, str]

LEGACY_FIELDS = "legacyFields"
# Workflow step fields that reference a template.
STEP_TEMPLATE_REFS = ("templateId", "selectedTemplateId")
# Fields of favorites and recent items that reference a record.
ITEM_REFS = ("itemId",)

_SPECIAL_NAMES = {"is_favorite": "favorite"}
# Folder fields the live app reads and writes in snake_case (data.md section 6): they stay,
# and their camelCase twins are added with the same values; the snake_case value wins.
FOLDER_PAIRS = (("parent_id", "parentId"), ("sort_order", "sortOrder"))
_FOLDER_KEEP = frozenset(snake for snake, _ in FOLDER_PAIRS)
TEMPLATE_STEP = "template"


class RecordError(InvalidInput):
    """A record has a structure no step can repair; it is quarantined whole."""

    def __init__(self, message: str, *, code: str = issues.INVALID_TYPE, field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)
        self.code = code
        self.field = field


def camel_name(name: str) -> str:
    """Return the camelCase spelling of snake_case ``name`` (``is_favorite`` is ``favorite``)."""
    camel = _SPECIAL_NAMES.get(name)
    if camel is None:
        head, *rest = name.split("_")
        camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
    return camel


def _rename_of(name: str) -> str | None:
    """Return the camelCase name of snake_case ``name``, None for any other name; remembered."""
    camel = camel_name(name) if is_snake(name) else None
    if len(RENAMES) < CACHE_LIMIT:
        RENAMES[name] = camel
    return camel


def same_value(a: Any, b: Any) -> bool:
    """Return whether two JSON values are the same data (1, 1.0 and true differ)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (dict, list)):
        return ids.canonical_json(a) == ids.canonical_json(b)
    return bool(a == b)


def _keep_legacy(obj: dict[str, Any], extra: dict[str, Any]) -> None:
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


# Field names of a record, in order -> the names after renaming, or None when a snake_case
# field meets its camelCase twin (the slow path then decides field by field). Records of a
# collection share a few shapes, so renaming is one dict lookup and one C-level dict(zip()).
_PLANS: dict[tuple[str, ...], tuple[str, ...] | None] = {}
PLAN_LIMIT = 1024  # shapes, bounded: the data is untrusted


_FOLDER_PLANS: dict[tuple[str, ...], tuple[str, ...] | None] = {}


def _rename_plan(names: tuple[str, ...], keep: frozenset[str]) -> tuple[str, ...] | None:
    taken = set(names)
    out: list[str] = []
    for name in names:
        if name in keep:
            out.append(name)
            continue
        camel = RENAMES.get(name, UNSEEN)
        if camel is UNSEEN:
            camel = _rename_of(name)
        if camel is None:
            out.append(name)
            continue
        if camel in taken:
            return None
        taken.add(camel)
        out.append(camel)
    return tuple(out)


def _renamed(obj: dict[str, Any], keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Return a copy of ``obj`` with snake_case fields camelCased; camelCase wins on conflict.

    Names in ``keep`` stay as they are (the folder fields the live app reads in snake_case).
    """
    names = tuple(obj)
    plans = _FOLDER_PLANS if keep else _PLANS
    plan = plans.get(names, UNSEEN)
    if plan is UNSEEN:
        plan = _rename_plan(names, keep)
        if len(plans) < PLAN_LIMIT:
            plans[names] = plan
    if plan is not None:
        return dict(zip(plan, obj.values(), strict=True))
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    renames = RENAMES
    for name, value in obj.items():
        if name in keep:
            out[name] = value
            continue
        camel = renames.get(name, UNSEEN)
        if camel is UNSEEN:
            camel = _rename_of(name)
        if camel is None:
            out[name] = value
            continue
        if camel in obj or camel in out:
            other = obj[camel] if camel in obj else out[camel]
            if not same_value(other, value):
                extra[name] = value
            continue
        out[camel] = value
    _keep_legacy(out, extra)
    return out


def has_snake_field(obj: dict[str, Any]) -> bool:
    """Return whether ``obj`` has a field the 1.0.0 -> 2.0.0 rename changes."""
    return any("_" in name and is_snake(name) for name in obj)


def _step_entry(step: Any, workflow_id: Any, index: int) -> Any:
    """Return one workflow step as a step object the live app runs (data.md section 3, 1.0.0 -> 2.0.0).

    A bare template id becomes ``{id, type: "template", templateId, selectedTemplateId}``;
    a step object gets camelCase fields, string template ids, and the ``type`` and
    ``selectedTemplateId`` the app runs it through when it names a template.
    """
    if ids.is_number(step):
        step = ids.number_text(step)
    if isinstance(step, str):
        return {
            "id": f"{ids.id_text(workflow_id)}:{index}",
            "type": TEMPLATE_STEP,
            "templateId": step,
            "selectedTemplateId": step,
        }
    if not isinstance(step, dict):
        return step
    original = step
    if has_snake_field(step):
        step = _renamed(step)
    for ref in STEP_TEMPLATE_REFS:
        if ids.is_number(step.get(ref)):
            if step is original:
                step = dict(step)
            step[ref] = ids.number_text(step[ref])
    options = step.get("templateOptions")
    if isinstance(options, list) and any(ids.is_number(option) for option in options):
        if step is original:
            step = dict(step)
        step["templateOptions"] = _id_list(options)
    template_id = step.get("templateId")
    names_template = template_id is not None or step.get("selectedTemplateId") is not None
    if names_template and (step.get("type") is None or step.get("selectedTemplateId") is None):
        if step is original:
            step = dict(step)
        if step.get("type") is None:
            step["type"] = TEMPLATE_STEP
        if step.get("selectedTemplateId") is None:
            step["selectedTemplateId"] = template_id
    return step


def _steps(steps: list[Any], workflow_id: Any) -> list[Any]:
    new = [_step_entry(step, workflow_id, index) for index, step in enumerate(steps)]
    # Keep the very same list when nothing changed: cheaper and shares nothing new.
    if all(a is b for a, b in zip(new, steps, strict=True)):
        return steps
    return new


def _id_list(values: list[Any]) -> list[Any]:
    if any(ids.is_number(value) for value in values):
        return [ids.id_text(value) for value in values]
    return values


# -- in-place helpers on a dict the caller owns (a fresh shallow copy) --------


def _stringify_ids(kind: str, rec: dict[str, Any]) -> None:
    if ids.is_number(rec.get("id")):
        rec["id"] = ids.number_text(rec["id"])
    if kind == "folders":
        for snake, camel in FOLDER_PAIRS[:1]:
            for name in (snake, camel):
                if ids.is_number(rec.get(name)):
                    rec[name] = ids.number_text(rec[name])
        return
    if ids.is_number(rec.get("folderId")):
        rec["folderId"] = ids.number_text(rec["folderId"])
    folder_ids = rec.get("folderIds")
    if isinstance(folder_ids, list):
        rec["folderIds"] = _id_list(folder_ids)
    if kind == "workflows":
        steps = rec.get("steps")
        if isinstance(steps, list):
            rec["steps"] = _steps(steps, rec.get("id"))


def _folder_pairs(rec: dict[str, Any]) -> None:
    """Give a folder both spellings of parent_id, and of sort_order where it has one; snake_case wins.

    The live app builds its tree from ``parent_id`` and orders by ``sort_order``
    (data.md section 6); a camelCase value that differs is kept under legacyFields.
    A folder the app shows (it has ``parent_id``) but with ``sortOrder`` alone is listed
    by name, and stays so; a folder the app could not show (``parentId`` only, as an
    earlier 2.0.0 shape wrote it) takes its order from ``sortOrder``, the only one it has.
    """
    extra: dict[str, Any] = {}
    shown = "parent_id" in rec
    for snake, camel in FOLDER_PAIRS:
        has_snake, has_camel = snake in rec, camel in rec
        if has_snake:
            value = rec[snake]
            if has_camel and not same_value(rec[camel], value):
                extra[camel] = rec[camel]
        elif snake == "sort_order" and (shown or not has_camel):
            # Without sort_order the app lists a folder by name, whatever its sortOrder says (it
            # overwrites sortOrder from sort_order): adding one would reorder what the user sees.
            continue
        elif has_camel:
            value = rec[camel]  # parentId only (an earlier 2.0.0 shape): the app needs parent_id to show it
        else:
            value = None  # no parent named: a root folder, as the app reads it
        rec[snake] = value
        rec[camel] = value
    if extra:
        _keep_legacy(rec, extra)


def _add_folder_fields(kind: str, rec: dict[str, Any]) -> None:
    if kind == "folders":
        _folder_pairs(rec)
        return
    if "folderId" not in rec:
        rec["folderId"] = None
    folder_id = rec["folderId"]
    is_set = isinstance(folder_id, str) and folder_id != ""
    folder_ids = rec.get("folderIds")
    if folder_ids is None:
        rec["folderIds"] = [folder_id] if is_set else []
    elif is_set and isinstance(folder_ids, list) and folder_id not in folder_ids:
        rec["folderIds"] = [*folder_ids, folder_id]
    if rec.get("tags") is None:
        rec["tags"] = []


def _add_context(kind: str, rec: dict[str, Any]) -> None:
    if kind != "templates":
        return
    if rec.get("context") is None:
        rec["context"] = ""
    if rec.get("contextEnabled") is None:
        rec["contextEnabled"] = False


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


def _fill_timestamps(rec: dict[str, Any], now: str, notes: list[Note]) -> None:
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


def _add_metadata(rec: dict[str, Any], migrated_from: str, source_key: str, notes: list[Note], target: str) -> None:
    metadata = rec.get("metadata")
    if metadata is None:
        rec["metadata"] = {"schemaVersion": target, "migratedFrom": migrated_from, "sourceKey": source_key}
        return
    if not isinstance(metadata, dict):
        _keep_legacy(rec, {"metadata": metadata})
        rec["metadata"] = {"schemaVersion": target, "migratedFrom": migrated_from, "sourceKey": source_key}
        notes.append((issues.METADATA_REPLACED, f"metadata {metadata!r} was not an object, kept in {LEGACY_FIELDS}"))
        return
    if metadata.get("schemaVersion") == target and "migratedFrom" in metadata and "sourceKey" in metadata:
        return
    merged = dict(metadata)
    previous = merged.get("schemaVersion", target)
    if previous != target:
        # An older schemaVersion is the record's history: keep it, never drop it.
        _keep_legacy(rec, {"metadata.schemaVersion": previous})
    merged["schemaVersion"] = target
    # Provenance a record already carries (from an earlier run) stays as it is.
    merged.setdefault("migratedFrom", migrated_from)
    merged.setdefault("sourceKey", source_key)
    rec["metadata"] = merged


def _require_object(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordError(f"record is {type(record).__name__}, not an object", code=issues.NOT_AN_OBJECT)
    return record


# -- the public operations (each version's upgrade is made of these) -------------


def require_object(record: Any) -> dict[str, Any]:
    """Return ``record`` when it is an object; raise RecordError (it is quarantined) when not."""
    return _require_object(record)


def rename_fields(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """Return a new ``record`` with snake_case fields camelCased, also in a workflow's step objects.

    A folder keeps parent_id and sort_order (the live app reads them); add_folder_fields adds their twins.
    """
    rec = _renamed(_require_object(record), _FOLDER_KEEP if kind == "folders" else frozenset())
    if kind == "workflows" and isinstance(rec.get("steps"), list):
        rec["steps"] = _steps(rec["steps"], rec.get("id"))
    return rec


def stringify_ids(kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    """Make numeric ids and references to them decimal strings; workflow steps become step objects."""
    _stringify_ids(kind, _require_object(rec))
    return rec


def add_folder_fields(kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    """Give ``rec`` folderId, folderIds and tags (a folder: both spellings of parent_id and sort_order)."""
    _add_folder_fields(kind, _require_object(rec))
    return rec


def add_context(kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    """Give a template context and contextEnabled where missing; other kinds unchanged."""
    _add_context(kind, _require_object(rec))
    return rec


def fill_timestamps(rec: dict[str, Any], now: str, notes: list[Note] | None = None) -> tuple[dict[str, Any], list[Note]]:
    """Make createdAt and updatedAt ISO texts, filled from each other, lastUsed, then ``now``."""
    notes = [] if notes is None else notes
    _fill_timestamps(_require_object(rec), now, notes)
    return rec, notes


def add_metadata(
    rec: dict[str, Any], migrated_from: str, source_key: str, target: str, notes: list[Note] | None = None
) -> tuple[dict[str, Any], list[Note]]:
    """Merge ``{schemaVersion: target, migratedFrom, sourceKey}`` into the metadata ``rec`` has."""
    notes = [] if notes is None else notes
    _add_metadata(_require_object(rec), migrated_from, source_key, notes, target)
    return rec, notes


# -- non-collection values -------------------------------------------------------


def upgrade_ui_preferences(value: Any, notes: list[Note]) -> Any:
    """Return ui_preferences camelCased, with defaultFolderId and expandedFolders."""
    if not isinstance(value, dict):
        notes.append((issues.UNKNOWN_SHAPE, f"ui_preferences is {type(value).__name__}, kept as it is"))
        return value
    prefs = _renamed(value) if has_snake_field(value) else dict(value)
    if ids.is_number(prefs.get("defaultFolderId")):
        prefs["defaultFolderId"] = ids.number_text(prefs["defaultFolderId"])
    elif "defaultFolderId" not in prefs:
        prefs["defaultFolderId"] = None
    expanded = prefs.get("expandedFolders")
    if expanded is None:
        prefs["expandedFolders"] = []
    elif isinstance(expanded, list):
        prefs["expandedFolders"] = _id_list(expanded)
    return prefs


def camel_object(value: Any, name: str, notes: list[Note], nested: tuple[str, ...] = ()) -> Any:
    """Return object ``value`` camelCased (the app reads ``displayName``), and its ``nested`` objects too."""
    if not isinstance(value, dict):
        notes.append((issues.UNKNOWN_SHAPE, f"{name} is {type(value).__name__}, kept as it is"))
        return value
    out = _renamed(value) if has_snake_field(value) else value
    for inner in nested:
        part = out.get(inner)
        if isinstance(part, dict) and has_snake_field(part):
            out = dict(out) if out is value else out
            out[inner] = _renamed(part)  # performance.cache_size: 50 is the user's cacheSize
    return out


def merge_defaults(value: Any, name: str, field: str, defaults: dict[str, Any], notes: list[Note]) -> Any:
    """Return object ``value`` with ``defaults`` merged under the user's own ``value[field]``."""
    if not isinstance(value, dict):
        return value  # already reported by the step that camelCased it
    current = value.get(field)
    if current is None:
        return {**value, field: dict(defaults)}
    if not isinstance(current, dict):
        notes.append((issues.UNKNOWN_SHAPE, f"{name}.{field} is {type(current).__name__}, kept as it is"))
        return value
    if all(key in current for key in defaults):
        return value
    return {**value, field: {**defaults, **current}}


def upgrade_items(name: str, value: Any, notes: list[Note]) -> Any:
    """Return favorites or recent_items with each object camelCased and string item ids."""
    if not isinstance(value, list):
        notes.append((issues.UNKNOWN_SHAPE, f"{name} is {type(value).__name__}, kept as it is"))
        return value
    items: list[Any] = []
    for item in value:
        if isinstance(item, dict):
            item = _renamed(item) if has_snake_field(item) else item
            for ref in ITEM_REFS:
                if ids.is_number(item.get(ref)):
                    item = dict(item)
                    item[ref] = ids.number_text(item[ref])
        items.append(item)
    return items
