"""Migration engine in Chromium: real fixtures, every version, AirPromptsDB, reloads, write errors, two tabs.

Each store is migrated through ``window.airprompts.dataMigrationService`` and
compared with what the same migration makes of it under CPython
(``app.wiring.build`` on ``MemoryStorage``, its clock pinned to the browser run's
start): the two runtimes must agree byte for byte. One browser context serves
the module; every test starts from a wiped origin.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e import matrix as mx

FIXTURES = mx.FIXTURES
COLLECTIONS = ("templates", "workflows", "snippets", "folders")
OTHER_KEYS = {"airprompts_root_folder": '{"id": "root", "name": "Root", "children": []}', "airprompts_todos": '[{"id": 1, "text": "  keep  me \\u2728"}]'}  # fmt: skip
NAMED = {"id", "folderId", "folderIds", "tags", "favorite", "createdAt", "updatedAt", "context", "contextEnabled", "metadata", "legacyFields"}  # fmt: skip
WORKED_INPUT = (
    '[{"id": 17, "name": "Summary", "content": "Sum up:\\n  {text}", "folder_id": "writing", '
    '"is_favorite": true, "created_at": "2024-03-01T10:00:00.000Z", "custom_flag": 1}]'
)
WORKED_OUTPUT = {
    "id": "17", "name": "Summary", "content": "Sum up:\n  {text}", "folderId": "writing", "folderIds": ["writing"],
    "tags": [], "favorite": True, "createdAt": "2024-03-01T10:00:00.000Z", "updatedAt": "2024-03-01T10:00:00.000Z",
    "customFlag": 1, "context": "", "contextEnabled": False,
    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "1.0.0", "sourceKey": "airprompts_templates"},
}  # fmt: skip
RUN = "api.dataMigrationService.runPendingMigrations({batchSize: %d})"

# Hand-made stores and the exact 3.0.0 records data.md asks for (checked field by field against data.md).
HAND_MADE = {
    "legacy": (
        {
            "templates": '[{"id": 3, "name": "Old", "content": "Hi {name}\\n", "folder_id": 11, "created_at": "2024-05-01T12:00:00.000Z", "is_favorite": false, "last_used": "2024-06-01T00:00:00.000Z"}]',
            "folders": '[{"id": 11, "name": "F", "parent_id": null, "created_at": "2024-05-01T12:00:00.000Z", "sort_order": 1}]',
            "ap_snippets": '[{"id": "s1", "name": "S", "content": "x", "snippet_tags": ["a"], "updated_at": "2024-05-01T12:00:00.000Z"}]',
            "airprompts-workflows": '[{"id": "w1", "name": "W", "steps": [{"template_id": 3, "step_order": 1}], "created_at": "2024-05-01T12:00:00.000Z", "updated_at": "2024-05-01T12:00:00.000Z"}]',
            "ui-prefs": '{"view_mode": "list"}',
            "theme": "dark",
            "user_settings": '{"auto_save": true}',
        },
        {
            "airprompts_templates": [
                {
                    "id": "3",
                    "name": "Old",
                    "content": "Hi {name}\n",
                    "folderId": "11",
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "favorite": False,
                    "lastUsed": "2024-06-01T00:00:00.000Z",
                    "folderIds": ["11"],
                    "tags": [],
                    "context": "",
                    "contextEnabled": False,
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "legacy", "sourceKey": "templates"},
                }
            ],
            "airprompts_workflows": [
                {
                    "id": "w1",
                    "name": "W",
                    "steps": [{"templateId": "3", "stepOrder": 1, "type": "template", "selectedTemplateId": "3"}],
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "folderId": None,
                    "folderIds": [],
                    "tags": [],
                    "metadata": {
                        "schemaVersion": "3.0.0",
                        "migratedFrom": "legacy",
                        "sourceKey": "airprompts-workflows",
                    },
                }
            ],
            "airprompts_snippets": [
                {
                    "id": "s1",
                    "name": "S",
                    "content": "x",
                    "snippetTags": ["a"],
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "folderId": None,
                    "folderIds": [],
                    "tags": [],
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "legacy", "sourceKey": "ap_snippets"},
                }
            ],
            "airprompts_folders": [
                {
                    "id": "11",
                    "name": "F",
                    "parent_id": None,
                    "parentId": None,
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "sort_order": 1,
                    "sortOrder": 1,
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "legacy", "sourceKey": "folders"},
                }
            ],
            "airprompts_ui_preferences": {"viewMode": "list", "defaultFolderId": None, "expandedFolders": []},
            "airprompts_user_settings": {
                "autoSave": True,
                "performance": {"enableVirtualization": True, "enableLazyLoading": True, "cacheSize": 100},
            },
            "airprompts_theme_preference": "dark",
            "airprompts_schema_version": "3.0.0",
        },
    ),
    "1.0.0": (
        {
            "airprompts_schema_version": '"1.0.0"',
            "airprompts_templates": '[{"id": 1700000000000, "name": "Num", "content": "C", "folder_id": "f1", "created_at": "2024-05-01T12:00:00.000Z", "updated_at": "2024-05-01T12:00:00.000Z", "is_favorite": true, "item_count": 2}]',
            "airprompts_folders": '[{"id": "f1", "name": "F", "parent_id": null, "created_at": "2024-05-01T12:00:00.000Z", "updated_at": "2024-05-01T12:00:00.000Z"}]',
            "airprompts_workflows": '[{"id": "w1", "name": "W", "steps": [{"template_id": 1700000000000, "selected_template_id": 1700000000000}], "created_at": "2024-05-01T12:00:00.000Z", "updated_at": "2024-05-01T12:00:00.000Z"}]',
            "airprompts_ui_preferences": '{"view_mode": "grid", "sidebar_width": 240}',
            "airprompts_user_settings": '{"performance": {"cacheSize": 7}}',
        },
        {
            "airprompts_schema_version": "3.0.0",
            "airprompts_templates": [
                {
                    "id": "1700000000000",
                    "name": "Num",
                    "content": "C",
                    "folderId": "f1",
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "favorite": True,
                    "itemCount": 2,
                    "folderIds": ["f1"],
                    "tags": [],
                    "context": "",
                    "contextEnabled": False,
                    "metadata": {
                        "schemaVersion": "3.0.0",
                        "migratedFrom": "1.0.0",
                        "sourceKey": "airprompts_templates",
                    },
                }
            ],
            "airprompts_folders": [
                {
                    "id": "f1",
                    "name": "F",
                    "parent_id": None,
                    "parentId": None,
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "1.0.0", "sourceKey": "airprompts_folders"},
                }
            ],
            "airprompts_workflows": [
                {
                    "id": "w1",
                    "name": "W",
                    "steps": [
                        {"templateId": "1700000000000", "selectedTemplateId": "1700000000000", "type": "template"}
                    ],
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "folderId": None,
                    "folderIds": [],
                    "tags": [],
                    "metadata": {
                        "schemaVersion": "3.0.0",
                        "migratedFrom": "1.0.0",
                        "sourceKey": "airprompts_workflows",
                    },
                }
            ],
            "airprompts_ui_preferences": {
                "viewMode": "grid",
                "sidebarWidth": 240,
                "defaultFolderId": None,
                "expandedFolders": [],
            },
            "airprompts_user_settings": {
                "performance": {"enableVirtualization": True, "enableLazyLoading": True, "cacheSize": 7}
            },
        },
    ),
    "2.0.0": (
        {
            "airprompts_schema_version": '"2.0.0"',
            "airprompts_templates": '[{"id": "t1", "name": "T", "content": "C", "folderId": "f1", "folderIds": ["f1", "f2"], "tags": ["x"], "favorite": false, "createdAt": "2024-05-01T12:00:00.000Z", "updatedAt": "2024-05-01T12:00:00.000Z", "contextEnabled": true, "metadata": {"author": "me"}}]',
            "airprompts_folders": '[{"id": "f1", "name": "F", "parentId": null, "createdAt": "2024-05-01T12:00:00.000Z", "updatedAt": "2024-05-01T12:00:00.000Z"}, {"id": "f2", "name": "G", "parentId": "f1", "createdAt": "2024-05-01T12:00:00.000Z", "updatedAt": "2024-05-01T12:00:00.000Z"}]',
            "airprompts_snippets": '[{"id": "s1", "name": "S", "content": "x", "folderId": null, "folderIds": [], "tags": [], "createdAt": "2024-05-01T12:00:00.000Z", "lastUsed": "2024-06-01T00:00:00.000Z"}]',
            "airprompts_ui_preferences": '{"viewMode": "grid", "defaultFolderId": "f1", "expandedFolders": ["f1"]}',
        },
        {
            "airprompts_schema_version": "3.0.0",
            "airprompts_templates": [
                {
                    "id": "t1",
                    "name": "T",
                    "content": "C",
                    "folderId": "f1",
                    "folderIds": ["f1", "f2"],
                    "tags": ["x"],
                    "favorite": False,
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "contextEnabled": True,
                    "metadata": {
                        "author": "me",
                        "schemaVersion": "3.0.0",
                        "migratedFrom": "2.0.0",
                        "sourceKey": "airprompts_templates",
                    },
                    "context": "",
                }
            ],
            "airprompts_folders": [
                {
                    "id": "f1",
                    "name": "F",
                    "parentId": None,
                    "parent_id": None,
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "2.0.0", "sourceKey": "airprompts_folders"},
                },
                {
                    "id": "f2",
                    "name": "G",
                    "parentId": "f1",
                    "parent_id": "f1",
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "2.0.0", "sourceKey": "airprompts_folders"},
                },
            ],
            "airprompts_snippets": [
                {
                    "id": "s1",
                    "name": "S",
                    "content": "x",
                    "folderId": None,
                    "folderIds": [],
                    "tags": [],
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "lastUsed": "2024-06-01T00:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "2.0.0", "sourceKey": "airprompts_snippets"},
                }
            ],
        },
    ),
    "mixed": (
        {
            "airprompts_schema_version": '"2.0.0"',
            "airprompts_data_version": '"2.0"',
            "airprompts_templates": '[{"id": "a", "name": "camel", "content": "1", "folderId": null, "folderIds": [], "tags": [], "createdAt": "2024-05-01T12:00:00.000Z", "updatedAt": "2024-05-01T12:00:00.000Z"}, {"id": "b", "name": "snake", "content": "2", "folder_id": "f1", "created_at": "2024-05-01T12:00:00.000Z", "updated_at": "2024-05-01T12:00:00.000Z"}, {"id": "c", "name": "both", "content": "3", "updated_at": "2023-01-01T00:00:00.000Z", "updatedAt": "2024-05-01T12:00:00.000Z", "createdAt": "2024-05-01T12:00:00.000Z"}]',
            "airprompts_folders": '[{"id": "f1", "name": "F", "createdAt": "2024-05-01T12:00:00.000Z", "updatedAt": "2024-05-01T12:00:00.000Z"}]',
        },
        {
            "airprompts_schema_version": "3.0.0",
            "airprompts_templates": [
                {
                    "id": "a",
                    "name": "camel",
                    "content": "1",
                    "folderId": None,
                    "folderIds": [],
                    "tags": [],
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "context": "",
                    "contextEnabled": False,
                    "metadata": {
                        "schemaVersion": "3.0.0",
                        "migratedFrom": "2.0.0",
                        "sourceKey": "airprompts_templates",
                    },
                },
                {
                    "id": "b",
                    "name": "snake",
                    "content": "2",
                    "folderId": "f1",
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "folderIds": ["f1"],
                    "tags": [],
                    "context": "",
                    "contextEnabled": False,
                    "metadata": {
                        "schemaVersion": "3.0.0",
                        "migratedFrom": "1.0.0",
                        "sourceKey": "airprompts_templates",
                    },
                },
                {
                    "id": "c",
                    "name": "both",
                    "content": "3",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "legacyFields": {"updated_at": "2023-01-01T00:00:00.000Z"},
                    "folderId": None,
                    "folderIds": [],
                    "tags": [],
                    "context": "",
                    "contextEnabled": False,
                    "metadata": {
                        "schemaVersion": "3.0.0",
                        "migratedFrom": "1.0.0",
                        "sourceKey": "airprompts_templates",
                    },
                },
            ],
            "airprompts_folders": [
                {
                    "id": "f1",
                    "name": "F",
                    "createdAt": "2024-05-01T12:00:00.000Z",
                    "updatedAt": "2024-05-01T12:00:00.000Z",
                    "parent_id": None,
                    "parentId": None,
                    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "2.0.0", "sourceKey": "airprompts_folders"},
                }
            ],
        },
    ),
}


@pytest.fixture(scope="module")
def tab(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield mx.Tab(context, base_url)
    context.close()


def migrate(tab, local, app=None, batch=100):
    """Seed, migrate through the API; return (result, (local, app) after)."""
    page = tab.fresh(local, app or {})
    result = mx.call(page, RUN % batch)
    assert result["success"] is True, result
    return page, result, mx.state(page)


def assert_matches_cpython(result, now, local, app=None, batch=100):
    """The browser's localStorage equals the CPython run's exactly; AirPromptsDB too (record timestamps aside)."""
    _, cpython, _ = mx.reference(local, app or {}, started_at=result["report"]["startedAt"], batch_size=batch)
    assert now[0] == cpython[0], mx.diff((now[0], {}), (cpython[0], {}))
    assert mx.same_as_expected(now, cpython, (local, app or {})), mx.diff(now, cpython)


def assert_second_run_changes_nothing(page):
    before = mx.state(page)
    own_before = mx.own(page, ("history", "backups"))
    again = mx.call(page, RUN % 100)
    assert again["success"] is True and again["migrated"] == 0 and again["runId"] is None
    assert mx.state(page) == before
    assert mx.own(page, ("history", "backups")) == own_before
    assert mx.call(page, "api.dataMigrationService.checkMigrationStatus()")["needed"] is False


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def strings(value, path=""):
    """Yield (path, string) for every string inside ``value``."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")


