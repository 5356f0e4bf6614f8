"""The record and value steps of data.md section 3."""

from __future__ import annotations

import copy

import pytest

from app.core import revisions, steps
from app.core.revisions import RecordContext, v2_0_0, v3_0_0
from app.core.revisions import upgrade_record as upgrade
from app.core.steps import RecordError
from tests import worked_example

NOW = "2025-06-01T12:00:00.000Z"
KEY = "airprompts_templates"
TS = "2024-03-01T10:00:00.000Z"


# The operations change the dict they are given (the caller owns a copy): these give them one.
def fill_timestamps(record, now):
    return steps.fill_timestamps(dict(record), now)


def add_metadata(record, migrated_from, source_key):
    return steps.add_metadata(dict(record), migrated_from, source_key, "3.0.0")


def forwards_1_to_2(kind, record):
    """The registered 1.0.0 -> 2.0.0 upgrade, as the chain runs it."""
    return v2_0_0.REVISION.upgrade(kind, dict(record), RecordContext(kind, NOW))


def forwards_2_to_3(kind, record, *, migrated_from, source_key, now):
    """The registered 2.0.0 -> 3.0.0 upgrade, then the target's metadata stamp."""
    ctx = RecordContext(kind, now)
    rec = v3_0_0.REVISION.upgrade(kind, dict(record), ctx)
    return steps.add_metadata(rec, migrated_from, source_key, "3.0.0", ctx.notes)


def upgrade_value(name, value):
    return revisions.upgrade_value(name, value)


def up(kind, record, source_key=KEY, **kw):
    rec, notes, version = upgrade(kind, record, source_key=source_key, now=NOW, **kw)
    return rec, notes, version


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


def test_equal_looking_values_of_other_types_are_not_the_same():
    rec = steps.rename_fields("templates", {"is_favorite": 1, "favorite": True, "a_b": 1.0, "aB": 1})
    assert rec["favorite"] is True and rec["aB"] == 1
    assert rec["legacyFields"] == {"is_favorite": 1, "a_b": 1.0}


def test_two_snake_spellings_of_one_camel_name_keep_both_values():
    rec = steps.rename_fields("templates", {"x1_a": "first", "x_1_a": "second"})
    assert rec == {"x1A": "first", "legacyFields": {"x_1_a": "second"}}


def test_existing_legacy_fields_are_merged_not_replaced():
    rec = steps.rename_fields("templates", {"legacyFields": {"old": 1}, "name_x": "a", "nameX": "b"})
    assert rec["legacyFields"] == {"old": 1, "name_x": "a"}


def test_conflicting_legacy_fields_are_unrepairable():
    with pytest.raises(RecordError):
        steps.rename_fields("templates", {"legacyFields": {"name_x": "z"}, "name_x": "a", "nameX": "b"})
    with pytest.raises(RecordError):
        steps.rename_fields("templates", {"legacyFields": "text", "name_x": "a", "nameX": "b"})


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


def test_workflow_steps_keep_their_type_and_selection():
    workflow = {
        "id": "w",
        "name": "w",
        "steps": [
            {"id": "s1", "type": "info", "content": "Lies dies zuerst – «wichtig»"},
            {"id": "s2", "type": "insert", "templateId": "t1"},
            {"id": "s3", "templateOptions": ["t1", 2], "selectedTemplateId": None, "templateId": "t1"},
            {"id": "s4", "type": "workflow", "workflowId": "w2"},
        ],
    }
    rec, _, _ = up("workflows", workflow, source_key="airprompts_workflows")
    assert rec["steps"] == [
        {"id": "s1", "type": "info", "content": "Lies dies zuerst – «wichtig»"},
        {"id": "s2", "type": "insert", "templateId": "t1", "selectedTemplateId": "t1"},
        {"id": "s3", "templateOptions": ["t1", "2"], "selectedTemplateId": "t1", "templateId": "t1", "type": "template"},
        {"id": "s4", "type": "workflow", "workflowId": "w2"},
    ]
    again, _, _ = up("workflows", rec, source_key="airprompts_workflows")
    assert again["steps"] == rec["steps"]


def test_workflow_step_conflict_keeps_snake_value_on_the_step():
    rec = steps.rename_fields("workflows", {"steps": [{"template_id": "a", "templateId": "b"}]})
    assert rec["steps"] == [
        {"templateId": "b", "legacyFields": {"template_id": "a"}, "type": "template", "selectedTemplateId": "b"}
    ]


def test_booleans_are_not_numeric_ids():
    rec = steps.stringify_ids("templates", {"id": True, "folderId": False})
    assert rec["id"] is True and rec["folderId"] is False


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


def test_context_defaults_only_for_templates_and_only_where_missing():
    assert steps.add_context("templates", {}) == {"context": "", "contextEnabled": False}
    kept = {"context": "ctx", "contextEnabled": True}
    assert steps.add_context("templates", dict(kept)) == kept
    assert steps.add_context("snippets", {}) == {}


