"""2.0.0: camelCase fields; templates, workflows and snippets carry folderId, folderIds and tags.

1.0.0 -> 2.0.0 (data.md section 3): snake_case fields become camelCase (camelCase
wins, the other value is kept in legacyFields), except a folder's parent_id and
sort_order, which the live app reads and which stay beside their camelCase twins;
numeric ids and the references to them become decimal strings; workflow steps
become step objects the app runs; ui_preferences and user_settings are camelCased.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.core import issues, steps
from app.core.revisions.base import Note, RecordContext, Revision

VERSION = "2.0.0"
# Fields that mark a 2.0.0 record of a non-folder collection.
MARKERS = ("folderId", "folderIds", "tags")


class TemplateV2(BaseModel):
    """A 2.0.0 template: camelCase fields with folders and tags."""

    model_config = ConfigDict(extra="allow")

    id: str | int
    name: str
    content: str
    folderId: str | None = None
    folderIds: list[str] = []
    tags: list[str] = []
    favorite: bool = False
    createdAt: str | None = None
    updatedAt: str | None = None


def _has_camel(record: Mapping[str, Any]) -> bool:
    return any(name[:1].islower() and not name.islower() and "_" not in name for name in record)


def recognise(kind: str, record: Mapping[str, Any], snake: bool, fallback: str | None) -> bool:
    if snake:
        return False
    if kind != "folders" and any(marker in record for marker in MARKERS):
        return True
    # Only one-word fields: the store's version decides, 2.0.0 unless that is older.
    return _has_camel(record) or fallback not in ("legacy", "1.0.0")


def upgrade(kind: str, record: dict[str, Any], ctx: RecordContext) -> dict[str, Any]:
    if ctx.snake:
        record = steps.rename_fields(kind, record)
    steps.stringify_ids(kind, record)
    steps.add_folder_fields(kind, record)
    return record


def upgrade_value(name: str, value: Any, notes: list[Note]) -> Any:
    if name == "ui_preferences":
        return steps.upgrade_ui_preferences(value, notes)
    if name == "user_settings":
        return steps.camel_object(value, "user_settings", notes, nested=("performance",))
    if name in ("favorites", "recent_items"):
        return steps.upgrade_items(name, value, notes)
    if name == "tags" and not isinstance(value, list):
        notes.append((issues.UNKNOWN_SHAPE, "tags is not an array, kept"))
    if name == "theme_preference" and not isinstance(value, str):
        notes.append((issues.UNKNOWN_SHAPE, "theme is not a string, kept"))
    return value


REVISION = Revision(
    VERSION, "1.0.0", recognise, upgrade, upgrade_value, models={"templates": TemplateV2}, summary="camelCase, folders"
)
