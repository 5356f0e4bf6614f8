"""Adding a schema version is one file: tests/toy_v4.py, registered here, migrates the real fixtures to 4.0.0."""

from __future__ import annotations

import json

import pytest

from app.core import keys, revisions
from app.core.errors import MigrateError
from app.storage.memory import MemoryStorage
from tests import toy_v4
from tests.unit.services.test_migration import FIXTURES, Env, live


@pytest.fixture
def v4(monkeypatch):
    monkeypatch.setattr(revisions, "REGISTRY", [*revisions.REGISTRY, toy_v4.REVISION])
    assert revisions.target() == "4.0.0"
    yield toy_v4


def legacy_fixture_store() -> MemoryStorage:
    """The app's defaults and the user's backup export, under legacy keys (no version recorded)."""
    backup = json.loads((FIXTURES / "airprompts-backup.json").read_text(encoding="utf-8"))
    local = {
        "templates": (FIXTURES / "defaultTemplates.json").read_text(encoding="utf-8"),
        "folders": (FIXTURES / "defaultFolders.json").read_text(encoding="utf-8"),
        "ap_snippets": json.dumps(backup["airprompts_snippets"], ensure_ascii=False),
        "airprompts_todos": json.dumps(backup["airprompts_todos"]),
        "airprompts_root_folder": json.dumps(backup["airprompts_root_folder"]),
    }
    return MemoryStorage(local=local)


async def test_the_fixtures_migrate_from_legacy_to_the_toy_4_0_0(v4):
    storage = legacy_fixture_store()
    env = Env(storage)
    status = await env.migration.check_migration_status()
    assert status["needed"] and status["targetVersion"] == "4.0.0"
    result = await env.migration.run_pending_migrations(batch_size=3)
    assert result["success"] and result["toVersion"] == "4.0.0" and result["quarantined"] == 0
    assert storage.local[keys.SCHEMA_VERSION_KEY] == '"4.0.0"'
    templates = json.loads(storage.local["airprompts_templates"])
    assert templates and all(t["tone"] == "neutral" and t["metadata"]["schemaVersion"] == "4.0.0" for t in templates)
    assert all(t["metadata"]["migratedFrom"] == "legacy" and t["metadata"]["sourceKey"] == "templates" for t in templates)
    folders = json.loads(storage.local["airprompts_folders"])
    assert all(f["parent_id"] == f["parentId"] and f["metadata"]["schemaVersion"] == "4.0.0" for f in folders)
    (snippet,) = json.loads(storage.local["airprompts_snippets"])
    assert snippet["metadata"] == {"schemaVersion": "4.0.0", "migratedFrom": "legacy", "sourceKey": "ap_snippets"}
    assert not (await env.migration.check_migration_status())["needed"]


async def test_a_3_0_0_store_moves_to_4_0_0_and_keeps_its_history(v4, monkeypatch):
    # A store migrated to 3.0.0 before 4.0.0 existed.
    monkeypatch.setattr(revisions, "REGISTRY", revisions.REGISTRY[:-1])
    storage = legacy_fixture_store()
    await Env(storage).migration.run_pending_migrations()
    assert storage.local[keys.SCHEMA_VERSION_KEY] == '"3.0.0"'
    monkeypatch.setattr(revisions, "REGISTRY", [*revisions.REGISTRY, toy_v4.REVISION])
    env = Env(storage)
    status = await env.migration.check_migration_status()
    assert status["needed"] and status["currentVersion"] == "3.0.0"
    result = await env.migration.run_pending_migrations()
    assert result["success"] and result["fromVersion"] == "3.0.0"
    templates = json.loads(storage.local["airprompts_templates"])
    assert all(t["metadata"]["migratedFrom"] == "legacy" and t["tone"] == "neutral" for t in templates)
    assert all(t["legacyFields"]["metadata.schemaVersion"] == "3.0.0" for t in templates)


async def test_rollback_and_resume_work_unchanged_at_4_0_0(v4):
    # Rollback: the last write of the switch fails for good; everything is as before.
    storage = legacy_fixture_store()
    before = live(storage)
    writes = []

    def fail_on_version_write(operation, detail):
        writes.append(operation)
        if operation == "local_write" and keys.SCHEMA_VERSION_KEY in str(detail):
            raise MigrateError("injected: the version write failed")

    storage.fault = fail_on_version_write
    with pytest.raises(MigrateError):
        await Env(storage).migration.run_pending_migrations(batch_size=3)
    storage.fault = None
    assert live(storage) == before

    # Resume: the page dies after its first staged batch; the next page finishes the run.
    class PageKilled(BaseException):
        pass

    storage = legacy_fixture_store()
    staged = 0

    def kill_after_first_stage(operation, detail):
        nonlocal staged
        if operation == "own_write" and "staging" in str(detail):
            staged += 1
            if staged == 2:
                raise PageKilled()

    storage.fault = kill_after_first_stage
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations(batch_size=3)
    storage.fault = None
    reloaded = Env(storage)
    await reloaded.backups.recover()
    await reloaded.migration.recover()
    if (await reloaded.migration.check_migration_status())["needed"]:
        await reloaded.migration.run_pending_migrations(batch_size=3)
    assert storage.local[keys.SCHEMA_VERSION_KEY] == '"4.0.0"'
    templates = json.loads(storage.local["airprompts_templates"])
    assert len(templates) == len(json.loads(legacy_fixture_store().local["templates"]))
    assert all(t["tone"] == "neutral" for t in templates)
