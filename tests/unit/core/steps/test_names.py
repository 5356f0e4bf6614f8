"""camelCase names, and records renamed with the camelCase value winning."""

from __future__ import annotations

import pytest

from app.core import steps
from tests.unit.core.steps.support import (
    up,
)


@pytest.mark.parametrize(
    ("name", "camel"),
    [
        ("folder_id", "folderId"),
        ("is_favorite", "favorite"),
        ("a_b_c", "aBC"),
        ("created_at", "createdAt"),
        ("snippet_tags", "snippetTags"),
        ("x_1", "x1"),
        ("recent_items", "recentItems"),
    ],
)
def test_camel_name(name, camel):
    assert steps.camel_name(name) == camel


def test_rename_keeps_non_snake_names_and_values():
    record = {"__proto__": {"a_b": 1}, "constructor": "x", "_private": 1, "Folder_ID": 2, "trailing_": 3, "x_y": [1]}
    out = steps.rename_fields("templates", record)
    assert out == {
        "__proto__": {"a_b": 1},
        "constructor": "x",
        "_private": 1,
        "Folder_ID": 2,
        "trailing_": 3,
        "xY": [1],
    }
    # Nested objects other than workflow steps are not renamed.
    assert out["__proto__"] is record["__proto__"]


def test_camel_wins_and_differing_snake_value_is_kept_in_legacy_fields():
    record = {
        "id": "a",
        "name": "n",
        "content": "c",
        "updated_at": "2025-07-24T15:38:40.821Z",
        "createdAt": "2025-07-24T15:38:40.827Z",
        "updatedAt": "2025-07-24T15:39:15.024Z",
        "folder_id": "same",
        "folderId": "same",
    }
    rec, _, version = up("snippets", record, source_key="airprompts_snippets")
    assert version == "1.0.0"
    assert rec["updatedAt"] == "2025-07-24T15:39:15.024Z"
    assert rec["legacyFields"] == {"updated_at": "2025-07-24T15:38:40.821Z"}
    assert "updated_at" not in rec and "folder_id" not in rec
    assert rec["folderId"] == "same" and rec["folderIds"] == ["same"]


def test_two_snake_spellings_of_one_camel_name_keep_both_values():
    rec = steps.rename_fields("templates", {"x1_a": "first", "x_1_a": "second"})
    assert rec == {"x1A": "first", "legacyFields": {"x_1_a": "second"}}
