"""The compatibility layer over MemoryStorage: reads transform without writing, saves validate and wait."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest

from app.core import revisions
from app.core.errors import InvalidInput, MigrationInProgress, ValidationFailed
from app.core.transform import upgrade_record, upgrade_value
from app.services.compatibility import DEFAULT_DUAL_READ_MS, CompatibilityLayer
from app.services.logger import MigrationLogger
from app.storage.base import Delete, Put
from app.storage.memory import MemoryLock, MemoryStorage
from tests import worked_example

T0 = 1_750_000_000.0  # 2025-06-15T15:06:40Z
NOW_ISO = "2025-06-15T15:06:40.000Z"

# data.md section 5, byte for byte.
WORKED_INPUT = worked_example.INPUT_TEXT
WORKED_OUTPUT = worked_example.OUTPUT

V1_TEMPLATE = {"id": 1, "name": "One", "content": "a", "created_at": "2024-01-01T00:00:00.000Z", "updated_at": 5}
V2_TEMPLATE = {
    "id": "t2",
    "name": "Two",
    "content": "b  \n",
    "folderId": None,
    "folderIds": [],
    "tags": ["x"],
    "favorite": False,
    "createdAt": "2024-02-01T00:00:00.000Z",
    "updatedAt": "2024-02-02T00:00:00.000Z",
}


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make(storage: MemoryStorage, *, registry: set[str] | None = None, clock: Clock | None = None, **kw):
    clock = clock or Clock()
    logger = MigrationLogger(storage, clock=clock, flush_every=0, level="DEBUG")
    lock = MemoryLock(registry=registry if registry is not None else set())
    layer = CompatibilityLayer(storage, lock, logger, clock=clock, wait_poll_s=0.01, wait_timeout_s=2, **kw)
    return layer, logger


def state(storage: MemoryStorage):
    return copy.deepcopy((storage.local, storage.app, storage.own))


def expected(kind, records, source_key, store_version):
    """What the migration's transformer writes for ``records``."""
    return [
        revisions.upgrade_record(kind, r, source_key=source_key, now=NOW_ISO, fallback=store_version)[0] for r in records
    ]


# ---------------------------------------------------------------------- get


async def test_worked_example_exactly_and_nothing_written():
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT, "airprompts_schema_version": '"1.0.0"'})
    layer, _ = make(storage)
    before = state(storage)
    assert await layer.get("templates") == [WORKED_OUTPUT]
    assert await layer.get("airprompts_templates") == [WORKED_OUTPUT]
    assert state(storage) == before
    # Byte-identical content.
    (record,) = await layer.get("templates")
    assert json.dumps(record["content"], ensure_ascii=False) == json.dumps("Sum up:\n  {text}")


async def test_v1_and_v2_match_upgrade_record():
    for version, record in (("1.0.0", V1_TEMPLATE), ("2.0.0", V2_TEMPLATE)):
        storage = MemoryStorage(
            local={"airprompts_templates": json.dumps([record]), "airprompts_schema_version": json.dumps(version)}
        )
        layer, _ = make(storage)
        before = state(storage)
        want, _ = upgrade_record("templates", record, "airprompts_templates", NOW_ISO)
        assert await layer.get("templates") == [want]
        assert state(storage) == before


async def test_mixed_records_and_an_invalid_one_is_skipped_and_logged():
    bad = {"id": "bad", "name": "Bad", "content": 5}
    records = [V1_TEMPLATE, V2_TEMPLATE, bad, {"id": "m", "name": "M", "content": "c", "updated_at": 1, "updatedAt": 2}]
    storage = MemoryStorage(local={"airprompts_templates": json.dumps(records), "airprompts_data_version": '"2.0"'})
    layer, logger = make(storage)
    before = state(storage)
    got = await layer.get("templates")
    want = expected("templates", [records[0], records[1], records[3]], "airprompts_templates", "2.0.0")
    assert got == want
    assert [r["id"] for r in got] == ["1", "t2", "m"]
    assert got[2]["legacyFields"] == {"updated_at": 1}
    warnings = await logger.query_logs(level="WARN")
    assert len(warnings) == 1 and "cannot be upgraded" in warnings[0]["message"]
    assert warnings[0]["context"]["records"][0]["index"] == 2
    assert state(storage) == before
    stats = await layer.get_migration_stats()
    assert stats["skippedOnRead"] == 1 and stats["reads"] == 1


