"""folderId, folderIds and tags; a folder's parent_id and sort_order beside their twins."""

from __future__ import annotations

import pytest

from app.core import steps
from tests.unit.core.steps.support import (
    TS,
    up,
)


@pytest.mark.parametrize(
    ("record", "folder_id", "folder_ids"),
    [
        ({}, None, []),
        ({"folderId": "a"}, "a", ["a"]),
        ({"folderId": "a", "folderIds": ["b"]}, "a", ["b", "a"]),
        ({"folderId": "a", "folderIds": ["a", "b"]}, "a", ["a", "b"]),
        ({"folderId": None, "folderIds": ["b"]}, None, ["b"]),
        ({"folderIds": None}, None, []),
        ({"folderId": ""}, "", []),
    ],
)
def test_folder_fields(record, folder_id, folder_ids):
    rec = steps.add_folder_fields("snippets", dict(record))
    assert rec["folderId"] == folder_id
    assert rec["folderIds"] == folder_ids
    assert rec["tags"] == []


def test_existing_tags_and_folder_parent_are_kept():
    assert steps.add_folder_fields("templates", {"tags": ["a"]})["tags"] == ["a"]
    assert steps.add_folder_fields("folders", {"id": "f"}) == {"id": "f", "parent_id": None, "parentId": None}
    assert "folderIds" not in steps.add_folder_fields("folders", {"id": "f"})


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # The live app's own folder: parent_id and sort_order stay, the camelCase twins join them.
        ({"parent_id": "p", "sort_order": 3}, {"parent_id": "p", "sort_order": 3, "parentId": "p", "sortOrder": 3}),
        # The real backup's folders: parent_id with sortOrder. The app orders by sort_order and lists
        # folders without one by name: no sort_order is made up, so the order the user sees stays.
        ({"parent_id": None, "sortOrder": 11}, {"parent_id": None, "sortOrder": 11, "parentId": None}),
        # parentId alone (an earlier 2.0.0 shape): parent_id joins it, or the app drops the folder, and
        # sortOrder, the only order such a folder has, becomes its sort_order.
        ({"parentId": "p", "sortOrder": 2}, {"parentId": "p", "sortOrder": 2, "parent_id": "p", "sort_order": 2}),
        # Both, differing: the snake_case value wins, the other is kept.
        (
            {"parent_id": "a", "parentId": "b", "sort_order": 1, "sortOrder": 1},
            {"parent_id": "a", "parentId": "a", "sort_order": 1, "sortOrder": 1, "legacyFields": {"parentId": "b"}},
        ),
    ],
)
def test_folders_keep_parent_id_and_sort_order(record, expected):
    folder = {"id": "f", "name": "Ordner – «Entwürfe»", "createdAt": TS, **record}
    rec, _, version = up("folders", folder, source_key="airprompts_folders")
    assert {k: rec[k] for k in expected} == expected
    assert ("sort_order" in rec) == ("sort_order" in record or ("parent_id" not in record and "sortOrder" in record))
    assert version == "2.0.0"
    again, _, _ = up("folders", rec, source_key="airprompts_folders")
    assert again == rec


def test_a_1_0_0_folder_keeps_its_snake_case_tree_fields():
    folder = {"id": 4, "name": "日本語", "parent_id": 2, "sort_order": 0, "created_at": TS, "item_count": 3}
    rec, _, version = up("folders", folder, source_key="airprompts_folders")
    assert version == "1.0.0"
    assert rec["parent_id"] == rec["parentId"] == "2"
    assert rec["sort_order"] == rec["sortOrder"] == 0
    assert rec["itemCount"] == 3 and "item_count" not in rec and rec["createdAt"] == TS
