"""The migration service end to end on the in-memory storage: fixtures, versions, bad input, runs and reports."""

from __future__ import annotations

import asyncio
import gc
import json
from pathlib import Path

import pytest

from app.core import keys
from app.core.errors import InvalidInput, MigrationInProgress, QuotaExceeded
from app.core.events import EventBus
from app.services.backup import BackupService
from app.services.crypto import PythonCrypto
from app.services.logger import MigrationLogger
from app.services.migration import MigrationService
from app.services.performance import PerformanceMonitor
from app.storage.memory import MemoryLock, MemoryStorage
from tests import worked_example

FIXTURES = Path("/work/shared/fixtures/airprompts")
if not FIXTURES.exists():
    FIXTURES = Path(__file__).resolve().parents[1] / "core" / "fixtures"

START = 1_700_000_000.0
NAMED = {
    "id", "name", "content", "folderId", "folderIds", "tags", "favorite", "createdAt", "updatedAt",
    "context", "contextEnabled", "metadata", "parentId", "steps", "legacyFields",
}  # fmt: skip
WORKED_INPUT = worked_example.INPUT_TEXT
WORKED_OUTPUT = worked_example.OUTPUT


class Clock:
    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += seconds


class Sleeps:
    """Record every delay, yielding to the loop like the real sleep."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


class Env:
    """One page's services over ``storage``: what app/main.py wires in the browser."""

    def __init__(self, storage: MemoryStorage, *, registry: set[str] | None = None, clock=None, **kwargs) -> None:
        self.storage = storage
        self.registry = registry if registry is not None else set()
        self.clock = clock or Clock()
        self.sleeps = Sleeps()
        self.events = EventBus()
        self.seen: list[tuple[str, dict]] = []
        self.events.subscribe("*", lambda name, payload: self.seen.append((name, payload)))
        self.backups = BackupService(storage, PythonCrypto(), clock=self.clock, iterations=1000, max_backups=50)
        self.logger = MigrationLogger(storage, clock=self.clock, flush_every=0)
        self.monitor = PerformanceMonitor()
        self.lock = MemoryLock(registry=self.registry)
        kwargs.setdefault("sleep", self.sleeps)
        self.migration = MigrationService(
            storage, self.backups, self.logger, self.monitor, self.events, self.lock, clock=self.clock, **kwargs
        )

    def named(self, name: str) -> list[dict]:
        return [payload for event, payload in self.seen if event == name]


def live(storage: MemoryStorage) -> tuple[dict, dict]:
    """Return copies of localStorage and AirPromptsDB, the data the migration may change."""
    return dict(storage.local), dict(storage.app)


def app_record(key: str, value, timestamp: int = 1) -> str:
    return json.dumps({"key": key, "value": value, "timestamp": timestamp}, ensure_ascii=False)


def records_of(storage: MemoryStorage, kind: str) -> list[dict]:
    """Return the live 3.0.0 records of ``kind`` wherever they are (AirPromptsDB wins)."""
    if kind in storage.app:
        return json.loads(storage.app[kind])["value"]
    text = storage.local.get(keys.collection_key(kind))
    return [] if text is None else json.loads(text)


def fixture_local() -> dict[str, str]:
    """The sample backup export's keys and the default collections, as the app stores them."""
    local = {
        key: json.dumps(value) for key, value in json.loads((FIXTURES / "airprompts-backup.json").read_text()).items()
    }
    return local


def default_local() -> dict[str, str]:
    names = {"templates": "defaultTemplates", "folders": "defaultFolders", "snippets": "defaultSnippets"}
    names["workflows"] = "defaultWorkflows"
    return {keys.collection_key(kind): (FIXTURES / f"{name}.json").read_text() for kind, name in names.items()}


def assert_preserved(original: dict, migrated: dict) -> None:
    """Every field the spec does not name keeps its value; every string stays byte-identical."""
    assert migrated["id"] == str(original.get("id"))
    for name, value in original.items():
        if name == "metadata":
            assert {k: v for k, v in migrated["metadata"].items() if k in value and k not in ("schemaVersion", "migratedFrom", "sourceKey")} == {k: v for k, v in value.items() if k not in ("schemaVersion", "migratedFrom", "sourceKey")}  # fmt: skip
        elif name in migrated and name != "id":
            assert json.dumps(migrated[name], ensure_ascii=False) == json.dumps(value, ensure_ascii=False), name
        elif name not in NAMED:
            assert "_" in name, name  # renamed to camelCase, or kept under legacyFields
    for name in ("content", "name", "description"):
        if isinstance(original.get(name), str):
            assert migrated[name].encode("utf-8", "surrogatepass") == original[name].encode("utf-8", "surrogatepass")
    assert migrated["metadata"]["schemaVersion"] == "3.0.0"