def assert_record_kept(original: dict, migrated: dict, kind: str, source_key: str) -> None:
    """Every field keeps its value (under its camelCase name, or in legacyFields); every string is byte-identical."""
    assert migrated["id"] == str(original["id"])
    for name, value in original.items():
        if name in ("id", "metadata"):
            continue
        target = "favorite" if name == "is_favorite" else camel(name)
        if name in migrated:
            assert migrated[name] == value, (kind, original["id"], name)
        elif migrated.get(target) == value:
            pass
        else:
            assert migrated.get("legacyFields", {}).get(name) == value, (kind, original["id"], name)
    kept = json.dumps(migrated, ensure_ascii=False)
    for path, text in strings({k: v for k, v in original.items() if k != "id"}):
        assert json.dumps(text, ensure_ascii=False)[1:-1] in kept, (kind, original["id"], path)
    meta = migrated["metadata"]
    assert meta["schemaVersion"] == "3.0.0" and meta["sourceKey"] == source_key
    assert meta["migratedFrom"] in ("legacy", "1.0.0", "2.0.0")
    for name, value in (original.get("metadata") or {}).items():
        if name not in ("schemaVersion", "migratedFrom", "sourceKey"):
            assert meta[name] == value
    for name in ("createdAt", "updatedAt"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", migrated[name]), migrated[name]
    if kind == "templates":
        assert isinstance(migrated["context"], str) and isinstance(migrated["contextEnabled"], bool)
    if kind != "folders":
        assert isinstance(migrated["folderIds"], list) and isinstance(migrated["tags"], list)
        if migrated["folderId"] is not None:
            assert migrated["folderId"] in migrated["folderIds"]


# ---------------------------------------------------------------------- the real fixtures


def fixture_store(name: str) -> dict[str, str]:
    """The fixture as the app stores it: JSON text per key; an array file's exact text under its key."""
    if name == "airprompts-backup":
        export = json.loads((FIXTURES / "airprompts-backup.json").read_text())
        return {key: json.dumps(value, ensure_ascii=False) for key, value in export.items()}
    kind = name.removeprefix("default").lower()
    return {f"airprompts_{kind}": (FIXTURES / f"{name}.json").read_text(), **OTHER_KEYS}


FIXTURE_NAMES = ["airprompts-backup", "defaultTemplates", "defaultFolders", "defaultSnippets", "defaultWorkflows"]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_migrates_to_3_like_cpython(tab, scenario_log, name):
    local = fixture_store(name)
    page, result, now = migrate(tab, local)
    assert result["toVersion"] == "3.0.0" and result["quarantined"] == 0
    assert now[0]["airprompts_schema_version"] == '"3.0.0"'
    for key in ("airprompts_root_folder", "airprompts_todos"):
        assert now[0][key] == local[key], key  # byte-identical
    total = 0
    for kind in COLLECTIONS:
        key = f"airprompts_{kind}"
        if key not in local:
            continue
        original = json.loads(local[key])
        migrated = json.loads(now[0][key])
        assert len(migrated) == len(original), kind
        total += len(original)
        for before, after in zip(original, migrated, strict=True):
            assert_record_kept(before, after, kind, key)
    assert result["migrated"] == total
    assert_matches_cpython(result, now, local)
    scenario_log("migration fixtures", "migrated", name)
    assert_second_run_changes_nothing(page)


# ---------------------------------------------------------------------- hand-made stores, the worked example


@pytest.mark.parametrize("version", list(HAND_MADE))
def test_hand_made_store_reaches_the_exact_3_0_0_records(tab, scenario_log, version):
    local, expected = HAND_MADE[version]
    page, result, now = migrate(tab, local)
    changed = {k: json.loads(v) for k, v in now[0].items() if v != local.get(k)}
    assert changed == expected
    for key, text in local.items():
        assert now[0][key] == text or key in expected, key  # legacy keys stay, byte-identical
    assert now[1] == {}
    assert_matches_cpython(result, now, local)
    scenario_log("migration versions", "migrated", version)
    assert_second_run_changes_nothing(page)


def test_data_md_worked_example_exactly(tab, scenario_log):
    local = {"airprompts_templates": WORKED_INPUT, "airprompts_schema_version": '"1.0.0"'}
    page, result, now = migrate(tab, local)
    assert result["fromVersion"] == "1.0.0" and result["migrated"] == 1
    assert json.loads(now[0]["airprompts_templates"]) == [WORKED_OUTPUT]
    assert now[0]["airprompts_templates"].startswith('[{"id":"17","name":"Summary","content":"Sum up:\\n  {text}"')
    assert now[0]["airprompts_schema_version"] == '"3.0.0"'
    assert_matches_cpython(result, now, local)
    scenario_log("migration versions", "migrated", "worked example")
    assert_second_run_changes_nothing(page)


# ---------------------------------------------------------------------- AirPromptsDB


def test_collection_in_airpromptsdb_migrates_where_it_lives(tab, scenario_log):
    templates = [json.loads(WORKED_INPUT)[0], {"id": "t2", "name": "Two", "content": "\U0001f680", "created_at": mx.TS}]
    app = {"templates": {"key": "templates", "value": templates, "timestamp": 5, "extra": "kept"}}
    local = {
        "airprompts_schema_version": '"1.0.0"',
        "airprompts_snippets": json.dumps([{"id": "s1", "name": "S", "content": "x", "created_at": mx.TS}]),
        # Both places hold workflows: both are migrated, each where it is.
        "airprompts_workflows": json.dumps([{"id": "w-local", "name": "L", "steps": [17], "created_at": mx.TS}]),
    }
    app["workflows"] = {"key": "workflows", "value": [{"id": "w-db", "name": "D", "steps": ["t2"], "created_at": mx.TS}], "timestamp": 6}  # fmt: skip
    page, result, now = migrate(tab, local, app)
    record = now[1]["templates"]
    assert set(record) == {"key", "value", "timestamp", "extra"} and record["extra"] == "kept"
    assert isinstance(record["timestamp"], int)
    worked = dict(WORKED_OUTPUT, metadata=dict(WORKED_OUTPUT["metadata"], sourceKey="AirPromptsDB:templates"))
    assert record["value"][0] == worked
    assert (
        record["value"][1]["content"] == "\U0001f680"
        and record["value"][1]["metadata"]["sourceKey"] == "AirPromptsDB:templates"
    )
    assert "airprompts_templates" not in now[0]  # not copied to localStorage
    assert [w["id"] for w in now[1]["workflows"]["value"]] == ["w-db"]
    assert [w["id"] for w in json.loads(now[0]["airprompts_workflows"])] == ["w-local"]
    assert json.loads(now[0]["airprompts_workflows"])[0]["steps"] == [
        {"id": "w-local:0", "type": "template", "templateId": "17", "selectedTemplateId": "17"}
    ]
    assert_matches_cpython(result, now, local, app)
    scenario_log("migration versions", "migrated", "AirPromptsDB")
    assert_second_run_changes_nothing(page)


# ---------------------------------------------------------------------- reloads, write errors, two tabs

BATCH = 25


def legacy_seed() -> tuple[dict[str, str], dict[str, dict]]:
    """Legacy keys next to 1.0.0 ones, a collection in AirPromptsDB, a bad record, other app keys."""
    templates = [
        {"id": i, "name": f"Legacy {i}", "content": f"\u05e9\u05dc\u05d5\u05dd {i} \U0001f389\n  {{x}}", "created_at": mx.TS,
         "folder_id": "f1", "is_favorite": i % 2 == 1}
        for i in range(120)
    ]  # fmt: skip
    local = {
        "templates": json.dumps(templates, ensure_ascii=False),
        "ap_snippets": json.dumps([{"id": "s1", "name": "S", "content": "x", "created_at": mx.TS}, 5]),
        "theme": "dark",
        "ui-prefs": '{"view_mode": "list"}',
        "airprompts_folders": json.dumps([{"id": "f1", "name": "F", "parent_id": None, "created_at": mx.TS}]),
        "templates_backup": "[]",  # a leftover: backed up, left alone
        **OTHER_KEYS,
        "section-height-sidebar": " 240 ",
        "not_the_apps_key": "x",
    }
    app = {"workflows": {"key": "workflows", "value": [{"id": "w1", "name": "W", "steps": [{"template_id": 3}], "created_at": mx.TS}], "timestamp": 1}}  # fmt: skip
    return local, app


@pytest.fixture(scope="module")
def legacy_reference(tab):
    local, app = legacy_seed()
    page = tab.fresh(local, app)
    mx.install(page, "record")
    result = mx.call(page, RUN % BATCH)
    assert result["success"] is True and result["fromVersion"] == "legacy" and result["quarantined"] == 1
    now = mx.state(page)
    assert_matches_cpython(result, now, local, app, BATCH)
    for key in ("templates", "ap_snippets", "theme", "ui-prefs", "templates_backup"):
        assert now[0][key] == local[key]  # legacy keys stay for the dual-read period
    return {"local": local, "app": app, "original": (local, app), "expected": now, "writes": mx.writes(page),
            "quarantine": mx.quarantine_shape(mx.own(page))}  # fmt: skip


RELOADS = [
    ("backup", "first"), ("backup", "last"), ("transform", "first"), ("transform", "last"), ("stage", "report"),
    ("switch", "app"), ("switch", "version"), ("verify", "start"), ("verify", "read-app"), ("cleanup", "write"),
]  # fmt: skip


@pytest.mark.parametrize("phase,point", RELOADS, ids=[f"{p}-{q}" for p, q in RELOADS])
def test_page_reloaded_mid_phase_ends_exactly_migrated(tab, legacy_reference, scenario_log, phase, point):
    """Reload at a point of a phase; the next load ("/", autostart on) finishes the migration exactly."""
    ref = legacy_reference
    target = mx.resolve(ref["writes"], phase, point)
    page = tab.fresh(ref["local"], ref["app"])
    mx.install(page, "reload", target, reload_url="/")
    with page.expect_navigation(timeout=60_000):
        page.evaluate(mx.START_JS, BATCH)
    mx.wait_ready(page)
    before = page.evaluate("() => JSON.parse(sessionStorage.getItem('__mx'))")
    mx.assert_same_path(before["writes"], ref["writes"], before["fired"])
    assert page.evaluate(mx.WAIT_SETTLED_JS) is not None, "the next load did not finish the migration"
    now = mx.state(page)
    outcome = mx.classify(now, ref["expected"], ref["original"])
    rec = mx.recovered(page)
    scenario_log(
        "migration reload",
        outcome if not mx.ids_unique(*now) else "MIX",
        f"recover {rec['outcome'] if rec else 'none'}",
    )
    assert outcome == "migrated", mx.diff(now, ref["expected"])
    assert not mx.ids_unique(*now)
    mx.assert_own_clean(page, "migrated", ref["quarantine"])


WRITE_ERRORS = [("transform", "middle", "StorageUnavailable"), ("switch", "collections", "RolledBack"),
                ("verify", "read-local", "RolledBack")]  # fmt: skip


@pytest.mark.parametrize("phase,point,name", WRITE_ERRORS, ids=[f"{p}-{q}" for p, q, _ in WRITE_ERRORS])
def test_storage_error_mid_way_leaves_the_original_byte_identical(
    tab, legacy_reference, scenario_log, phase, point, name
):
    ref = legacy_reference
    page = tab.fresh(ref["local"], ref["app"])
    mx.install(page, "error", mx.resolve(ref["writes"], phase, point), "InvalidStateError")
    error = mx.call_error(page, RUN % BATCH)
    page.evaluate(mx.RESET_JS)
    now = mx.state(page)
    scenario_log("migration write-error", "original" if now == ref["original"] else "MIX", error["name"])
    assert now == ref["original"]
    assert error["isError"] and error["name"] == name and error["message"], error
    if name == "RolledBack":
        assert "restored" in error["message"]
    history = mx.call(page, "api.dataMigrationService.getHistory()")
    assert history[0]["success"] is False and history[0]["rolledBack"] is (name == "RolledBack")
    mx.assert_own_clean(page, "original", ref["quarantine"])
    assert mx.call(page, "api.dataMigrationService.checkMigrationStatus()")["needed"] is True


def test_two_tabs_at_once_exactly_one_migrates(tab, legacy_reference, scenario_log):
    ref = legacy_reference
    tab.fresh(ref["local"], ref["app"])
    tab.page.close()
    tab.page = None
    pages = [tab.context.new_page() for _ in range(2)]
    for page in pages:
        page.set_default_timeout(60_000)
        page.goto(tab.base_url + "/", wait_until="commit")
    for page in pages:
        mx.wait_ready(page)
    for page in pages:
        assert page.evaluate(mx.WAIT_SETTLED_JS) is not None
    now = mx.state(pages[0])
    outcome = mx.classify(now, ref["expected"], ref["original"])
    scenario_log("migration tabs", outcome if not mx.ids_unique(*now) else "MIX")
    assert outcome == "migrated" and not mx.ids_unique(*now)
    history = mx.call(pages[1], "api.dataMigrationService.getHistory()")
    assert [h["success"] for h in history] == [True], history
    mx.assert_own_clean(pages[0], "migrated", ref["quarantine"])
    tab.page = pages[0]