async def test_legacy_keys_merge_like_the_migration():
    old = {"id": 3, "name": "Old", "content": "x", "updated_at": "2024-01-01T00:00:00.000Z"}
    new = {"id": 3, "name": "New", "content": "y", "updated_at": "2024-05-01T00:00:00.000Z"}
    other = {"id": 4, "name": "Other", "content": "z", "created_at": "2024-01-01T00:00:00.000Z"}
    storage = MemoryStorage(
        local={
            "templates": json.dumps([old, other]),
            "ap_templates": json.dumps([new]),
            "theme": "dark",
            "ui-prefs": "{}",
        }
    )
    layer, _ = make(storage)
    before = state(storage)
    got = await layer.get("templates")
    # Each record's sourceKey is the legacy key it was read from (data.md section 3).
    assert got == [
        *expected("templates", [new], "ap_templates", "legacy"),
        *expected("templates", [other], "templates", "legacy"),
    ]
    assert got[0]["name"] == "New" and got[0]["metadata"]["migratedFrom"] == "legacy"
    assert [t["metadata"]["sourceKey"] for t in got] == ["ap_templates", "templates"]
    assert await layer.get("theme_preference") == "dark"  # a raw, non-JSON legacy string is kept
    assert await layer.get("ui_preferences") == {"defaultFolderId": None, "expandedFolders": []}
    assert await layer.get("workflows") == []
    assert await layer.get("user_settings") is None
    assert state(storage) == before
    assert not await layer.is_migrated("templates")


async def test_airpromptsdb_is_authoritative():
    records = [V1_TEMPLATE]
    storage = MemoryStorage(
        local={"airprompts_templates": json.dumps([V2_TEMPLATE]), "airprompts_schema_version": '"1.0.0"'},
        app={"templates": records},
    )
    layer, _ = make(storage)
    before = state(storage)
    want, _ = upgrade_record("templates", V1_TEMPLATE, "AirPromptsDB:templates", NOW_ISO)
    assert await layer.get("templates") == [want]
    assert want["metadata"]["sourceKey"] == "AirPromptsDB:templates"
    stats = await layer.get_migration_stats()
    assert stats["collections"]["templates"]["location"] == "app"
    assert stats["storedVersion"] == "1.0.0" and stats["targetVersion"] == "3.0.0"
    assert state(storage) == before


async def test_values_are_upgraded_on_read():
    local = {
        "airprompts_schema_version": '"2.0.0"',
        "airprompts_ui_preferences": json.dumps({"view_mode": "grid"}),
        "airprompts_user_settings": json.dumps({"performance": {"cacheSize": 5}}),
        "airprompts_favorites": json.dumps([{"item_id": 7, "item_type": "template"}]),
    }
    storage = MemoryStorage(local=local)
    layer, _ = make(storage)
    for name in ("ui_preferences", "user_settings", "favorites"):
        want, _ = upgrade_value(name, json.loads(local["airprompts_" + name]), "2.0.0")
        assert await layer.get(name) == want
    assert (await layer.get("user_settings"))["performance"] == {
        "enableVirtualization": True,
        "enableLazyLoading": True,
        "cacheSize": 5,
    }
    assert await layer.get("tags") == [] and await layer.get("theme_preference") is None
    assert storage.local == local


async def test_unknown_name_is_refused():
    layer, _ = make(MemoryStorage())
    with pytest.raises(InvalidInput, match="unknown data name"):
        await layer.get("todos")