# ---------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("source", ["backup-export", "defaults"])
async def test_fixture_store_migrates_to_3_and_a_second_run_changes_nothing(source):
    local = fixture_local() if source == "backup-export" else default_local()
    local["theme-storage"] = '{ "theme" :  "light" }'
    storage = MemoryStorage(local=local)
    env = Env(storage)

    result = await env.migration.run_pending_migrations()

    assert result["success"] is True and result["toVersion"] == "3.0.0"
    assert storage.local[keys.SCHEMA_VERSION_KEY] == '"3.0.0"'
    for key in ("airprompts_root_folder", "airprompts_todos", "theme-storage"):
        assert storage.local.get(key) == local.get(key)
    total = 0
    for kind in keys.COLLECTIONS:
        original = json.loads(local[keys.collection_key(kind)])
        migrated = records_of(storage, kind)
        assert len(migrated) == len(original)
        total += len(original)
        by_id = {record["id"]: record for record in migrated}
        for record in original:
            assert_preserved(record, by_id[str(record["id"])])
            assert by_id[str(record["id"])]["metadata"]["sourceKey"] == keys.collection_key(kind)
    assert result["migrated"] == total and result["quarantined"] == 0

    before = live(storage)
    status = await env.migration.check_migration_status()
    assert status["needed"] is False and status["currentVersion"] == "3.0.0"
    again = await Env(storage).migration.run_pending_migrations()
    assert again["success"] is True and again["migrated"] == 0 and again["runId"] is None
    assert live(storage) == before
    assert len(await env.migration.get_history()) == 1


async def test_data_md_worked_example_exactly():
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT, "airprompts_schema_version": '"1.0.0"'})
    result = await Env(storage).migration.run_pending_migrations()
    assert result["fromVersion"] == "1.0.0"
    assert json.loads(storage.local["airprompts_templates"]) == [WORKED_OUTPUT]
    # Compact, non-ASCII kept: the way the app's JSON.stringify writes it.
    assert storage.local["airprompts_templates"].startswith('[{"id":"17","name":"Summary"')
    assert storage.local[keys.SCHEMA_VERSION_KEY] == '"3.0.0"'


# ---------------------------------------------------------------------- versions and places


async def test_legacy_store_moves_keys_keeps_legacy_ones_and_cleans_them_up_after_dual_read():
    local = {
        "templates": json.dumps([{"id": 1, "name": "Old", "content": "x", "created_at": "2023-01-01T00:00:00Z"}]),
        "ap_snippets": json.dumps([{"id": "s1", "name": "Snip", "content": "y", "snippet_tags": ["a"]}]),
        "ui-prefs": json.dumps({"view_mode": "grid"}),
        "theme": "dark",
        "ap_custom": '{"kept": true}',
        "templates_backup": "raw leftover, not json",
    }
    storage = MemoryStorage(local=local)
    env = Env(storage)
    status = await env.migration.check_migration_status()
    assert status["needed"] and status["currentVersion"] == "legacy"
    assert status["legacyKeys"] == ["ap_custom", "ap_snippets", "templates", "theme", "ui-prefs"]

    result = await env.migration.run_pending_migrations()

    for key, value in local.items():
        assert storage.local[key] == value  # legacy keys stay during dual-read; the leftover is never touched
    (template,) = json.loads(storage.local["airprompts_templates"])
    assert template["id"] == "1" and template["metadata"]["migratedFrom"] == "legacy"
    assert template["createdAt"] == "2023-01-01T00:00:00Z"
    (snippet,) = json.loads(storage.local["airprompts_snippets"])
    assert snippet["snippetTags"] == ["a"]
    assert json.loads(storage.local["airprompts_ui_preferences"]) == {
        "viewMode": "grid",
        "defaultFolderId": None,
        "expandedFolders": [],
    }
    assert storage.local["airprompts_theme_preference"] == '"dark"'
    assert storage.local["airprompts_custom"] == '{"kept": true}'
    assert result["report"]["legacy"]["moves"]
    dual = json.loads(storage.own["settings"]["dualRead"])
    assert dual["backupId"] == result["backupId"] and dual["runId"] == result["runId"]
    assert dual["until"] == int((START + 7 * 86400) * 1000)  # epoch ms, as the compatibility layer reads it
    assert result["backupId"] in env.backups.protected

    assert await env.migration.cleanup_legacy() == []
    env.clock.advance(6 * 86400)
    assert await env.migration.cleanup_legacy() == []
    env.clock.advance(2 * 86400)
    removed = await env.migration.cleanup_legacy()
    assert sorted(removed) == ["ap_custom", "ap_snippets", "templates", "theme", "ui-prefs"]
    assert storage.local["templates_backup"] == "raw leftover, not json"
    assert "dualRead" not in storage.own["settings"]
    # The pre-migration backup still holds the legacy keys.
    restored = await env.backups.restore_backup(result["backupId"], safety_backup=False)
    assert restored["backupId"] == result["backupId"] and storage.local == local


