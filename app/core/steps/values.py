"""The non-collection values: ui_preferences, user settings, favorites and recent items."""

from __future__ import annotations

from typing import Any

from app.core import ids, issues
from app.core.steps.base import Note
from app.core.steps.names import has_snake_field, renamed
from app.core.steps.workflow import id_list

# Fields of favorites and recent items that reference a record.
ITEM_REFS = ("itemId",)


def upgrade_ui_preferences(value: Any, notes: list[Note]) -> Any:
    """Return ui_preferences camelCased, with defaultFolderId and expandedFolders."""
    if not isinstance(value, dict):
        notes.append((issues.UNKNOWN_SHAPE, f"ui_preferences is {type(value).__name__}, kept as it is"))
        return value
    prefs = renamed(value) if has_snake_field(value) else dict(value)
    if ids.is_number(prefs.get("defaultFolderId")):
        prefs["defaultFolderId"] = ids.number_text(prefs["defaultFolderId"])
    elif "defaultFolderId" not in prefs:
        prefs["defaultFolderId"] = None
    expanded = prefs.get("expandedFolders")
    if expanded is None:
        prefs["expandedFolders"] = []
    elif isinstance(expanded, list):
        prefs["expandedFolders"] = id_list(expanded)
    return prefs


def camel_object(value: Any, name: str, notes: list[Note], nested: tuple[str, ...] = ()) -> Any:
    """Return object ``value`` camelCased (the app reads ``displayName``), and its ``nested`` objects too."""
    if not isinstance(value, dict):
        notes.append((issues.UNKNOWN_SHAPE, f"{name} is {type(value).__name__}, kept as it is"))
        return value
    out = renamed(value) if has_snake_field(value) else value
    for inner in nested:
        part = out.get(inner)
        if isinstance(part, dict) and has_snake_field(part):
            out = dict(out) if out is value else out
            out[inner] = renamed(part)  # performance.cache_size: 50 is the user's cacheSize
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
            item = renamed(item) if has_snake_field(item) else item
            for ref in ITEM_REFS:
                if ids.is_number(item.get(ref)):
                    item = dict(item)
                    item[ref] = ids.number_text(item[ref])
        items.append(item)
    return items