@pytest.mark.parametrize(
    ("record", "created", "updated"),
    [
        ({"createdAt": "2024-01-01T00:00:00Z"}, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ({"updatedAt": "2024-01-02T00:00:00Z"}, "2024-01-02T00:00:00Z", "2024-01-02T00:00:00Z"),
        ({"lastUsed": "2024-01-03T00:00:00.000Z"}, "2024-01-03T00:00:00.000Z", "2024-01-03T00:00:00.000Z"),
        ({"createdAt": "2024-01-01", "updatedAt": "2024-02-01"}, "2024-01-01", "2024-02-01"),
    ],
)
def test_timestamps_fill_from_each_other_then_last_used(record, created, updated):
    rec, notes = fill_timestamps(record, NOW)
    assert (rec["createdAt"], rec["updatedAt"]) == (created, updated)
    assert notes == []


def test_timestamps_fall_back_to_the_migration_start_and_report_it():
    rec, notes = fill_timestamps({"createdAt": None, "lastUsed": "never"}, NOW)
    assert rec["createdAt"] == NOW and rec["updatedAt"] == NOW
    assert [code for code, _ in notes] == ["timestamp-repaired"]
    assert rec["lastUsed"] == "never"


def test_epoch_millisecond_timestamps_become_iso_and_are_reported():
    rec, notes = fill_timestamps({"createdAt": 1709287200000, "updatedAt": "1709287200123"}, NOW)
    assert rec["createdAt"] == "2024-03-01T10:00:00.000Z"
    assert rec["updatedAt"] == "2024-03-01T10:00:00.123Z"
    assert [code for code, _ in notes] == ["timestamp-converted", "timestamp-converted"]
    again, notes2 = fill_timestamps(rec, NOW)
    assert again == rec and notes2 == []


def test_numeric_last_used_fills_without_changing_last_used():
    rec, _ = fill_timestamps({"lastUsed": 0}, NOW)
    assert rec == {"lastUsed": 0, "createdAt": "1970-01-01T00:00:00.000Z", "updatedAt": "1970-01-01T00:00:00.000Z"}


def test_unusable_epoch_is_unrepairable():
    with pytest.raises(RecordError):
        fill_timestamps({"createdAt": 10**20}, NOW)


def test_metadata_is_merged_into_existing_metadata():
    rec, notes = add_metadata({"metadata": {"author": "me", "schemaVersion": "2.0.0"}}, "2.0.0", KEY)
    assert rec["metadata"] == {"author": "me", "schemaVersion": "3.0.0", "migratedFrom": "2.0.0", "sourceKey": KEY}
    assert rec["legacyFields"] == {"metadata.schemaVersion": "2.0.0"}
    assert notes == []


def test_metadata_of_a_3_0_0_record_is_never_changed():
    metadata = {"schemaVersion": "3.0.0", "migratedFrom": "1.0.0", "sourceKey": "AirPromptsDB:templates"}
    rec, _ = add_metadata({"metadata": metadata}, "3.0.0", "airprompts_templates")
    assert rec["metadata"] is metadata


def test_metadata_that_is_not_an_object_is_kept_in_legacy_fields():
    rec, notes = add_metadata({"metadata": "v1"}, "1.0.0", KEY)
    assert rec["metadata"]["schemaVersion"] == "3.0.0"
    assert rec["legacyFields"] == {"metadata": "v1"}
    assert notes[0][0] == "metadata-replaced"


def test_missing_id_gets_a_stable_id_derived_from_content():
    record = {"name": "n", "content": "c"}
    first, notes, _ = up("templates", record)
    second, _, _ = up("templates", dict(record))
    assert first["id"] == second["id"] and first["id"].startswith("rec-") and len(first["id"]) == 20
    assert notes[0][0] == "missing-id"
    other, _, _ = up("templates", {"name": "n", "content": "d"})
    assert other["id"] != first["id"]


def test_non_object_record_is_unrepairable():
    with pytest.raises(RecordError) as info:
        up("templates", ["not", "a", "record"])
    assert info.value.code == "not-an-object"


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


def test_ui_preferences_step():
    value, notes = upgrade_value("ui_preferences", {"sidebar_width": 300, "viewMode": "grid"})
    assert value == {"sidebarWidth": 300, "viewMode": "grid", "defaultFolderId": None, "expandedFolders": []}
    assert notes == []
    kept, _ = upgrade_value("ui_preferences", {"defaultFolderId": 5, "expandedFolders": [1, "a"]})
    assert kept == {"defaultFolderId": "5", "expandedFolders": ["1", "a"]}
    assert upgrade_value("ui_preferences", value) == (value, [])
    odd, notes = upgrade_value("ui_preferences", "compact")
    assert odd == "compact" and notes[0][0] == "unknown-shape"


def test_user_settings_performance_defaults_merge_under_user_values():
    value, _ = upgrade_value("user_settings", {"language": "en"})
    assert value == {"language": "en", "performance": dict(v3_0_0.PERFORMANCE_DEFAULTS)}
    value, _ = upgrade_value("user_settings", {"performance": {"cacheSize": 5, "other": 1}})
    assert value["performance"] == {
        "enableVirtualization": True,
        "enableLazyLoading": True,
        "cacheSize": 5,
        "other": 1,
    }
    assert upgrade_value("user_settings", value) == (value, [])
    odd, notes = upgrade_value("user_settings", {"performance": "fast"})
    assert odd == {"performance": "fast"} and notes[0][0] == "unknown-shape"


def test_favorites_and_recent_items_are_camelcased():
    value, _ = upgrade_value(
        "recent_items", [{"item_type": "template", "item_id": 17, "accessed_at": NOW}, "raw", {"itemId": "x"}]
    )
    assert value == [{"itemType": "template", "itemId": "17", "accessedAt": NOW}, "raw", {"itemId": "x"}]
    assert upgrade_value("recent_items", value) == (value, [])


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


def test_user_settings_are_camel_cased_and_keep_the_users_cache_size():
    value, _ = upgrade_value("user_settings",
        {"display_name": "Zoë", "performance": {"cache_size": 50, "enable_lazy_loading": False}}
    )
    assert value == {
        "displayName": "Zoë",
        "performance": {"enableVirtualization": True, "enableLazyLoading": False, "cacheSize": 50},
    }
    assert upgrade_value("user_settings", value)[0] == value