async def test_legacy_and_new_key_merge_and_the_losing_copy_is_reported():
    local = {
        "templates": json.dumps([{"id": "a", "name": "old", "content": "1", "updated_at": "2024-01-01T00:00:00Z"}]),
        "airprompts-templates": json.dumps(
            [{"id": "a", "name": "new", "content": "2", "updated_at": "2024-06-01T00:00:00Z"}]
        ),
    }
    storage = MemoryStorage(local=local)
    result = await Env(storage).migration.run_pending_migrations()
    (record,) = json.loads(storage.local["airprompts_templates"])
    assert record["name"] == "new"
    conflicts = result["report"]["legacy"]["conflicts"]
    assert len(conflicts) == 1 and conflicts[0]["record"]["name"] == "old"
    assert any(w["code"] == "legacy-conflict" for w in result["report"]["warnings"])


async def test_v2_store_gets_context_performance_and_keeps_data_version():
    templates = [
        {
            "id": "t1",
            "name": "A",
            "content": "c",
            "folderId": None,
            "folderIds": [],
            "tags": [],
            "contextEnabled": True,
        },
    ]
    local = {
        "airprompts_templates": json.dumps(templates),
        "airprompts_user_settings": json.dumps({"performance": {"cacheSize": 7}, "lang": "nl"}),
        "airprompts_ui_preferences": json.dumps({"defaultFolderId": "f", "expandedFolders": ["f"]}),
        "airprompts_data_version": '"2.0"',
        "airprompts_schema_version": '"2.0.0"',
        "airprompts_theme_preference": '"dark"',
    }
    storage = MemoryStorage(local=local)
    result = await Env(storage).migration.run_pending_migrations()
    (template,) = json.loads(storage.local["airprompts_templates"])
    assert template["context"] == "" and template["contextEnabled"] is True
    assert template["metadata"]["migratedFrom"] == "2.0.0"
    settings = json.loads(storage.local["airprompts_user_settings"])
    assert settings == {
        "performance": {"enableVirtualization": True, "enableLazyLoading": True, "cacheSize": 7},
        "lang": "nl",
    }
    # Unchanged values keep their bytes; data_version is the app's and never changes.
    assert storage.local["airprompts_ui_preferences"] == local["airprompts_ui_preferences"]
    assert storage.local["airprompts_theme_preference"] == '"dark"'
    assert storage.local["airprompts_data_version"] == '"2.0"'
    assert result["report"]["values"]["airprompts_user_settings"] == "upgraded"


