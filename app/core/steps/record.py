"""A collection record's names, ids and context: the renaming and id steps of 1.0.0 -> 2.0.0, and 3.0.0's context."""

from __future__ import annotations

from typing import Any

from app.core import ids
from app.core.steps.base import require_object
from app.core.steps.folders import FOLDER_KEEP, FOLDER_PAIRS
from app.core.steps.names import renamed
from app.core.steps.workflow import id_list, workflow_steps

_NO_KEEP: frozenset[str] = frozenset()
_FOLDER_REFS = tuple(name for pair in FOLDER_PAIRS[:1] for name in pair)  # parent_id, parentId


def rename_fields(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """Return a new ``record`` with snake_case fields camelCased, also in a workflow's step objects.

    A folder keeps parent_id and sort_order (the live app reads them); add_folder_fields adds their twins.
    """
    rec = renamed(require_object(record), FOLDER_KEEP if kind == "folders" else _NO_KEEP)
    if kind == "workflows" and isinstance(rec.get("steps"), list):
        rec["steps"] = workflow_steps(rec["steps"], rec.get("id"))
    return rec


def stringify_ids(kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    """Make numeric ids and references to them decimal strings; workflow steps become step objects."""
    require_object(rec)
    if ids.is_number(rec.get("id")):
        rec["id"] = ids.number_text(rec["id"])
    if kind == "folders":
        for name in _FOLDER_REFS:
            if ids.is_number(rec.get(name)):
                rec[name] = ids.number_text(rec[name])
        return rec
    if ids.is_number(rec.get("folderId")):
        rec["folderId"] = ids.number_text(rec["folderId"])
    folder_ids = rec.get("folderIds")
    if isinstance(folder_ids, list):
        rec["folderIds"] = id_list(folder_ids)
    if kind == "workflows":
        steps = rec.get("steps")
        if isinstance(steps, list):
            rec["steps"] = workflow_steps(steps, rec.get("id"))
    return rec


def add_context(kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    """Give a template context and contextEnabled where missing; other kinds unchanged."""
    require_object(rec)
    if kind != "templates":
        return rec
    if rec.get("context") is None:
        rec["context"] = ""
    if rec.get("contextEnabled") is None:
        rec["contextEnabled"] = False
    return rec
