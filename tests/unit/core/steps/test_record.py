"""A record's names, ids and context, and the record steps of data.md section 3 composed."""

from __future__ import annotations

import copy

import pytest

from app.core import steps
from tests import worked_example
from tests.unit.core.steps.support import (
    KEY,
    NOW,
    add_metadata,
    fill_timestamps,
    forwards_1_to_2,
    forwards_2_to_3,
    up,
)


def test_worked_example_of_data_md_exactly():
    record = dict(worked_example.INPUT)
    expected = worked_example.OUTPUT
    rec, notes, version = up("templates", record, fallback="1.0.0")
    assert rec == expected
    assert version == "1.0.0"
    assert notes == []
    again, notes2, version2 = up("templates", rec)
    assert again == expected and notes2 == [] and version2 == "3.0.0"


def test_upgrade_never_mutates_its_input():
    record = {"id": 1, "name": "n", "content": "c", "folder_ids": [2], "updated_at": 5, "metadata": {"x": 1}}
    before = copy.deepcopy(record)
    up("templates", record)
    assert record == before


def test_numeric_ids_and_references_become_decimal_strings():
    workflow = {
        "id": 1700000000000,
        "name": "w",
        "folder_id": 5,
        "folderIds": [5, "x", 6.0],
        "steps": [
            1700000000001,
            "tpl",
            {"template_id": 3, "selected_template_id": 4, "step_name": "s", "id": 9},
            {"templateId": 7},
        ],
    }
    rec, _, _ = up("workflows", workflow, source_key="airprompts_workflows")
    assert rec["id"] == "1700000000000"
    assert rec["folderId"] == "5"
    assert rec["folderIds"] == ["5", "x", "6"]
    # Bare ids become the step objects the live app runs (data.md section 3).
    assert rec["steps"] == [
        {
            "id": "1700000000000:0",
            "type": "template",
            "templateId": "1700000000001",
            "selectedTemplateId": "1700000000001",
        },
        {"id": "1700000000000:1", "type": "template", "templateId": "tpl", "selectedTemplateId": "tpl"},
        {"templateId": "3", "selectedTemplateId": "4", "stepName": "s", "id": 9, "type": "template"},
        {"templateId": "7", "type": "template", "selectedTemplateId": "7"},
    ]
    folder, _, _ = up("folders", {"id": 2, "name": "f", "parent_id": 1}, source_key="airprompts_folders")
    assert folder["id"] == "2" and folder["parentId"] == "1" and folder["parent_id"] == "1"


def test_booleans_are_not_numeric_ids():
    rec = steps.stringify_ids("templates", {"id": True, "folderId": False})
    assert rec["id"] is True and rec["folderId"] is False


def test_context_defaults_only_for_templates_and_only_where_missing():
    assert steps.add_context("templates", {}) == {"context": "", "contextEnabled": False}
    kept = {"context": "ctx", "contextEnabled": True}
    assert steps.add_context("templates", dict(kept)) == kept
    assert steps.add_context("snippets", {}) == {}


def test_missing_id_gets_a_stable_id_derived_from_content():
    record = {"name": "n", "content": "c"}
    first, notes, _ = up("templates", record)
    second, _, _ = up("templates", dict(record))
    assert first["id"] == second["id"] and first["id"].startswith("rec-") and len(first["id"]) == 20
    assert notes[0][0] == "missing-id"
    other, _, _ = up("templates", {"name": "n", "content": "d"})
    assert other["id"] != first["id"]


def test_legacy_store_labels_snake_records_legacy():
    rec, _, version = up("templates", {"id": "a", "name": "n", "content": "c", "created_at": NOW}, fallback="legacy")
    assert version == "legacy" and rec["metadata"]["migratedFrom"] == "legacy"


STEP_CASES = [
    ("templates", {"id": 1, "name": "n", "content": "c", "folder_id": 2, "updated_at": 5, "x_y": "z"}),
    ("workflows", {"id": "w", "name": "n", "steps": [3, {"template_id": 3}], "folderIds": [1]}),
    ("snippets", {"id": "s", "name": "n", "content": "c", "createdAt": "2024-01-01T00:00:00Z", "tags": ["t"]}),
    ("folders", {"id": 4, "name": "f", "parent_id": 1, "sort_order": 2, "metadata": {"schemaVersion": "1.0.0"}}),
]


@pytest.mark.parametrize(("kind", "record"), STEP_CASES)
def test_every_step_is_idempotent(kind, record):
    once = steps.rename_fields(kind, record)
    assert steps.rename_fields(kind, once) == once
    once = steps.stringify_ids(kind, dict(record))
    assert steps.stringify_ids(kind, dict(once)) == once
    once = steps.add_folder_fields(kind, dict(record))
    assert steps.add_folder_fields(kind, dict(once)) == once
    once = steps.add_context(kind, dict(record))
    assert steps.add_context(kind, dict(once)) == once
    once, _ = fill_timestamps(record, NOW)
    assert fill_timestamps(once, "2030-01-01T00:00:00Z") == (once, [])
    once, _ = add_metadata(record, "1.0.0", KEY)
    assert add_metadata(once, "2.0.0", "other") == (once, [])
    once = forwards_1_to_2(kind, record)
    assert forwards_1_to_2(kind, once) == once
    full, _, version = up(kind, record)
    v3, _ = forwards_2_to_3(kind, once, migrated_from=version, source_key=KEY, now=NOW)
    assert forwards_2_to_3(kind, v3, migrated_from="2.0.0", source_key="x", now="2030-01-01T00:00:00Z") == (
        v3,
        [],
    )
    assert full == v3
    assert up(kind, full)[:2] == (full, [])