async def test_mixed_store_upgrades_each_record_from_its_own_shape():
    templates = [
        {"id": 1, "name": "snake", "content": "a", "created_at": "2024-01-01T00:00:00Z"},
        {"id": "2", "name": "camel", "content": "b", "folderId": "f1", "createdAt": "2024-01-01T00:00:00Z"},
        {
            "id": "3",
            "name": "both",
            "content": "c",
            "updated_at": "2023-01-01T00:00:00Z",
            "updatedAt": "2024-02-02T00:00:00Z",
        },
    ]
    folders = [{"id": "f1", "name": "F", "parent_id": None}]
    storage = MemoryStorage(
        local={"airprompts_templates": json.dumps(templates), "airprompts_folders": json.dumps(folders)}
    )
    result = await Env(storage).migration.run_pending_migrations()
    by_id = {r["id"]: r for r in json.loads(storage.local["airprompts_templates"])}
    assert by_id["1"]["metadata"]["migratedFrom"] == "1.0.0"
    assert by_id["2"]["metadata"]["migratedFrom"] == "2.0.0" and by_id["2"]["folderIds"] == ["f1"]
    assert by_id["3"]["updatedAt"] == "2024-02-02T00:00:00Z"
    assert by_id["3"]["legacyFields"] == {"updated_at": "2023-01-01T00:00:00Z"}
    assert result["report"]["counts"]["templates"]["byVersion"] == {"1.0.0": 2, "2.0.0": 1}
    assert json.loads(storage.local["airprompts_folders"])[0]["parentId"] is None


async def test_collection_in_both_localstorage_and_indexeddb_is_migrated_where_it_lives():
    storage = MemoryStorage(local={"airprompts_templates": json.dumps([{"id": 1, "name": "L", "content": "l"}])})
    storage.app = {
        "templates": json.dumps(
            {"key": "templates", "value": [{"id": 1, "name": "I", "content": "i"}], "timestamp": 5, "extra": "kept"}
        ),
        "tags": app_record("tags", ["a", "b"]),
        "user_settings": app_record("user_settings", {}),
    }
    env = Env(storage)
    status = await env.migration.check_migration_status()
    assert status["counts"] == {"templates": 1}
    result = await env.migration.run_pending_migrations()
    (local_record,) = json.loads(storage.local["airprompts_templates"])
    record = json.loads(storage.app["templates"])
    assert record["key"] == "templates" and record["extra"] == "kept"
    assert record["timestamp"] == int(START * 1000)
    (idb_record,) = record["value"]
    assert local_record["name"] == "L" and local_record["metadata"]["sourceKey"] == "airprompts_templates"
    assert idb_record["name"] == "I" and idb_record["metadata"]["sourceKey"] == "AirPromptsDB:templates"
    assert storage.app["tags"] == app_record("tags", ["a", "b"])  # unchanged values keep their bytes
    assert json.loads(storage.app["user_settings"])["value"]["performance"]["cacheSize"] == 100
    assert result["migrated"] == 2


async def test_collection_too_large_for_localstorage_moves_to_indexeddb():
    templates = [{"id": f"t{i}", "name": f"T{i}", "content": "x" * 200} for i in range(40)]
    snippets = [{"id": "s1", "name": "S", "content": "y"}]
    local = {
        "airprompts_templates": json.dumps(templates),
        "airprompts_snippets": json.dumps(snippets),
        "airprompts_todos": "[]",
        "unrelated-site-key": "z" * 500,
    }
    storage = MemoryStorage(local=local, local_quota=14_000)
    env = Env(storage, local_limit=13_000)
    result = await env.migration.run_pending_migrations()
    assert "airprompts_templates" not in storage.local
    record = json.loads(storage.app["templates"])
    assert record["key"] == "templates" and len(record["value"]) == 40
    assert [r["id"] for r in record["value"]] == [t["id"] for t in templates]
    assert json.loads(storage.local["airprompts_snippets"])[0]["id"] == "s1"
    assert storage.local["unrelated-site-key"] == "z" * 500
    assert result["report"]["movedToIndexedDB"] == ["templates"]
    assert result["report"]["sources"]["airprompts_templates"]["status"] == "moved-to-indexeddb"
    assert storage.local_usage() <= 13_000


async def test_nothing_fits_localstorage_fails_before_touching_anything():
    local = {
        "airprompts_todos": "t" * 5000,
        "airprompts_snippets": json.dumps([{"id": "s", "name": "n", "content": "c"}]),
    }
    storage = MemoryStorage(local=local)
    storage.app = {"snippets": app_record("snippets", [])}
    env = Env(storage, local_limit=5000)
    with pytest.raises(QuotaExceeded):
        await env.migration.run_pending_migrations()
    assert storage.local == local
    (entry,) = await env.migration.get_history()
    assert entry["success"] is False and entry["error"]["name"] == "QuotaExceeded"
    assert storage.own["staging"] == {} and storage.own["journal"] == {}


