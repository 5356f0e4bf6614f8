"""Three corners of a run: a legacy key with invalid JSON, a failed clean-up after a verified run, a reload mid-rollback."""

from __future__ import annotations

import json

import pytest

from app.core import keys
from app.core.errors import StorageUnavailable
from app.storage.memory import MemoryStorage
from tests.unit.services.test_migration import Env, app_record, live
from tests.unit.services.test_migration_faults import PageKilled, flag_write

BROKEN = '[{"id": 1, "name": "Résumé “draft”", "content": "Line 1\r\nLine 2 🚀"}, {"id": 2, "name": '


async def test_a_legacy_key_holding_invalid_json_is_reported_under_its_own_name_and_kept_whole():
    storage = MemoryStorage(
        local={
            "templates": BROKEN,
            "ui-prefs": "{view_mode: grid",
            "folders": json.dumps([{"id": "f", "name": "دفتر", "parent_id": None}], ensure_ascii=False),
        }
    )
    env = Env(storage)
    result = await env.migration.run_pending_migrations()
    report = result["report"]
    warning = next(w for w in report["warnings"] if w["code"] == "invalid-collection")
    assert warning["source"] == "templates" and warning["message"].startswith("templates is not a JSON array")
    assert "invalid JSON" in warning["message"] and "airprompts_templates" not in warning["message"]
    assert report["sources"]["airprompts_templates"]["sourceKey"] == "templates"
    quarantined = next(q for q in report["quarantined"] if q["kind"] == "templates")
    assert quarantined["sourceKey"] == "templates"
    stored = (await env.migration.get_quarantine())[0]
    assert stored["source_key"] == "templates" and stored["record"] == BROKEN  # the user's own bytes
    assert storage.local["templates"] == BROKEN  # left as it is
    value = [w for w in report["warnings"] if w["source"] == "ui-prefs"]
    assert any(w["code"] == "invalid-value" and w["message"].startswith("ui-prefs is not JSON") for w in value)


def v1_store() -> MemoryStorage:
    templates = [
        {"id": i, "name": f"Modèle {i}", "content": f"Bonjour {{nom}}\r\n“{i}” 🎉", "created_at": "2024-01-01T00:00:00Z"}
        for i in range(7)
    ]
    return MemoryStorage(
        local={
            "airprompts_templates": json.dumps(templates, ensure_ascii=False),
            "airprompts_schema_version": '"1.0.0"',
            "airprompts_todos": '[{"id":1,"text":"ne pas toucher"}]',
        },
        app={"workflows": [{"id": "w", "name": "فلو", "steps": []}]},
    )


def data(storage: MemoryStorage) -> tuple[dict, dict]:
    """Return the live data without the loader's flag."""
    local, app = live(storage)
    return {k: v for k, v in local.items() if k != keys.PENDING_FLAG}, app


def cleanup_write(operation, detail) -> bool:
    """Return whether an own_write is the clean-up of a verified run (it writes the history entry)."""
    return operation == "own_write" and any(getattr(op, "store", "") == "history" for op in detail)


async def test_a_clean_up_that_cannot_be_written_after_a_verified_run_does_not_roll_it_back():
    reference = v1_store()
    await Env(reference).migration.run_pending_migrations(batch_size=3)
    storage = v1_store()

    def cleanup_fails(operation, detail):
        if cleanup_write(operation, detail):
            raise StorageUnavailable("the database is closing")

    storage.fault = cleanup_fails
    env = Env(storage)
    result = await env.migration.run_pending_migrations(batch_size=3)
    assert result["success"] is True
    assert data(storage) == live(reference)  # migrated, verified, and left so
    journal = json.loads(storage.own["journal"]["current"])
    assert journal["phase"] == "complete"
    assert storage.local.get(keys.PENDING_FLAG) == result["runId"]  # the next load must finish it
    # Meanwhile the app (at 3.0.0 now) saves a template: the clean-up must not undo either.
    templates = json.loads(storage.local["airprompts_templates"])
    templates[0]["name"] = "Renamed after the run ✍"
    storage.local["airprompts_templates"] = json.dumps(templates, ensure_ascii=False)
    after_edit = data(storage)

    storage.fault = None
    reloaded = Env(storage)
    outcome = await reloaded.migration.recover()
    assert outcome["outcome"] == "completed"
    assert live(storage) == after_edit  # the flag is gone, the edit stands
    assert storage.own["journal"] == {} and storage.own["staging"] == {}
    history = await reloaded.migration.get_history()
    assert len(history) == 1 and history[0]["success"] is True and history[0]["runId"] == result["runId"]
    assert history[0]["report"]["migrated"] == 8  # seven templates, one workflow
    assert (await reloaded.migration.check_migration_status())["needed"] is False


