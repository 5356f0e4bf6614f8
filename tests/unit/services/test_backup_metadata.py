"""Backup metadata under its checksum, re-imports recognised, verification results kept."""

from __future__ import annotations

import json

import pytest

from app.core.errors import BackupCorrupted, StorageUnavailable
from app.services.backup import VERIFIED_PREFIX
from app.storage.memory import MemoryStorage
from tests.unit.services.test_backup import Clock, _service, _state, _storage
from tests.unit.services.test_migration import Env

EDITS = {
    "description": "Édité à la main “après coup” 編集",
    "schemaVersion": "9.9.9",
    "createdAt": "1970-01-01T00:00:00.000Z",
    "createdAtMs": 0,
    "itemCount": 1,
}


@pytest.mark.parametrize("field", sorted(EDITS))
async def test_an_exported_file_with_edited_metadata_is_refused(field):
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup("Avant la migration — “sauvegarde” 🔒")
    envelope = json.loads(await service.export_backup(meta["id"]))
    envelope["meta"][field] = EDITS[field]
    other = _storage()
    other_service = _service(other)
    before = _state(other)
    with pytest.raises(BackupCorrupted, match="metadata"):
        await other_service.import_backup(json.dumps(envelope, ensure_ascii=False))
    assert _state(other) == before and other.own["backups"] == {} and other.own["chunks"] == {}


async def test_edited_stored_metadata_fails_verification_and_the_untouched_one_passes():
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup("مرحبا")
    assert (await service.verify_backup(meta["id"]))["ok"] is True
    stored = json.loads(storage.own["backups"][meta["id"]])
    stored["description"] = "changed"
    storage.own["backups"][meta["id"]] = json.dumps(stored)
    report = await service.verify_backup(meta["id"])
    assert report["ok"] is False and any("metadata" in e for e in report["errors"])


async def test_an_imported_backup_verifies_and_exports_again_under_its_first_checksum():
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup("déménagement")
    first = _storage()
    first_service = _service(first)
    imported = await first_service.import_backup(await service.export_backup(meta["id"]))
    assert (await first_service.verify_backup(imported["id"]))["metaVerified"] is True
    second = _storage()
    second_service = _service(second)
    again = await second_service.import_backup(await first_service.export_backup(imported["id"]))
    assert again["originalId"] == meta["id"] and again["originalKind"] == "manual"
    assert (await second_service.verify_backup(again["id"]))["ok"] is True
    # The original browser recognises the file that went round.
    assert (await service.import_backup(await second_service.export_backup(again["id"])))["alreadyImported"]


async def test_a_file_from_before_metadata_checksums_imports_marked_unverified():
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup("old export")
    envelope = json.loads(await service.export_backup(meta["id"]))
    del envelope["meta"]["metaSha256"]
    other_service = _service(_storage())
    imported = await other_service.import_backup(json.dumps(envelope))
    assert imported["metaVerified"] is False
    report = await other_service.verify_backup(imported["id"])
    assert report["ok"] is True and report["metaVerified"] is False


async def test_the_last_verification_is_listed_with_the_backup_until_it_is_deleted():
    storage = _storage()
    clock = Clock()
    service = _service(storage, clock)
    meta = await service.create_full_backup("kept")
    assert "verified" not in (await service.list_backups())[0]
    await service.verify_backup(meta["id"])
    listed = (await _service(storage, clock).list_backups())[0]  # a reloaded page
    assert listed["verified"]["ok"] is True and listed["verified"]["at"]
    await service.delete_backup(meta["id"])
    assert not [k for k in storage.own["settings"] if k.startswith(VERIFIED_PREFIX)]


async def test_a_verification_whose_result_cannot_be_written_still_answers_and_changes_nothing():
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup("x")
    before = (_state(storage), dict(storage.own["backups"]), dict(storage.own["chunks"]))

    def refuse(operation, detail):
        if operation == "own_write":
            raise StorageUnavailable("the database is closing")

    storage.fault = refuse
    report = await service.verify_backup(meta["id"])
    storage.fault = None
    assert report["ok"] is True
    assert (_state(storage), storage.own["backups"], storage.own["chunks"]) == before
    assert "verified" not in (await service.list_backups())[0]


@pytest.mark.parametrize(
    "local,version",
    [
        ({"templates": '[{"id": 1, "name": "Ancien", "content": "x"}]'}, "legacy"),
        ({"airprompts_data_version": "2.0", "airprompts_templates": '[{"id": "t", "name": "n", "content": "c"}]'}, "2.0.0"),
        ({"airprompts_schema_version": '"1.0.0"', "airprompts_templates": '[{"id": 1, "name": "n"}]'}, "1.0.0"),
    ],
)
async def test_the_pre_migration_backup_names_the_version_it_holds(local, version):
    env = Env(MemoryStorage(local=local))
    result = await env.migration.run_pending_migrations()
    meta = await env.backups.get_backup(result["backupId"])
    assert meta["kind"] == "pre-migration" and meta["schemaVersion"] == version