# ---------------------------------------------------------------------- bad input


BAD_TEMPLATES = [
    {"id": "ok", "name": "fine", "content": "emoji 🎉👩‍💻 and RTL ‏שלום‏ \u202e", "folderId": "nowhere"},
    "not an object",
    {"id": "wrong", "name": 5, "content": "c"},
    {"id": "ok", "name": "duplicate", "content": "d"},
    {"name": "no id", "content": "derived"},
    {"id": "big", "name": "1 MB", "content": "é" * (1024 * 1024)},
    {"id": "proto", "name": "p", "content": "c", "__proto__": {"polluted": True}, "constructor": "x"},
    None,
    {"id": "w", "name": "tags wrong", "content": "c", "tags": "not-a-list"},
]


async def test_bad_input_is_reported_quarantined_and_nothing_is_lost():
    workflows = [{"id": "wf", "name": "W", "steps": ["ok", "missing-template", {"templateId": "big"}]}]
    local = {
        "airprompts_templates": json.dumps(BAD_TEMPLATES, ensure_ascii=False),
        "airprompts_snippets": '[{"id": "s1", "name": "x", "content": "y"},',  # truncated JSON
        "airprompts_folders": '{"id": "not-an-array"}',
        "airprompts_workflows": json.dumps(workflows),
        "airprompts_theme_preference": "dark (not JSON)",
        "airprompts_schema_version": '"2.0.0"',
    }
    storage = MemoryStorage(local=local)
    env = Env(storage)
    result = await env.migration.run_pending_migrations(batch_size=3)
    report = result["report"]

    # Invalid collections and values are left exactly as they were.
    for key in ("airprompts_snippets", "airprompts_folders", "airprompts_theme_preference"):
        assert storage.local[key] == local[key]
    migrated = json.loads(storage.local["airprompts_templates"])
    quarantine = await env.migration.get_quarantine(result["runId"])
    records = [q for q in quarantine if q["index"] >= 0]
    whole = {q["source_key"]: q for q in quarantine if q["index"] < 0}
    assert set(whole) == {"airprompts_snippets", "airprompts_folders"}
    assert whole["airprompts_snippets"]["record"] == local["airprompts_snippets"]
    assert whole["airprompts_folders"]["code"] == "invalid-collection"

    # Every input record is either live (at 3.0.0) or quarantined whole, never both, never neither.
    assert len(migrated) + len(records) == len(BAD_TEMPLATES)
    assert sorted(q["index"] for q in records) == [1, 2, 3, 7, 8]
    for q in records:
        assert q["record"] == BAD_TEMPLATES[q["index"]]
    codes = {q["index"]: q["code"] for q in records}
    assert codes[1] == "not-an-object" and codes[3] == "duplicate-id" and codes[2] == "invalid-type"
    by_id = {r["id"]: r for r in migrated}
    assert by_id["ok"]["content"] == BAD_TEMPLATES[0]["content"]
    assert by_id["big"]["content"] == "é" * (1024 * 1024)
    assert by_id["proto"]["__proto__"] == {"polluted": True} and by_id["proto"]["constructor"] == "x"
    derived = [r for r in migrated if r["name"] == "no id"]
    assert len(derived) == 1 and derived[0]["id"].startswith("rec-")

    assert result["quarantined"] == 7 == len(report["quarantined"])
    assert report["counts"]["templates"] == {"input": 9, "migrated": 4, "quarantined": 5, "byVersion": {"2.0.0": 7}}
    warning_codes = {w["code"] for w in report["warnings"]}
    assert {"invalid-collection", "invalid-value", "dangling-folder", "dangling-template"} <= warning_codes
    assert any(r["code"] == "missing-id" for r in report["repairs"])
    assert storage.local[keys.SCHEMA_VERSION_KEY] == '"3.0.0"'
    # The same run again finds nothing to do and loses nothing.
    assert (await Env(storage).migration.run_pending_migrations())["migrated"] == 0