async def test_after_migration_legacy_keys_are_read_only_in_dual_read_mode():
    legacy = [{"id": "l1", "name": "L", "content": "c", "createdAt": "2024-01-01T00:00:00.000Z"}]
    storage = MemoryStorage(local={"templates": json.dumps(legacy), "airprompts_schema_version": '"3.0.0"'})
    layer, _ = make(storage)
    assert await layer.get("templates") == []
    await layer.set_dual_read_mode(True, 1000)
    assert [r["id"] for r in await layer.get("templates")] == ["l1"]


async def test_get_waits_while_the_switch_runs():
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT, "airprompts_schema_version": '"1.0.0"'})
    await storage.own_write([Put("journal", "current", json.dumps({"phase": "switch"}))])
    layer, _ = make(storage)
    task = asyncio.create_task(layer.get("templates"))
    await asyncio.sleep(0.05)
    assert not task.done()
    # The migration switches the live key, then finishes.
    storage.local["airprompts_templates"] = json.dumps([WORKED_OUTPUT])
    await storage.own_write([Put("journal", "current", json.dumps({"phase": "verify"}))])
    assert await asyncio.wait_for(task, 1) == [WORKED_OUTPUT]


async def test_get_reads_live_keys_during_transform_and_times_out_on_a_stuck_switch():
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT, "airprompts_schema_version": '"1.0.0"'})
    await storage.own_write([Put("journal", "current", json.dumps({"phase": "transform"}))])
    layer, _ = make(storage)
    assert await layer.get("templates") == [WORKED_OUTPUT]
    await storage.own_write([Put("journal", "current", json.dumps({"phase": "switch"}))])
    layer.wait_timeout_s = 0.05
    with pytest.raises(MigrationInProgress, match="phase switch"):
        await layer.get("templates")


# ---------------------------------------------------------------------- save


async def test_save_writes_the_3_0_0_shape_to_localstorage():
    storage = MemoryStorage(local={"airprompts_schema_version": '"3.0.0"'})
    registry: set[str] = set()
    layer, _ = make(storage, registry=registry)
    result = await layer.save("templates", [V2_TEMPLATE, {"id": "n", "name": "New", "content": "hi"}])
    assert result == {"saved": 2, "location": "local", "key": "airprompts_templates"}
    stored = json.loads(storage.local["airprompts_templates"])
    assert stored[0] == upgrade_record("templates", V2_TEMPLATE, "airprompts_templates", NOW_ISO)[0]
    assert stored[1]["createdAt"] == NOW_ISO and stored[1]["contextEnabled"] is False
    assert await layer.get("templates") == stored
    assert await layer.is_migrated("templates")
    assert registry == set()  # the lock is released


async def test_save_writes_where_the_collection_lives():
    storage = MemoryStorage(
        local={"airprompts_schema_version": '"3.0.0"'},
        app={"templates": json.dumps({"key": "templates", "value": [], "timestamp": 1, "extra": "kept"})},
    )
    layer, _ = make(storage)
    result = await layer.save("templates", [V2_TEMPLATE])
    assert result["location"] == "app" and "airprompts_templates" not in storage.local
    record = json.loads(storage.app["templates"])
    assert record["extra"] == "kept" and record["timestamp"] == int(T0 * 1000)
    assert record["value"][0]["metadata"]["sourceKey"] == "AirPromptsDB:templates"


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ({"id": "x"}, InvalidInput, "must be an array"),
        ([V2_TEMPLATE, {"id": "b", "name": "B", "content": 3}], ValidationFailed, r"#1 \(id 'b'\).*content"),
        ([V2_TEMPLATE, V2_TEMPLATE], ValidationFailed, "duplicate-id"),
        ([V2_TEMPLATE, "nope"], ValidationFailed, "not-an-object"),
        ([{**V2_TEMPLATE, "x": float("nan")}], InvalidInput, "JSON"),
    ],
)
async def test_save_rejects_bad_input_and_writes_nothing(value, error, match):
    old = json.dumps([V2_TEMPLATE])
    storage = MemoryStorage(local={"airprompts_templates": old, "airprompts_schema_version": '"3.0.0"'})
    layer, _ = make(storage)
    before = state(storage)
    with pytest.raises(error, match=match):
        await layer.save("templates", value)
    assert state(storage) == before


