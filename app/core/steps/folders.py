"""Folder fields: folderId, folderIds and tags on a filed record; both spellings of a folder's tree fields."""

from __future__ import annotations

from typing import Any

from app.core.steps.base import keep_legacy, require_object, same_value

# Folder fields the live app reads and writes in snake_case (data.md section 6): they stay,
# and their camelCase twins are added with the same values; the snake_case value wins.
FOLDER_PAIRS = (("parent_id", "parentId"), ("sort_order", "sortOrder"))
FOLDER_KEEP = frozenset(snake for snake, _ in FOLDER_PAIRS)


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
        keep_legacy(rec, extra)


def add_folder_fields(kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    """Give ``rec`` folderId, folderIds and tags (a folder: both spellings of parent_id and sort_order)."""
    require_object(rec)
    if kind == "folders":
        _folder_pairs(rec)
        return rec
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
    return rec