async def test_dry_run_reports_everything_and_writes_nothing():
    local = {"airprompts_templates": json.dumps(BAD_TEMPLATES[:4]), "airprompts_folders": "[oops"}
    storage = MemoryStorage(local=local)
    env = Env(storage)
    before_own = json.dumps(storage.own, sort_keys=True)
    report = await env.migration.dry_run(batch_size=2)
    assert report["dryRun"] is True and report["needed"] is True
    assert report["counts"]["templates"]["migrated"] == 1 and report["quarantinedCount"] == 4
    assert {t["key"] for t in report["targets"]} == {"airprompts_templates"}
    assert storage.local == local and json.dumps(storage.own, sort_keys=True) == before_own
    assert (await env.migration.check_migration_status())["needed"] is True


async def test_a_dry_run_counts_each_target_in_characters():
    content = "Résumé “court” — 中文 🎉👩‍💻\r\nשלום"
    local = {"airprompts_templates": json.dumps([{"id": "t1", "name": "Grüße", "content": content}], ensure_ascii=False)}
    dry = await Env(MemoryStorage(local=dict(local))).migration.dry_run()
    storage = MemoryStorage(local=dict(local))
    await Env(storage).migration.run_pending_migrations()
    chars = {t["key"]: t["chars"] for t in dry["targets"]}
    assert chars["airprompts_templates"] == len(storage.local["airprompts_templates"])  # characters, not UTF-8 bytes
    assert json.loads(storage.local["airprompts_templates"])[0]["content"] == content


# ---------------------------------------------------------------------- runs


async def test_store_already_at_3_needs_nothing_and_records_no_history():
    storage = MemoryStorage(local={"airprompts_schema_version": '"3.0.0"', "airprompts_todos": "[]"})
    env = Env(storage)
    result = await env.migration.run_pending_migrations()
    assert result == {
        "success": True, "fromVersion": "3.0.0", "toVersion": "3.0.0", "migrated": 0, "quarantined": 0,
        "warnings": 0, "backupId": None, "durationMs": 0, "runId": None, "report": None,
    }  # fmt: skip
    assert await env.migration.get_history() == [] and storage.own["backups"] == {}
    assert await env.migration.recover() is None


async def test_two_concurrent_runs_exactly_one_migrates():
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT})
    registry: set[str] = set()
    first, second = Env(storage, registry=registry), Env(storage, registry=registry)
    outcomes = await asyncio.gather(
        first.migration.run_pending_migrations(),
        second.migration.run_pending_migrations(),
        return_exceptions=True,
    )
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    successes = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], MigrationInProgress) and errors[0].name == "MigrationInProgress"
    assert len(successes) == 1 and successes[0]["migrated"] == 1
    assert registry == set()
    assert len(await first.migration.get_history()) == 1


async def test_progressive_run_pause_resume_and_monotonic_progress():
    templates = [{"id": f"t{i}", "name": "n", "content": "c"} for i in range(12)]
    storage = MemoryStorage(local={"airprompts_templates": json.dumps(templates)})
    env = Env(storage, use_jsonschema_samples=3)
    started = await env.migration.start_progressive_migration(batch_size=2, batch_delay_ms=5)
    assert started["started"] is True and started["runId"].startswith("mig-")
    with pytest.raises(MigrationInProgress):
        await env.migration.start_progressive_migration()
    while not env.named("progress"):
        await asyncio.sleep(0)
    env.migration.pause()
    for _ in range(50):
        await asyncio.sleep(0)
    paused_at = env.migration.get_migration_progress()
    assert paused_at["paused"] is True and paused_at["running"] is True
    assert paused_at["processed"] < 12
    for _ in range(50):
        await asyncio.sleep(0)
    assert env.migration.get_migration_progress()["processed"] == paused_at["processed"]
    env.migration.resume()
    result = await env.migration._task
    assert result["success"] and result["runId"] == started["runId"] and result["migrated"] == 12

    progress = env.named("progress")
    processed = [p["processed"] for p in progress]
    assert processed == sorted(processed) and processed[-1] == 12
    assert [p["percent"] for p in progress] == sorted(p["percent"] for p in progress)
    assert progress[-1]["percent"] == 100.0 and all(p["total"] == 12 for p in progress)
    assert [p["phase"] for p in env.named("phase")] == [
        "detect",
        "backup",
        "transform",
        "switch",
        "verify",
        "complete",
        "done",
    ]
    assert env.named("complete")[0]["runId"] == started["runId"]
    assert 0.005 in env.sleeps.delays
    final = env.migration.get_migration_progress()
    assert final["running"] is False and final["phase"] == "done" and final["runId"] == started["runId"]