async def test_a_clean_up_failing_once_is_written_again_at_once():
    storage = v1_store()
    state = {"failed": False}

    def once(operation, detail):
        if cleanup_write(operation, detail) and not state["failed"]:
            state["failed"] = True
            raise StorageUnavailable("the database is closing")

    storage.fault = once
    result = await Env(storage).migration.run_pending_migrations(batch_size=3)
    assert result["success"] and state["failed"]
    assert storage.own["journal"] == {} and storage.own["staging"] == {} and keys.PENDING_FLAG not in storage.local


async def test_a_reload_in_the_middle_of_a_rollback_keeps_what_another_writer_stored():
    storage = v1_store()
    original = live(storage)
    edit = app_record("workflows", [{"id": "w", "name": "Saved in another tab ✓", "steps": []}], 99)
    state = {"failed": False, "restoring": False}

    def fault(operation, detail):
        if state["restoring"] and not operation.endswith("_op"):  # the restore's first write after its journal
            raise PageKilled("reloaded while the backup was being restored")
        if operation == "own_write" and any(getattr(op, "key", "") == "restore" for op in detail):
            state["restoring"] = True
        if operation == "local_write" and not state["failed"] and not flag_write(detail):
            # The switch wrote AirPromptsDB; another tab saves a workflow; then localStorage fails.
            state["failed"] = True
            storage.app["workflows"] = edit
            raise StorageUnavailable("storage is gone")

    storage.fault = fault
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations(batch_size=3)
    storage.fault = None
    assert json.loads(storage.own["journal"]["current"])["phase"] == "rollback"

    reloaded = Env(storage)
    assert (await reloaded.backups.recover())["outcome"] == "deferred"  # left to the migration service
    outcome = await reloaded.migration.recover()
    assert outcome["outcome"] == "rolled-back"
    assert live(storage) == original  # the restore is whole
    entry = (await reloaded.migration.get_history())[0]
    assert entry["rolledBack"] is True
    assert entry["displaced"] == [{"area": "app", "key": "workflows", "value": edit}]
    assert storage.own["journal"] == {} and storage.own["staging"] == {}
    assert keys.PENDING_FLAG not in storage.local


async def test_a_deferred_restore_whose_run_is_gone_is_finished_on_the_next_load():
    storage = v1_store()
    env = Env(storage)
    meta = await env.backups.create_full_backup("before", kind="pre-migration")
    storage.local["airprompts_templates"] = "[]"
    state = {"journal": False}

    def kill_after_journal(operation, detail):
        if state["journal"] and not operation.endswith("_op"):
            raise PageKilled()
        if operation == "own_write" and any(getattr(op, "key", "") == "restore" for op in detail):
            state["journal"] = True

    storage.fault = kill_after_journal
    with pytest.raises(PageKilled):
        await env.backups.restore_backup(meta["id"], safety_backup=False, deferred=True)
    storage.fault = None
    reloaded = Env(storage)
    assert (await reloaded.backups.recover())["outcome"] == "deferred"
    assert await reloaded.migration.recover() is None  # no migration journal: it finishes the restore itself
    assert storage.own["journal"] == {}
    assert storage.local["airprompts_templates"] == v1_store().local["airprompts_templates"]


async def test_displaced_values_found_before_a_reload_mid_restore_are_kept_even_once_restored():
    """The reload comes after the restore put the original back: only the journal still knows the value."""
    storage = v1_store()
    original = live(storage)
    foreign = json.dumps([{"id": "n", "name": "Écrit par un autre onglet", "content": "x"}], ensure_ascii=False)
    state = {"failed": False, "restoring": False}

    def fault(operation, detail):
        if state["restoring"] and operation == "own_write":  # the restore is written; its clean-up is not
            raise PageKilled("reloaded after the restore")
        if operation in ("local_write", "app_write") and state["failed"]:
            state["restoring"] = True
        if operation == "local_write" and not state["failed"] and not flag_write(detail):
            state["failed"] = True
            storage.local["airprompts_templates"] = foreign  # another tab, during the run
            raise StorageUnavailable("storage is gone")

    storage.fault = fault
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations(batch_size=3)
    storage.fault = None
    assert storage.local["airprompts_templates"] == original[0]["airprompts_templates"]  # already restored
    reloaded = Env(storage)
    await reloaded.backups.recover()
    outcome = await reloaded.migration.recover()
    assert outcome["outcome"] == "rolled-back" and live(storage) == original
    entry = (await reloaded.migration.get_history())[0]
    assert entry["displaced"] == [{"area": "local", "key": "airprompts_templates", "value": foreign}]