async def test_save_rejects_wrong_value_types():
    layer, _ = make(MemoryStorage())
    with pytest.raises(InvalidInput, match="must be an object"):
        await layer.save("user_settings", ["x"])
    with pytest.raises(ValidationFailed, match="array of strings"):
        await layer.save("tags", ["a", 1])
    with pytest.raises(InvalidInput, match="null"):
        await layer.save("theme_preference", None)
    assert (await layer.save("user_settings", {}))["saved"] == 1


async def test_save_before_the_migration_writes_records_the_migration_keeps():
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT, "airprompts_schema_version": '"1.0.0"'})
    layer, _ = make(storage)
    records = await layer.get("templates")
    records[0]["name"] = "Renamed"
    await layer.save("templates", records)
    stored = json.loads(storage.local["airprompts_templates"])
    assert stored == [{**WORKED_OUTPUT, "name": "Renamed"}]
    assert storage.local["airprompts_schema_version"] == '"1.0.0"'
    # Upgrading again (what the migration will do) changes nothing.
    assert expected("templates", stored, "airprompts_templates", "1.0.0") == stored


async def test_save_waits_for_a_lock_held_elsewhere_then_writes():
    registry: set[str] = set()
    storage = MemoryStorage(local={"airprompts_schema_version": '"3.0.0"'})
    layer, _ = make(storage, registry=registry)
    migration = MemoryLock(registry=registry)
    assert await migration.acquire()
    task = asyncio.create_task(layer.save("templates", [V2_TEMPLATE]))
    await asyncio.sleep(0.05)
    assert not task.done() and "airprompts_templates" not in storage.local
    migration.release()
    assert (await asyncio.wait_for(task, 1))["saved"] == 1
    assert json.loads(storage.local["airprompts_templates"])[0]["id"] == "t2"
    assert registry == set()


async def test_a_save_is_not_overwritten_by_the_migrations_switch():
    registry: set[str] = set()
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT, "airprompts_schema_version": '"1.0.0"'})
    layer, _ = make(storage, registry=registry)
    migration = MemoryLock(registry=registry)
    assert await migration.acquire()
    await storage.own_write([Put("journal", "current", json.dumps({"phase": "transform"}))])
    task = asyncio.create_task(layer.save("templates", [V2_TEMPLATE]))
    await asyncio.sleep(0.05)
    assert not task.done()
    # The migration switches what it staged, finishes and lets go of the lock.
    await storage.own_write([Put("journal", "current", json.dumps({"phase": "switch"}))])
    await storage.local_write({"airprompts_templates": json.dumps([WORKED_OUTPUT])})
    await storage.own_write([Delete("journal", "current")])
    await storage.local_write({"airprompts_schema_version": '"3.0.0"'})
    migration.release()
    await asyncio.wait_for(task, 1)
    assert [r["id"] for r in json.loads(storage.local["airprompts_templates"])] == ["t2"]


async def test_save_times_out_on_an_interrupted_migration():
    storage = MemoryStorage(local={"airprompts_schema_version": '"1.0.0"'})
    await storage.own_write([Put("journal", "current", json.dumps({"phase": "backup"}))])
    layer, _ = make(storage)
    layer.wait_timeout_s = 0.05
    before = state(storage)
    with pytest.raises(MigrationInProgress, match="phase backup") as info:
        await layer.save("templates", [V2_TEMPLATE])
    assert info.value.details["phase"] == "backup"
    assert state(storage) == before


# ---------------------------------------------------------------------- migrated, stats