async def test_history_records_failures_and_successes_newest_first():
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT})
    real_estimate = storage.estimate

    async def full_disk():
        return {"usage": 2**40 - 100, "quota": 2**40}

    storage.estimate = full_disk
    env = Env(storage)
    with pytest.raises(QuotaExceeded) as caught:
        await env.migration.run_pending_migrations()
    assert caught.value.needed > caught.value.available
    assert env.named("failed")[0]["error"]["name"] == "QuotaExceeded"
    assert storage.local == {"airprompts_templates": WORKED_INPUT} and storage.own["backups"] == {}
    storage.estimate = real_estimate
    env.clock.advance(5)
    result = await env.migration.run_pending_migrations()
    history = await env.migration.get_history()
    assert [h["success"] for h in history] == [True, False]
    assert history[0]["runId"] == result["runId"] and history[1]["error"]["name"] == "QuotaExceeded"
    report = await env.migration.get_last_report()
    assert report["runId"] == result["runId"] and report["durations"]["transform"] >= 0
    logs = await env.logger.query_logs(limit=100)
    assert any(entry.get("runId") == result["runId"] for entry in logs)


async def test_options_are_checked():
    env = Env(MemoryStorage())
    with pytest.raises(InvalidInput):
        await env.migration.run_pending_migrations(batch_size=0)
    with pytest.raises(InvalidInput):
        await env.migration.start_progressive_migration(batch_delay_ms=-1)
    assert env.registry == set()


async def test_the_cyclic_collector_pauses_for_a_run_and_runs_while_it_is_paused():
    templates = [{"id": f"t{i}", "name": "n", "content": "c"} for i in range(8)]
    storage = MemoryStorage(local={"airprompts_templates": json.dumps(templates)})
    during: list[bool] = []

    async def sleep(delay: float) -> None:
        during.append(gc.isenabled())
        await asyncio.sleep(0)

    env = Env(storage, sleep=sleep)
    assert gc.isenabled()
    await env.migration.start_progressive_migration(batch_size=2)
    while not env.named("progress"):
        await asyncio.sleep(0)
    assert not gc.isenabled()
    env.migration.pause()
    for _ in range(20):
        await asyncio.sleep(0)
    assert env.migration.get_migration_progress()["paused"] is True
    assert gc.isenabled(), "a paused run gives the collector back"
    env.migration.resume()
    result = await env.migration._task
    assert result["success"] and result["migrated"] == 8
    assert during and not any(during), "every batch ran with the collector paused"
    assert gc.isenabled()


async def test_a_collector_turned_off_before_the_run_stays_off():
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT})
    gc.disable()
    try:
        result = await Env(storage).migration.run_pending_migrations()
        assert result["success"]
        assert not gc.isenabled()
    finally:
        gc.enable()


# ---------------------------------------------------------------------- what the live app reads


async def test_records_read_from_legacy_keys_name_that_key_as_their_source():
    old = {"id": 1, "name": "Résumé", "content": "x", "updated_at": "2023-01-01T00:00:00Z"}
    newer = {"id": 1, "name": "Résumé 2", "content": "y", "updated_at": "2024-01-01T00:00:00Z"}
    other = {"id": 2, "name": "要約", "content": "z", "created_at": "2023-01-01T00:00:00Z"}
    storage = MemoryStorage(
        local={
            "templates": json.dumps([old, other], ensure_ascii=False),
            "ap_templates": json.dumps([newer], ensure_ascii=False),
            "ap_snippets": json.dumps([{"id": "s", "name": "S", "content": "c"}]),
        }
    )
    env = Env(storage)
    await env.migration.run_pending_migrations()
    templates = json.loads(storage.local["airprompts_templates"])
    assert [(t["name"], t["metadata"]["sourceKey"], t["metadata"]["migratedFrom"]) for t in templates] == [
        ("Résumé 2", "ap_templates", "legacy"),
        ("要約", "templates", "legacy"),
    ]
    (snippet,) = json.loads(storage.local["airprompts_snippets"])
    assert snippet["metadata"]["sourceKey"] == "ap_snippets" and snippet["metadata"]["migratedFrom"] == "legacy"


