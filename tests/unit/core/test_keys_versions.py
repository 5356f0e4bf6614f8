"""Which keys belong to the app, and how versions are read and detected."""

from __future__ import annotations

import json

import pytest

from app.core import keys
from app.core.versions import TARGET, VERSIONS, detect_record_version, detect_store_version, parse_version_text


@pytest.mark.parametrize(
    "key",
    [
        "airprompts_templates", "airprompts_root_folder", "airprompts_todos", "airprompts_x_ui_state",
        "airprompts-ui-storage", "airprompts_data_version", "theme-storage", "theme-storage-v2",
        "todoSidebarCollapsed", "section-height-main", "context-height-abc", "context-height-mode-abc",
        "templates", "ap_templates", "ap_custom", "airprompts-snippets", "ui-prefs", "theme", "recent_items",
        "templates_backup", "templates_temp", "ui-prefs_backup", "ap_folders_temp",
    ],
)  # fmt: skip
def test_app_keys(key):
    assert keys.is_app_key(key)


@pytest.mark.parametrize("key", ["other-app", "ap_", "themes", "section-height", "backup_templates", "Templates"])
def test_foreign_keys(key):
    assert not keys.is_app_key(key)


@pytest.mark.parametrize(
    ("key", "target"),
    [
        ("templates", "airprompts_templates"), ("user_settings", "airprompts_user_settings"),
        ("ap_snippets", "airprompts_snippets"), ("ap_x", "airprompts_x"),
        ("airprompts-templates", "airprompts_templates"), ("airprompts-workflows", "airprompts_workflows"),
        ("ui-prefs", "airprompts_ui_preferences"), ("theme", "airprompts_theme_preference"),
        ("templates_backup", None), ("templates_temp", None), ("airprompts_templates", None),
        ("airprompts-folders", None), ("theme-storage", None),
    ],
)  # fmt: skip
def test_legacy_target(key, target):
    assert keys.legacy_target(key) == target


def test_managed_keys_exclude_keys_the_app_owns_but_the_migration_never_changes():
    assert keys.collection_key("templates") == "airprompts_templates"
    assert {keys.collection_key(kind) for kind in keys.COLLECTIONS} <= keys.MANAGED_KEYS
    assert keys.SCHEMA_VERSION_KEY in keys.MANAGED_KEYS
    for untouched in ("airprompts_root_folder", "airprompts_todos", "airprompts_feature_flags", keys.DATA_VERSION_KEY):
        assert untouched not in keys.MANAGED_KEYS and keys.is_app_key(untouched)
    assert set(keys.APP_DB_NAMES) >= set(keys.COLLECTIONS) | {"ui_preferences", "user_settings"}
    assert keys.short_name("AirPromptsDB:templates") == keys.short_name("airprompts_templates") == "templates"


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ('"3.0.0"', "3.0.0"), ("3.0.0", "3.0.0"), (" 1.0.0 ", "1.0.0"), ('"2.0"', "2.0.0"), ("2.0", "2.0.0"),
        ("2", "2.0.0"), ('"v1.0.0"', "1.0.0"), ('"4.0.0"', "4.0.0"), (None, None), ("", None), ("null", None),
        ('""', None), ("legacy", "legacy"), ("garbage", "garbage"),
    ],
)  # fmt: skip
def test_parse_version_text(text, version):
    assert parse_version_text(text) == version


