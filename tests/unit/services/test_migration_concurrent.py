"""Another writer (an old app version in another tab) changing the data under a migration."""

from __future__ import annotations

import json

import pytest

from app.core import keys
from app.core.errors import DataChanged
from app.storage.memory import MemoryStorage
from tests.unit.services.test_migration import Env, app_record
from tests.unit.services.test_migration_faults import PageKilled


def v1_store(count: int = 120) -> dict[str, str]:
    templates = [
        {"id": f"t{i}", "name": f"T{i}", "content": f"body {i}", "created_at": "2024-01-01T00:00:00.000Z"}
        for i in range(count)
    ]
    return {
        "airprompts_templates": json.dumps(templates),
        "airprompts_folders": json.dumps([{"id": "f1", "name": "F", "parent_id": None}]),
        "airprompts_schema_version": '"1.0.0"',
    }


def edited(text: str, index: int, content: str) -> str:
    records = json.loads(text)
    records[index]["content"] = content
    return json.dumps(records)


async def test_an_edit_during_the_transform_is_migrated_not_lost():
    storage = MemoryStorage(local=v1_store())
    staged = 0

    def other_tab(operation, detail):
        nonlocal staged
        if operation == "own_write" and any(getattr(op, "store", "") == "staging" for op in detail):
            staged += 1
            if staged == 2:  # mid-transform, the old app saves an edit straight to localStorage
                storage.local["airprompts_templates"] = edited(storage.local["airprompts_templates"], 5, "EDITED")

    storage.fault = other_tab
    env = Env(storage)
    result = await env.migration.run_pending_migrations(batch_size=25)
    storage.fault = None
    assert result["success"] is True
    templates = json.loads(storage.local["airprompts_templates"])
    assert len(templates) == 120
    assert templates[5]["content"] == "EDITED"
    assert templates[5]["metadata"]["schemaVersion"] == "3.0.0"
    history = await env.migration.get_history()
    # The undone attempt and the one that landed (the fake clock stands still, so no order).
    assert sorted(h["success"] for h in history) == [False, True]
    assert [h["error"]["name"] for h in history if not h["success"]] == ["WriteConflict"]


async def test_edits_on_every_attempt_end_with_a_clear_error_and_the_edits_kept():
    storage = MemoryStorage(local=v1_store(40))
    original_folders = storage.local["airprompts_folders"]
    edits = 0

    def busy_tab(operation, detail):
        nonlocal edits
        if operation == "own_write" and any(getattr(op, "store", "") == "staging" for op in detail):
            edits += 1
            storage.local["airprompts_templates"] = edited(storage.local["airprompts_templates"], 0, f"edit {edits}")

    storage.fault = busy_tab
    env = Env(storage)
    with pytest.raises(DataChanged) as caught:
        await env.migration.run_pending_migrations(batch_size=25)
    storage.fault = None
    assert "changes were kept" in caught.value.message
    templates = json.loads(storage.local["airprompts_templates"])
    assert templates[0]["content"] == f"edit {edits}"  # the newest edit stands, not migrated
    assert "metadata" not in templates[0]
    assert storage.local["airprompts_schema_version"] == '"1.0.0"'
    assert storage.local["airprompts_folders"] == original_folders
    assert (await env.migration.check_migration_status())["needed"] is True


@pytest.mark.parametrize("killed_at", ["app_write", "local_write"])
async def test_an_edit_after_a_crash_in_the_switch_is_kept(killed_at):
    local = v1_store(60)
    app = {"snippets": app_record("snippets", [{"id": "s1", "name": "S", "content": "x", "snippet_tags": []}])}
    storage = MemoryStorage(local=local, app={})
    storage.app.update(app)

    def crash(operation, detail):
        # The switch's first write of that kind (the loader's flag is not part of the switch).
        if operation == killed_at and keys.PENDING_FLAG not in [*detail.get("set", []), *detail.get("remove", [])]:
            raise PageKilled()

    storage.fault = crash
    env = Env(storage)
    with pytest.raises(PageKilled):
        await env.migration.run_pending_migrations(batch_size=25)
    storage.fault = None
    # Before the next load, the old app (another tab) saves an edit.
    storage.local["airprompts_templates"] = edited(storage.local["airprompts_templates"], 3, "EDITED AFTER CRASH")
    fresh = Env(storage)
    await fresh.backups.recover()
    outcome = await fresh.migration.recover()
    assert outcome is not None and outcome["outcome"] == "failed"
    assert outcome["error"]["name"] == "DataChanged"
    templates = json.loads(storage.local["airprompts_templates"])
    assert templates[3]["content"] == "EDITED AFTER CRASH"
    assert storage.local["airprompts_schema_version"] == '"1.0.0"'
    assert storage.app == app  # what the switch had written to AirPromptsDB was put back
    # The next run migrates the edited data.
    result = await fresh.migration.run_pending_migrations(batch_size=25)
    assert result["success"] is True
    templates = json.loads(storage.local["airprompts_templates"])
    assert templates[3]["content"] == "EDITED AFTER CRASH" and templates[3]["metadata"]["migratedFrom"] == "1.0.0"