async def test_numbers_no_double_holds_keep_their_text_and_every_value_parses():
    huge = "9" * 5000
    text = (
        '[{"id":"t1","name":"Zahl – «groß»","content":"Σ 😀\\r\\n","score":1e400,"low":-1E400,'
        f'"big":{huge},"ok":1.5,"created_at":"2024-01-01T00:00:00Z"}}]'
    )
    storage = MemoryStorage(local={"airprompts_templates": text, "airprompts_schema_version": '"1.0.0"'})
    env = Env(storage)
    result = await env.migration.run_pending_migrations()
    assert result["success"]
    written = storage.local["airprompts_templates"]
    assert "Infinity" not in written and "NaN" not in written
    assert '"score":1e400' in written and '"low":-1E400' in written and f'"big":{huge}' in written
    assert await storage.local_unparsable(list(storage.local)) == []
    (template,) = json.loads(written, parse_float=str, parse_int=str)
    assert template["content"] == "Σ 😀\r\n" and template["ok"] == "1.5"
    # A second run has nothing left to change.
    assert not (await env.migration.check_migration_status())["needed"]


async def test_verify_refuses_a_written_value_json_parse_cannot_read_and_rolls_back(monkeypatch):
    from app.core import jsonstream

    text = json.dumps([{"id": "t1", "name": "Café", "content": "“quoted” ✓", "created_at": "2024-01-01T00:00:00Z"}])
    local = {"airprompts_templates": text, "airprompts_schema_version": '"1.0.0"', "airprompts_todos": "[]"}
    storage = MemoryStorage(local=dict(local))
    env = Env(storage)
    real = jsonstream.dumps_utf8

    def broken(value):  # a writer bug that emits NaN, which JSON.parse refuses
        return real(value).replace(b'"contextEnabled":false', b'"contextEnabled":NaN')

    monkeypatch.setattr(jsonstream, "dumps_utf8", broken)
    with pytest.raises(Exception) as caught:
        await env.migration.run_pending_migrations()
    assert "not JSON the browser can parse" in str(caught.value)
    assert storage.local == local  # rolled back: byte for byte as before


class Ticks:
    """A perf clock that moves ``step`` seconds at each reading."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


async def test_with_turn_every_the_loop_gets_its_turn_once_that_time_has_run_not_after_each_batch():
    templates = [{"id": f"t{i}", "name": f"n\u00e9 {i}", "content": "c \u4e2d\u6587\r\n" * i} for i in range(20)]
    text = json.dumps(templates, ensure_ascii=False)
    reference_storage = MemoryStorage(local={"airprompts_templates": text})
    reference = Env(reference_storage)
    assert (await reference.migration.run_pending_migrations(batch_size=2))["success"]
    assert len(reference.named("progress")) == 10
    turns = len(reference.sleeps.delays)
    assert turns >= 10  # turn_every 0: a turn after each batch

    storage = MemoryStorage(local={"airprompts_templates": text})
    env = Env(storage, turn_every=0.02)
    env.migration.rt.perf_clock = Ticks(0.008)  # a batch reads it once: a turn every third batch
    result = await env.migration.run_pending_migrations(batch_size=2)
    assert result["success"] and result["migrated"] == 20
    assert turns - 10 + 2 <= len(env.sleeps.delays) < turns, "fewer turns, the last batch's among them"
    progress = env.named("progress")
    processed = [p["processed"] for p in progress]
    assert processed == list(range(2, 21, 2)), "a progress event after each batch all the same"
    assert live(storage) == live(reference_storage), "the same data, whenever the turns come"


def test_a_turn_is_due_after_each_batch_with_a_delay_a_pause_or_the_last_record():
    env = Env(MemoryStorage(), turn_every=0.02)
    rt = env.migration.rt
    rt.perf_clock = lambda: 0.0
    rt._turn_at = 0.0

    class RunLike:
        options = {"batchDelayMs": 0}
        processed, total = 4, 10

    run = RunLike()
    assert rt.turn_due(run) is False
    rt.perf_clock = lambda: 0.021
    assert rt.turn_due(run) is True
    rt.perf_clock = lambda: 0.001
    run.processed = 10
    assert rt.turn_due(run) is True
    run.processed = 4
    run.options = {"batchDelayMs": 5}
    assert rt.turn_due(run) is True
    run.options = {"batchDelayMs": 0}
    env.migration.pause()
    assert rt.turn_due(run) is True
    env.migration.resume()
    assert rt.turn_due(run) is False