TS = "2024-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("kind", "record", "version"),
    [
        ("templates", {"id": 1, "name": "n", "folder_id": "a"}, "1.0.0"),
        ("templates", {"id": 1, "folderIds": [], "updated_at": TS, "updatedAt": TS}, "1.0.0"),
        ("templates", {"id": "a", "folderId": None, "folderIds": [], "tags": []}, "2.0.0"),
        ("templates", {"id": "a", "createdAt": TS}, "2.0.0"),
        ("folders", {"id": "a", "parentId": None}, "2.0.0"),
        ("folders", {"id": "a", "parent_id": None}, "2.0.0"),  # the live app writes parent_id (data.md 3)
            ("folders", {"id": "a", "parent_id": None, "item_count": 2}, "1.0.0"),
        ("templates", {"id": "a", "metadata": {"schemaVersion": "3.0.0"}, "folderIds": []}, "2.0.0"),
        (
            "templates",
            {"id": "a", "metadata": {"schemaVersion": "3.0.0"}, "context": "", "contextEnabled": False},
            "3.0.0",
        ),
        ("snippets", {"id": "a", "metadata": {"schemaVersion": "3.0.0"}}, "3.0.0"),
        ("workflows", {"id": "a", "tags": [], "steps": [{"template_id": 1}]}, "1.0.0"),
        ("templates", {"id": "a", "name": "n", "__proto__": {}}, "2.0.0"),
    ],
)
def test_detect_record_version(kind, record, version):
    assert detect_record_version(kind, record) == version


def test_ambiguous_records_follow_the_store():
    record = {"id": "a", "name": "n", "content": "c"}
    assert detect_record_version("templates", record, "legacy") == "legacy"
    assert detect_record_version("templates", record, "2.0.0") == "2.0.0"
    assert detect_record_version("templates", record, "3.0.0") == "2.0.0"
    assert detect_record_version("templates", {"created_at": TS}, "legacy") == "legacy"


def dumps(value):
    return json.dumps(value)


def test_detect_store_version_prefers_the_recorded_version():
    local = {keys.SCHEMA_VERSION_KEY: '"2.0.0"', keys.DATA_VERSION_KEY: "2.0", "templates": "[]"}
    assert detect_store_version(local, []) == "2.0.0"
    assert detect_store_version({keys.DATA_VERSION_KEY: '"2.0"'}, []) == "2.0.0"
    assert detect_store_version({keys.SCHEMA_VERSION_KEY: "5.1.0"}, []) == "5.1.0"


def test_detect_store_version_without_a_record():
    assert detect_store_version({"templates": dumps([{"id": 1}]), "theme": "dark"}, []) == "legacy"
    assert detect_store_version({"templates": None}, []) == TARGET
    assert detect_store_version({}, []) == TARGET
    assert detect_store_version({"other": "x", "airprompts_todos": "[]"}, []) == TARGET
    mixed = [{"id": "a", "folderIds": [], "tags": []}, {"id": "b", "updated_at": TS}]
    assert detect_store_version({"airprompts_templates": dumps(mixed)}, []) == "1.0.0"
    assert detect_store_version({"airprompts_snippets": dumps(mixed[:1])}, []) == "2.0.0"
    assert detect_store_version({"airprompts_ui_preferences": "{}"}, []) == "1.0.0"
    assert detect_store_version({}, ["templates"]) == "1.0.0"
    assert detect_store_version({"airprompts_templates": "not json"}, []) == "1.0.0"
    assert set(VERSIONS) >= {detect_store_version({}, [])}


def test_detect_store_version_of_the_backup_fixture():
    from pathlib import Path

    backup = json.loads((Path(__file__).parent / "fixtures" / "airprompts-backup.json").read_text())
    local = {key: dumps(value) for key, value in backup.items()}
    assert detect_store_version(local, []) == "1.0.0"


def test_version_text_is_json_quoted_and_parses_back():
    from app.core.versions import version_text

    assert version_text() == '"3.0.0"'
    assert parse_version_text(version_text("2.0.0")) == "2.0.0"


@pytest.mark.parametrize(
    ("target", "sources"),
    [
        ("airprompts_templates", ["templates", "ap_templates", "airprompts-templates"]),
        ("airprompts_folders", ["folders", "ap_folders"]),
        ("airprompts_ui_preferences", ["ui-prefs", "ap_ui_preferences"]),
        ("airprompts_theme_preference", ["theme", "ap_theme_preference"]),
    ],
)
def test_legacy_sources_are_every_spelling_that_moves_to_the_target_oldest_first(target, sources):
    assert keys.legacy_sources(target) == sources
    assert all(keys.legacy_target(source) == target for source in sources)
    assert [keys.legacy_form(s) for s in sources] == sorted(
        (keys.legacy_form(s) for s in sources), key=keys.LEGACY_FORMS.index
    )
