"""The loader's flag ``airprompts_migrate_pending``: set while a journal exists, cleared with it."""

from __future__ import annotations

import json

import pytest

from app.core import keys
from app.core.errors import StorageUnavailable
from app.storage.memory import MemoryStorage
from tests import worked_example
from tests.unit.services.test_migration import Env
from tests.unit.services.test_migration_faults import PageKilled

FLAG = keys.PENDING_FLAG


def store() -> MemoryStorage:
    return MemoryStorage(
        local={
            "airprompts_templates": worked_example.INPUT_TEXT,
            "airprompts_schema_version": '"1.0.0"',
            "airprompts_todos": '[{"id":1,"text":"café ☕ “x”"}]',
        }
    )


async def test_the_flag_is_set_before_the_journal_and_removed_after_it():
    storage = store()
    seen = []

    def watch(operation, detail):
        if operation == "own_write" and any(getattr(op, "store", "") == "journal" for op in detail):
            seen.append(storage.local.get(FLAG))

    storage.fault = watch
    env = Env(storage)
    result = await env.migration.run_pending_migrations()
    assert result["success"]
    assert seen and all(value == result["runId"] for value in seen)  # every journal write had the flag set
    assert FLAG not in storage.local
    backup = await env.backups.state(result["backupId"])
    assert FLAG not in backup["local"]  # not app data: never backed up, never restored


async def test_a_page_killed_after_the_version_write_keeps_the_flag_until_recover_finishes():
    storage = store()

    def kill_at_verify(operation, detail):
        if operation == "local_write" and keys.SCHEMA_VERSION_KEY in detail["set"]:
            storage.fault = lambda *_: (_ for _ in ()).throw(PageKilled())

    storage.fault = kill_at_verify
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations()
    storage.fault = None
    assert json.loads(storage.local[keys.SCHEMA_VERSION_KEY]) == "3.0.0"  # looks current to the loader...
    assert storage.local.get(FLAG)  # ...which loads the app anyway because of the flag
    outcome = await Env(storage).migration.recover()
    assert outcome["outcome"] == "completed"
    assert FLAG not in storage.local and storage.own["journal"] == {}


async def test_a_failed_run_removes_the_flag_and_a_leftover_one_goes_on_the_next_load():
    storage = store()

    def fail_backup(operation, detail):
        if operation == "own_write" and any(getattr(op, "store", "") == "chunks" for op in detail):
            raise StorageUnavailable("storage is gone")

    storage.fault = fail_backup
    with pytest.raises(StorageUnavailable):
        await Env(storage).migration.run_pending_migrations()
    storage.fault = None
    assert FLAG not in storage.local and storage.own["journal"] == {}
    storage.local[FLAG] = "mig-left-over"  # a page closed between the journal's removal and the flag's
    assert await Env(storage).migration.recover() is None
    assert FLAG not in storage.local


async def test_a_leftover_flag_stays_while_another_tab_runs():
    storage = store()
    storage.local[FLAG] = "mig-of-the-other-tab"
    registry = {"airprompts-migration"}  # the other tab holds the lock (its journal is being written)
    assert await Env(storage, registry=registry).migration.recover() is None
    assert storage.local[FLAG] == "mig-of-the-other-tab"
