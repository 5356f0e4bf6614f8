"""The batch transformer, single-record and value upgrades, and the real fixtures."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.core import keys
from app.core.jsonstream import ArrayWriter, iter_array_batches
from app.core.transform import BatchResult, CollectionTransformer, Context, upgrade_record, upgrade_value
from app.core.validator import References, Validator

FIXTURES = Path(__file__).parent / "fixtures"
NOW = "2025-06-01T12:00:00.000Z"
NAMED = {
    "id", "name", "content", "folderId", "folderIds", "tags", "favorite", "createdAt", "updatedAt",
    "context", "contextEnabled", "metadata", "parentId", "steps", "legacyFields",
}  # fmt: skip


def run_all(kind, records, *, source_key=None, store_version="1.0.0", batch=100, use_jsonschema=False, refs=None):
    """Run a whole collection through one transformer, batch by batch, like the executor."""
    refs = refs if refs is not None else References()
    ctx = Context(kind, source_key or keys.collection_key(kind), store_version, NOW)
    transformer = CollectionTransformer(ctx, Validator(use_jsonschema=use_jsonschema), refs)
    total = BatchResult()
    for start in range(0, len(records), batch):
        result = transformer.run(records[start : start + batch], start)
        total.records += result.records
        total.quarantined += result.quarantined
        total.repairs += result.repairs
        for version, count in result.counts.items():
            total.counts[version] = total.counts.get(version, 0) + count
    return total


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def backup_collections():
    backup = load("airprompts-backup.json")
    return [(kind, backup[keys.collection_key(kind)]) for kind in keys.COLLECTIONS]


FIXTURE_CASES = [
    ("templates", load("defaultTemplates.json")),
    ("folders", load("defaultFolders.json")),
    ("snippets", load("defaultSnippets.json")),
    ("workflows", load("defaultWorkflows.json")),
    *backup_collections(),
]


def assert_preserved(original, migrated):
    """Every unnamed field keeps its value and every string stays byte-identical."""
    assert migrated["id"] == str(original.get("id"))
    for name, value in original.items():
        if name in migrated and name not in ("id",):
            if name == "metadata":
                continue
            assert json.dumps(migrated[name]) == json.dumps(value), name
        else:
            # Renamed (snake) or kept under legacyFields.
            assert "_" in name or name == "id"
    for name in ("content", "name", "description"):
        if name in original:
            assert migrated[name].encode("utf-8") == original[name].encode("utf-8")


@pytest.mark.parametrize(("kind", "records"), FIXTURE_CASES, ids=lambda v: v if isinstance(v, str) else len(v))
def test_fixture_migrates_completely_and_idempotently(kind, records):
    before = copy.deepcopy(records)
    first = run_all(kind, records, use_jsonschema=True)
    assert records == before
    assert first.quarantined == []
    assert len(first.records) == len(records)
    for original, migrated in zip(records, first.records, strict=True):
        assert_preserved(original, migrated)
        assert migrated["metadata"]["schemaVersion"] == "3.0.0"
        assert migrated["metadata"]["sourceKey"] == keys.collection_key(kind)
    second = run_all(kind, first.records, store_version="3.0.0", use_jsonschema=True)
    assert second.records == first.records
    assert [issue for issue in second.repairs if not issue.code.startswith("dangling")] == []
    if records:
        assert second.counts == {"3.0.0": len(records)}


def test_default_templates_and_snippets_resolve_against_default_folders():
    refs = References()
    folders = run_all("folders", load("defaultFolders.json"), refs=refs)
    templates = run_all("templates", load("defaultTemplates.json"), refs=refs)
    snippets = run_all("snippets", load("defaultSnippets.json"), refs=refs)
    assert folders.quarantined == templates.quarantined == snippets.quarantined == []
    assert refs.dangling() == []
    assert all(t["folderId"] in t["folderIds"] for t in templates.records)


def test_default_templates_without_their_folders_only_warn():
    refs = References()
    templates = run_all("templates", load("defaultTemplates.json"), refs=refs)
    dangling = refs.dangling()
    assert len(templates.records) == len(load("defaultTemplates.json"))
    assert {issue.code for issue in dangling} == {"dangling-folder"}
    assert {issue.message.split("'")[1] for issue in dangling} == {"workshop", "blocks"}


def test_backup_snippet_with_both_spellings_keeps_snake_value():
    backup = load("airprompts-backup.json")
    result = run_all("snippets", backup["airprompts_snippets"], store_version="1.0.0")
    (snippet,) = result.records
    assert snippet["updatedAt"] == "2025-07-24T15:39:15.024Z"
    assert snippet["legacyFields"] == {"updated_at": "2025-07-24T15:38:40.821Z"}
    assert snippet["metadata"]["migratedFrom"] == "1.0.0"
    assert snippet["folderFavorites"] == backup["airprompts_snippets"][0]["folderFavorites"]
    assert result.counts == {"1.0.0": 1}


def test_backup_folders_keep_parent_id_and_their_order_as_the_app_shows_it():
    # The live app builds its tree from parent_id and orders by sort_order (data.md section 6); these
    # folders have sortOrder only, so it lists them by name, and still does after the run.
    backup = load("airprompts-backup.json")
    result = run_all("folders", backup["airprompts_folders"])
    assert [f["parentId"] for f in result.records] == [None, None]
    assert [f["parent_id"] for f in result.records] == [None, None]
    assert all("sort_order" not in f for f in result.records)
    assert [f["sortOrder"] for f in result.records] == [11, 12]


def test_fixture_text_round_trips_through_the_stream_writer():
    text = (FIXTURES / "defaultTemplates.json").read_text(encoding="utf-8")
    writer = ArrayWriter()
    refs = References()
    ctx = Context("templates", "airprompts_templates", "2.0.0", NOW)
    transformer = CollectionTransformer(ctx, Validator(), refs)
    start = 0
    for batch in iter_array_batches(text, 3):
        writer.extend(transformer.run(batch, start).records)
        start += len(batch)
    written = json.loads(writer.finish())
    assert len(written) == len(json.loads(text))
    assert [t["content"] for t in written] == [t["content"] for t in json.loads(text)]


def test_bad_records_are_quarantined_whole_and_never_block_the_rest():
    good = {"id": "g", "name": "good", "content": "c"}
    wrong_name = {"id": "n", "name": 5, "content": "c"}
    wrong_tags = {"id": "t", "name": "x", "content": "c", "tags": "x"}
    no_content = {"id": "nc", "name": "x"}
    snake_wrong = {"id": "s", "name": "x", "content": "c", "folder_ids": "not-a-list"}
    batch = [good, "text", 42, None, [1], wrong_name, wrong_tags, no_content, snake_wrong]
    before = copy.deepcopy(batch)
    result = run_all("templates", batch)
    assert [r["id"] for r in result.records] == ["g"]
    assert [q.index for q in result.quarantined] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [q.record for q in result.quarantined] == before[1:]
    assert result.quarantined[-1].record is snake_wrong  # the original, not a half-upgraded copy
    assert all(q.errors for q in result.quarantined)
    assert [q.code for q in result.quarantined[:4]] == ["not-an-object"] * 4
    assert {q.code for q in result.quarantined[4:]} == {"invalid-type"}
    assert all(q.source_key == "airprompts_templates" for q in result.quarantined)
    assert {i.index for i in result.repairs if i.code in ("not-an-object", "invalid-type")} == set(range(1, 9))
    json.dumps([q.to_dict() for q in result.quarantined])


def test_duplicate_ids_keep_the_first_and_quarantine_later_ones_across_batches():
    records = [
        {"id": 17, "name": "first", "content": "a"},
        {"id": "x", "name": "x", "content": "b"},
        {"id": "17", "name": "second", "content": "c"},
        {"id": 17.0, "name": "third", "content": "d"},
    ]
    result = run_all("templates", records, batch=1)
    assert [r["name"] for r in result.records] == ["first", "x"]
    assert [q.record for q in result.quarantined] == records[2:]
    assert {q.code for q in result.quarantined} == {"duplicate-id"}
    assert [i.code for i in result.repairs].count("duplicate-id") == 2


def test_an_invalid_first_copy_does_not_make_the_valid_one_a_duplicate():
    result = run_all("templates", [{"id": "a", "name": 1, "content": "c"}, {"id": "a", "name": "ok", "content": "c"}])
    assert [r["name"] for r in result.records] == ["ok"]
    assert [q.index for q in result.quarantined] == [0]


def test_missing_ids_are_stable_across_runs_and_reported():
    records = [{"name": "a", "content": "1"}, {"id": "", "name": "b", "content": "2"}, {"id": None, "name": "c"}]
    first = run_all("snippets", records)
    second = run_all("snippets", copy.deepcopy(records))
    assert [r["id"] for r in first.records] == [r["id"] for r in second.records]
    assert all(r["id"].startswith("rec-") for r in first.records)
    assert [q.index for q in first.quarantined] == [2]  # no content: missing id repaired, still invalid
    assert [i.code for i in first.repairs if i.code == "missing-id"] == ["missing-id"] * 2


def test_identical_records_without_ids_collide_and_the_copy_is_quarantined():
    record = {"name": "a", "content": "1"}
    result = run_all("snippets", [record, dict(record)])
    assert len(result.records) == 1 and [q.code for q in result.quarantined] == ["duplicate-id"]


def test_one_megabyte_content_is_unchanged():
    content = ('A\u00e9\u4e2d\U0001f600\u202e\n\t"\\ ' * 70_000)[:1_000_000]
    result = run_all("templates", [{"id": 1, "name": "big", "content": content, "created_at": NOW}])
    (record,) = result.records
    assert record["content"] is content
    assert json.loads(ArrayWriter().finish()) == []
    writer = ArrayWriter()
    writer.extend(result.records)
    assert json.loads(writer.finish())[0]["content"] == content


def test_dangling_references_are_warnings_and_records_are_kept():
    refs = References()
    run_all("folders", [{"id": "f1", "name": "F", "parentId": "ghost"}], refs=refs)
    templates = run_all("templates", [{"id": 1, "name": "t", "content": "c", "folderIds": ["f1", "nope"]}], refs=refs)
    workflows = run_all(
        "workflows",
        [{"id": "w", "name": "w", "steps": [1, "missing", {"templateId": "gone"}, {"selectedTemplateId": 1}]}],
        refs=refs,
    )
    assert len(templates.records) == 1 and len(workflows.records) == 1
    found = sorted((i.kind, i.code, i.message.split("'")[1]) for i in refs.dangling())
    assert found == [
        ("folders", "dangling-parent", "ghost"),
        ("templates", "dangling-folder", "nope"),
        ("workflows", "dangling-template", "gone"),
        ("workflows", "dangling-template", "missing"),
    ]
    assert all(json.dumps(i.to_dict()) for i in refs.dangling())


def test_counts_report_each_source_version():
    records = [
        {"id": "a", "name": "a", "content": "c", "created_at": NOW},
        {"id": "b", "name": "b", "content": "c", "folderIds": [], "tags": []},
        {
            "id": "c", "name": "c", "content": "c", "context": "", "contextEnabled": False,
            "metadata": {"schemaVersion": "3.0.0"}, "createdAt": NOW, "updatedAt": NOW,
        },
    ]  # fmt: skip
    assert run_all("templates", records).counts == {"1.0.0": 1, "2.0.0": 1, "3.0.0": 1}


def test_upgrade_record_for_transform_on_read():
    record, issues = upgrade_record("templates", {"id": 3, "name": "n", "content": "c"}, "AirPromptsDB:templates", NOW)
    assert record["id"] == "3" and record["metadata"]["sourceKey"] == "AirPromptsDB:templates"
    assert [i.code for i in issues] == ["timestamp-repaired"]
    assert upgrade_record("templates", record, "other", "2031-01-01T00:00:00Z") == (record, [])


def test_transformer_refuses_an_unknown_kind():
    with pytest.raises(ValueError):
        CollectionTransformer(Context("todos", "airprompts_todos", "1.0.0", NOW), Validator(), References())


@pytest.mark.parametrize("name", ["ui_preferences", "airprompts_ui_preferences", "AirPromptsDB:ui_preferences"])
def test_upgrade_value_accepts_short_names_and_keys(name):
    value, issues = upgrade_value(name, {"default_folder_id": 3}, "1.0.0")
    assert value == {"defaultFolderId": "3", "expandedFolders": []} and issues == []


def test_upgrade_value_of_every_managed_value():
    assert upgrade_value("tags", ["a", "b"], "1.0.0") == (["a", "b"], [])
    assert upgrade_value("theme_preference", "dark", "legacy") == ("dark", [])
    assert upgrade_value("favorites", [{"item_id": 1}], "1.0.0")[0] == [{"itemId": "1"}]
    settings, _ = upgrade_value("user_settings", {}, "2.0.0")
    assert settings["performance"]["cacheSize"] == 100
    for name, odd in [("tags", "a,b"), ("theme_preference", {"mode": "dark"}), ("recent_items", {})]:
        value, issues = upgrade_value(name, odd, "1.0.0")
        assert value == odd and [i.code for i in issues] == ["unknown-shape"]
    value, issues = upgrade_value("airprompts_todos", [1], "1.0.0")
    assert value == [1] and issues[0].code == "unknown-shape"