async def test_is_migrated_needs_the_recorded_version_and_every_record():
    local = {"airprompts_templates": json.dumps([WORKED_OUTPUT]), "airprompts_schema_version": '"3.0.0"'}
    layer, _ = make(MemoryStorage(local=local))
    assert await layer.is_migrated("templates")
    assert await layer.is_migrated("workflows")  # nothing stored
    layer, _ = make(MemoryStorage(local={**local, "airprompts_schema_version": '"2.0.0"'}))
    assert not await layer.is_migrated("templates")
    mixed = {**local, "airprompts_templates": json.dumps([WORKED_OUTPUT, V2_TEMPLATE])}
    layer, _ = make(MemoryStorage(local=mixed))
    assert not await layer.is_migrated("templates")


async def test_stats():
    storage = MemoryStorage(local={"airprompts_templates": WORKED_INPUT, "airprompts_schema_version": '"1.0.0"'})
    layer, _ = make(storage)
    await layer.get("templates")
    stats = await layer.get_migration_stats()
    assert stats["storedVersion"] == "1.0.0" and stats["migrationNeeded"] is True
    assert stats["collections"]["templates"] == {
        "count": 1,
        "migrated": False,
        "location": "local",
        "sourceKey": "airprompts_templates",
    }
    assert stats["collections"]["folders"]["location"] is None
    assert stats["transformedOnRead"] == 1 and stats["reads"] == 1 and stats["saves"] == 0
    assert stats["dualRead"]["enabled"] is False
    json.dumps(stats)


# ---------------------------------------------------------------------- dual read


async def test_dual_read_mode_persists_and_expires():
    clock = Clock()
    storage = MemoryStorage()
    layer, _ = make(storage, clock=clock)
    mode = await layer.set_dual_read_mode(True, 60_000)
    assert mode["enabled"] and mode["until"] == int(T0 * 1000) + 60_000 and mode["remainingMs"] == 60_000
    assert json.loads(storage.own["settings"]["dualReadMode"])["enabled"] is True
    # Another instance (another tab) reads the persisted mode.
    other, _ = make(storage, clock=clock)
    clock.t += 59
    assert (await other.get_dual_read_mode())["enabled"] is True
    clock.t += 1
    mode = await other.get_dual_read_mode()
    assert mode["enabled"] is False and mode["expired"] is True
    assert (await layer.set_dual_read_mode(False))["enabled"] is False
    default = await layer.set_dual_read_mode(True)
    assert default["until"] == int(clock.t * 1000) + DEFAULT_DUAL_READ_MS


async def test_dual_read_mode_follows_the_migrations_setting():
    clock = Clock()
    storage = MemoryStorage()
    until = int(T0 * 1000) + 1000
    await storage.own_write(
        [Put("settings", "dualRead", json.dumps({"until": until, "backupId": "b1", "runId": "r1"}))]
    )
    layer, _ = make(storage, clock=clock)
    mode = await layer.get_dual_read_mode()
    assert mode["enabled"] and mode["source"] == "migration" and mode["backupId"] == "b1"
    clock.t += 1
    assert (await layer.get_dual_read_mode())["enabled"] is False


@pytest.mark.parametrize("args", [("yes", 10), (True, -1), (True, float("inf")), (True, "10")])
async def test_dual_read_mode_rejects_bad_arguments(args):
    storage = MemoryStorage()
    layer, _ = make(storage)
    with pytest.raises(InvalidInput):
        await layer.set_dual_read_mode(*args)
    assert storage.own["settings"] == {}


async def test_an_unreadable_airpromptsdb_record_falls_back_to_localstorage():
    storage = MemoryStorage(
        local={"airprompts_templates": json.dumps([WORKED_OUTPUT]), "airprompts_schema_version": '"3.0.0"'},
        app={"templates": "{not json"},
    )
    layer, logger = make(storage)
    assert await layer.get("templates") == [WORKED_OUTPUT]
    assert "not JSON" in (await logger.query_logs(level="WARN"))[0]["message"]
