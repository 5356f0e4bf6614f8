import json
from pathlib import Path

import pytest

from app.core.errors import (
    BackupCorrupted,
    BackupNotFound,
    InvalidInput,
    NothingChanged,
    QuotaExceeded,
    WrongPassphrase,
)
from app.core.keys import is_app_key
from app.services.backup import BackupService
from app.services.crypto import PythonCrypto
from app.storage.memory import MemoryStorage

FIXTURES = Path("/work/shared/fixtures/airprompts")

TEMPLATES = (
    '[\n  {"id": "t1", "name": "Résumé", "content": "  Sum up:\\n\\t{text}   \\n\\n", "folderId": null},\n'
    '  {"id":"t2","name":"مرحبا بالعالم","content":"emoji 🎉👩‍💻 and RTL ‏שלום‏"}\n]'
)


def _initial_local() -> dict[str, str]:
    local = {
        "airprompts_templates": TEMPLATES,
        "airprompts_schema_version": '"3.0.0"',
        "airprompts_theme_preference": '"dark"',
        "airprompts-ui-storage": '{"state":{"sidebar":true},"version":0}',
        "theme-storage": '{ "theme" :  "light" }',
        "todoSidebarCollapsed": "true",
        "section-height-templates": "320",
        "context-height-mode-t1": "auto",
        "templates_backup": "not json at all, kept raw   ",
        "ap_snippets": "[]",
        "other_site_key": "must never change",
    }
    if FIXTURES.exists():
        local["airprompts_snippets"] = (FIXTURES / "defaultSnippets.json").read_text(encoding="utf-8")
        local["airprompts_folders"] = (FIXTURES / "defaultFolders.json").read_text(encoding="utf-8")
    return local


def _record(key: str, value: object, timestamp: int = 1) -> str:
    return json.dumps({"key": key, "value": value, "timestamp": timestamp}, ensure_ascii=False, indent=1)


def _storage(**kwargs) -> MemoryStorage:
    storage = MemoryStorage(local=_initial_local(), **kwargs)
    storage.app = {
        "workflows": _record("workflows", [{"id": "w1", "steps": ["t1"], "note": "  spaced  "}]),
        "templates": _record("templates", [{"id": "big", "content": "x" * 50}]),
    }
    return storage


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += seconds


def _service(storage: MemoryStorage, clock: Clock | None = None, **kwargs) -> BackupService:
    kwargs.setdefault("iterations", 1000)
    kwargs.setdefault("max_backups", 50)
    return BackupService(storage, PythonCrypto(), clock=clock or Clock(), **kwargs)


def _state(storage: MemoryStorage) -> tuple[dict, dict]:
    return dict(storage.local), dict(storage.app)


def _change_everything(storage: MemoryStorage) -> None:
    storage.local["airprompts_templates"] = "[]"
    storage.local["airprompts_schema_version"] = '"2.0.0"'
    storage.local["airprompts_new_key"] = "added after the backup"
    storage.local["section-height-new"] = "10"
    del storage.local["theme-storage"]
    del storage.local["templates_backup"]
    storage.local["other_site_key"] = "changed by another site script"
    storage.app["workflows"] = _record("workflows", [], 2)
    storage.app["snippets"] = _record("snippets", [{"id": "s9"}])
    del storage.app["templates"]


def test_default_iterations_are_at_least_600k():
    service = BackupService(MemoryStorage(), PythonCrypto())
    assert service.iterations >= 600_000


def test_is_app_key_follows_data_md():
    owned = [
        "airprompts_templates",
        "airprompts-ui-storage",
        "airprompts_foo_ui_state",
        "theme-storage",
        "theme-storage-v2",
        "todoSidebarCollapsed",
        "section-height-x",
        "context-height-y",
        "context-height-mode-z",
        "templates",
        "recent_items",
        "ap_templates",
        "airprompts-templates",
        "ui-prefs",
        "theme",
        "templates_backup",
        "templates_temp",
    ]
    assert all(is_app_key(k) for k in owned)
    assert not any(is_app_key(k) for k in ["other_site_key", "themes", "apx", "section-width-1"])


async def test_snapshot_holds_app_data_exactly_as_stored():
    storage = _storage()
    snap = await _service(storage).snapshot()
    assert "other_site_key" not in snap["local"]
    assert snap["local"]["airprompts_templates"] == TEMPLATES
    assert snap["app"] == storage.app
    assert set(snap["local"]) == {k for k in storage.local if k != "other_site_key"}


async def test_restore_after_changing_everything_gives_identical_storage():
    storage = _storage()
    clock = Clock()
    service = _service(storage, clock, chunk_chars=300)
    local_before, app_before = _state(storage)
    meta = await service.create_full_backup("before edits")
    assert meta["type"] == "full" and meta["kind"] == "manual" and meta["complete"] is True
    assert meta["chunkCount"] > 1 and meta["schemaVersion"] == "3.0.0" and meta["persisted"] is True
    assert "other_site_key" not in meta["keys"]["local"]

    _change_everything(storage)
    clock.advance()
    result = await service.restore_backup(meta["id"])

    expected_local = dict(local_before, other_site_key="changed by another site script")
    assert storage.local == expected_local
    assert storage.app == app_before
    assert sorted(result["removed"]) == ["airprompts_new_key", "section-height-new", "snippets"]
    safety = await service.get_backup(result["safetyBackupId"])
    assert safety["kind"] == "safety"
    assert storage.own["journal"] == {}


async def test_huge_value_is_split_across_chunks_and_restored():
    storage = _storage()
    huge = ("line with spaces   \n" * 400) + "🎉" * 100
    storage.local["airprompts_editor_draft"] = huge
    service = _service(storage, chunk_chars=1024)
    meta = await service.create_full_backup()
    assert all(len(v) < 1500 for k, v in storage.own["chunks"].items())
    storage.local["airprompts_editor_draft"] = "gone"
    await service.restore_backup(meta["id"], safety_backup=False)
    assert storage.local["airprompts_editor_draft"] == huge


async def test_restore_of_selected_keys_touches_only_them():
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup()
    _change_everything(storage)
    changed_local, changed_app = _state(storage)
    result = await service.restore_backup(meta["id"], keys=["theme-storage", "airprompts_new_key", "templates"])
    assert storage.local["theme-storage"] == _initial_local()["theme-storage"]
    assert "airprompts_new_key" not in storage.local
    assert storage.local["airprompts_templates"] == "[]"
    assert storage.app["workflows"] == changed_app["workflows"]
    assert json.loads(storage.app["templates"])["value"][0]["id"] == "big"
    assert result["removed"] == ["airprompts_new_key"]


async def test_flipped_character_is_reported_and_restore_refuses():
    storage = _storage()
    service = _service(storage, chunk_chars=300)
    meta = await service.create_full_backup()
    key = f"{meta['id']}/000001"
    text = storage.own["chunks"][key]
    storage.own["chunks"][key] = text[:10] + ("A" if text[10] != "A" else "B") + text[11:]
    _change_everything(storage)
    local_before, app_before = _state(storage)

    report = await service.verify_backup(meta["id"])
    assert report["ok"] is False
    bad = [c for c in report["chunks"] if not c["ok"]]
    assert [c["index"] for c in bad] == [1] and "checksum" in bad[0]["error"]

    with pytest.raises(BackupCorrupted):
        await service.restore_backup(meta["id"])
    assert _state(storage) == (local_before, app_before)
    assert [b["id"] for b in await service.list_backups()] == [meta["id"]]


async def test_verify_reports_a_good_backup_ok():
    service = _service(_storage(), chunk_chars=300)
    meta = await service.create_full_backup()
    report = await service.verify_backup(meta["id"])
    assert report["ok"] is True and report["errors"] == []
    assert len(report["chunks"]) == meta["chunkCount"]
    with pytest.raises(BackupNotFound):
        await service.verify_backup("nope")


async def test_incremental_chain_restores_each_point():
    storage = _storage()
    clock = Clock()
    service = _service(storage, clock)
    full = await service.create_full_backup()
    state_full = _state(storage)

    storage.local["airprompts_templates"] = "[ ]"
    del storage.local["todoSidebarCollapsed"]
    clock.advance()
    inc1 = await service.create_incremental_backup("one")
    state_inc1 = _state(storage)
    assert inc1["type"] == "incremental" and inc1["baseId"] == full["id"]
    assert inc1["deleted"]["local"] == ["todoSidebarCollapsed"]

    storage.app["snippets"] = _record("snippets", [])
    storage.local["todoSidebarCollapsed"] = "false"
    clock.advance()
    inc2 = await service.create_incremental_backup("two")
    assert inc2["baseId"] == inc1["id"]

    _change_everything(storage)
    await service.restore_backup(inc1["id"], safety_backup=False)
    assert _state(storage)[1] == state_inc1[1]
    assert {k: v for k, v in storage.local.items() if k != "other_site_key"} == {
        k: v for k, v in state_inc1[0].items() if k != "other_site_key"
    }
    await service.restore_backup(full["id"], safety_backup=False)
    assert storage.app == state_full[1]
    assert (await service.verify_backup(inc2["id"]))["chain"] == [full["id"], inc1["id"], inc2["id"]]


async def test_nothing_changed_raises():
    storage = _storage()
    service = _service(storage)
    full = await service.create_full_backup()
    with pytest.raises(NothingChanged) as info:
        await service.create_incremental_backup()
    assert full["id"] in info.value.message
    storage.local["other_site_key"] = "not ours"
    with pytest.raises(NothingChanged):
        await service.create_incremental_backup()


async def test_incremental_without_any_backup_is_refused():
    with pytest.raises(BackupNotFound):
        await _service(_storage()).create_incremental_backup()


async def test_retention_by_count_keeps_newest_and_protected():
    storage = _storage()
    clock = Clock()
    service = _service(storage, clock, max_backups=3)
    ids = []
    for n in range(3):
        storage.local["airprompts_n"] = str(n)
        ids.append((await service.create_full_backup())["id"])
        clock.advance()
    service.protected.add(ids[0])
    storage.local["airprompts_n"] = "3"
    ids.append((await service.create_full_backup())["id"])
    clock.advance()
    storage.local["airprompts_n"] = "4"
    ids.append((await service.create_full_backup())["id"])
    kept = [b["id"] for b in await service.list_backups()]
    assert kept == [ids[4], ids[3], ids[2], ids[0]]


async def test_retention_by_age_never_deletes_newest_or_protect():
    storage = _storage()
    clock = Clock()
    service = _service(storage, clock, max_age_days=7)
    old = await service.create_full_backup()
    clock.advance(3600)
    storage.local["airprompts_n"] = "1"
    older = await service.create_full_backup()
    clock.advance(8 * 86400)
    deleted = await service.apply_retention(protect=[old["id"]])
    assert deleted == []
    assert {b["id"] for b in await service.list_backups()} == {old["id"], older["id"]}
    deleted = await service.apply_retention()
    assert deleted == [old["id"]]
    assert [b["id"] for b in await service.list_backups()] == [older["id"]]


async def test_retention_and_delete_keep_a_needed_base():
    storage = _storage()
    clock = Clock()
    service = _service(storage, clock, max_backups=1)
    full = await service.create_full_backup()
    clock.advance()
    storage.local["airprompts_n"] = "1"
    inc = await service.create_incremental_backup()
    assert {b["id"] for b in await service.list_backups()} == {full["id"], inc["id"]}
    with pytest.raises(InvalidInput):
        await service.delete_backup(full["id"])
    await service.delete_backup(inc["id"])
    await service.delete_backup(full["id"])
    assert await service.list_backups() == []
    assert storage.own["chunks"] == {}
    with pytest.raises(BackupNotFound):
        await service.delete_backup(full["id"])


async def test_encrypted_round_trip():
    storage = _storage()
    service = _service(storage, chunk_chars=300)
    local_before, app_before = _state(storage)
    meta = await service.create_full_backup("secret", passphrase="correct horse")
    assert meta["encrypted"] is True
    assert meta["kdf"]["name"] == "PBKDF2" and meta["kdf"]["iterations"] == 1000
    stored = "".join(storage.own["chunks"].values())
    assert "Résumé" not in stored and "airprompts_templates" not in stored
    assert (await service.verify_backup(meta["id"], passphrase="correct horse"))["ok"] is True

    _change_everything(storage)
    result = await service.restore_backup(meta["id"], passphrase="correct horse", safety_backup=False)
    assert result["safetyBackupId"] is not None  # always made for an encrypted backup
    assert storage.local == dict(local_before, other_site_key="changed by another site script")
    assert storage.app == app_before


async def test_encrypted_incremental_reuses_passphrase():
    storage = _storage()
    clock = Clock()
    service = _service(storage, clock)
    await service.create_full_backup(passphrase="pw")
    storage.local["airprompts_n"] = "1"
    clock.advance()
    with pytest.raises(WrongPassphrase):
        await service.create_incremental_backup()
    inc = await service.create_incremental_backup(passphrase="pw")
    assert inc["encrypted"] is True
    del storage.local["airprompts_n"]
    await service.restore_backup(inc["id"], passphrase="pw")
    assert storage.local["airprompts_n"] == "1"


async def test_wrong_or_missing_passphrase_fails_and_changes_nothing():
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup(passphrase="right")
    _change_everything(storage)
    before = _state(storage)
    own_before = {s: dict(v) for s, v in storage.own.items()}
    for passphrase in ("wrong", None):
        with pytest.raises(WrongPassphrase):
            await service.restore_backup(meta["id"], passphrase=passphrase)
        with pytest.raises(WrongPassphrase):
            await service.verify_backup(meta["id"], passphrase=passphrase)
    assert _state(storage) == before
    assert storage.own == own_before


async def test_quota_exceeded_refuses_and_writes_nothing():
    storage = _storage()
    storage.idb_quota = storage.idb_usage() + 2 * storage.local_usage() + 100
    service = _service(storage)
    with pytest.raises(QuotaExceeded) as info:
        await service.create_full_backup()
    assert info.value.needed > info.value.available
    assert "needed" in info.value.message
    assert storage.own["chunks"] == {} and storage.own["backups"] == {}


async def test_quota_hit_mid_write_leaves_nothing():
    storage = _storage()
    service = _service(storage, chunk_chars=200)
    # estimate() passes, but the real writes overflow part way.
    storage.idb_quota = storage.idb_usage() + 2000

    async def roomy() -> dict[str, int]:
        return {"usage": 0, "quota": 2**40}

    storage.estimate = roomy
    with pytest.raises(QuotaExceeded):
        await service.create_full_backup()
    assert storage.own["chunks"] == {} and storage.own["backups"] == {}


class PageKilled(BaseException):
    pass


async def test_backup_killed_mid_chunks_is_discarded_by_recover():
    storage = _storage()
    service = _service(storage, chunk_chars=200)
    writes = []

    def fault(operation: str, detail: object) -> None:
        if operation == "own_write":
            writes.append(detail)
            if len(writes) == 2:
                raise PageKilled()
            if len(writes) > 2:
                raise RuntimeError("the page is gone")

    storage.fault = fault
    with pytest.raises(PageKilled):
        await service.create_full_backup()
    storage.fault = None
    assert storage.own["chunks"] != {}
    assert await service.list_backups() == []

    result = await service.recover()
    assert result["operation"] == "backup" and result["outcome"] == "discarded"
    assert storage.own["chunks"] == {}
    assert await service.recover() is None


async def test_restore_killed_on_app_write_is_completed_by_recover():
    storage = _storage()
    service = _service(storage)
    local_before, app_before = _state(storage)
    meta = await service.create_full_backup()
    _change_everything(storage)

    def fault(operation: str, detail: object) -> None:
        if operation == "app_write":
            raise PageKilled()

    storage.fault = fault
    with pytest.raises(PageKilled):
        await service.restore_backup(meta["id"])
    storage.fault = None
    assert "restore" in storage.own["journal"]
    assert storage.app != app_before  # a mix right now: the journal says so

    result = await service.recover()
    assert result["operation"] == "restore" and result["outcome"] == "completed"
    assert result["backupId"] == meta["id"]
    assert storage.local == dict(local_before, other_site_key="changed by another site script")
    assert storage.app == app_before
    assert storage.own["journal"] == {}


async def test_restore_failure_rolls_back_or_leaves_journal_for_recover():
    storage = _storage()
    service = _service(storage)
    local_before, app_before = _state(storage)
    meta = await service.create_full_backup()
    _change_everything(storage)
    changed = _state(storage)

    def once(operation: str, detail: object) -> None:
        if operation == "app_write":
            storage.fault = None
            raise RuntimeError("transaction aborted")

    storage.fault = once
    with pytest.raises(RuntimeError):
        await service.restore_backup(meta["id"])
    assert _state(storage) == changed
    assert storage.own["journal"] == {}

    def always(operation: str, detail: object) -> None:
        if operation == "app_write":
            raise RuntimeError("transaction aborted")

    storage.fault = always
    with pytest.raises(RuntimeError):
        await service.restore_backup(meta["id"])
    storage.fault = None
    assert "restore" in storage.own["journal"]
    assert (await service.recover())["outcome"] == "completed"
    assert storage.app == app_before


async def test_recover_rolls_encrypted_restore_back_to_safety_backup():
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup(passphrase="pw")
    _change_everything(storage)
    changed = _state(storage)

    def fault(operation: str, detail: object) -> None:
        if operation == "app_write":
            raise PageKilled()

    storage.fault = fault
    with pytest.raises(PageKilled):
        await service.restore_backup(meta["id"], passphrase="pw")
    storage.fault = None
    result = await service.recover()
    assert result["outcome"] == "discarded" and result["safetyBackupId"]
    assert _state(storage) == changed


async def test_export_import_round_trip():
    storage = _storage()
    service = _service(storage, chunk_chars=300)
    meta = await service.create_full_backup("to move")
    text = await service.export_backup(meta["id"])
    envelope = json.loads(text)
    assert envelope["format"] == "airprompts-migrate-backup" and envelope["version"] == 1
    assert len(envelope["chunks"]) == meta["chunkCount"]

    other = _storage()
    other.local.clear()
    other.app.clear()
    other_service = _service(other)
    imported = await other_service.import_backup(text)
    assert imported["id"] == meta["id"] and imported["kind"] == "imported"
    await other_service.restore_backup(imported["id"], safety_backup=False)
    assert other.local == {k: v for k, v in storage.local.items() if k != "other_site_key"}
    assert other.app == storage.app

    # The same file again, here or where it came from, is recognised: no second backup.
    again = await service.import_backup(text)
    assert again["id"] == meta["id"] and again["alreadyImported"] is True
    twice = await other_service.import_backup(text)
    assert twice["id"] == imported["id"] and twice["alreadyImported"] is True
    assert len(await other_service.list_backups()) == 1 and len(await service.list_backups()) == 1


async def test_encrypted_export_imports_and_needs_the_passphrase():
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup(passphrase="pw")
    other = MemoryStorage()
    other_service = _service(other)
    imported = await other_service.import_backup(await service.export_backup(meta["id"]))
    with pytest.raises(WrongPassphrase):
        await other_service.restore_backup(imported["id"])
    await other_service.restore_backup(imported["id"], passphrase="pw", safety_backup=False)
    assert other.app == storage.app


async def test_tampered_or_invalid_export_is_refused():
    storage = _storage()
    service = _service(storage)
    meta = await service.create_full_backup()
    envelope = json.loads(await service.export_backup(meta["id"]))
    envelope["chunks"][0]["data"] = envelope["chunks"][0]["data"].replace("t1", "t7", 1)
    other = MemoryStorage()
    other_service = _service(other)
    with pytest.raises(BackupCorrupted):
        await other_service.import_backup(json.dumps(envelope))
    for bad in ("not json", "{}", json.dumps({"format": "airprompts-migrate-backup", "version": 2})):
        with pytest.raises(InvalidInput):
            await other_service.import_backup(bad)
    assert other.own["backups"] == {} and other.own["chunks"] == {}


async def test_incremental_export_is_refused():
    storage = _storage()
    clock = Clock()
    service = _service(storage, clock)
    await service.create_full_backup()
    storage.local["airprompts_n"] = "1"
    clock.advance()
    inc = await service.create_incremental_backup()
    with pytest.raises(InvalidInput):
        await service.export_backup(inc["id"])


async def test_list_and_get_backups():
    storage = _storage()
    clock = Clock()
    service = _service(storage, clock)
    first = await service.create_full_backup("first", kind="pre-migration", migration_id="m1")
    second = await service.create_full_backup("second")
    assert [b["id"] for b in await service.list_backups()] == [second["id"], first["id"]]
    got = await service.get_backup(first["id"])
    assert got["migrationId"] == "m1" and got["kind"] == "pre-migration"
    assert got["itemCount"] == 1 + 1 + len(json.loads(storage.local.get("airprompts_snippets", "[]"))) + len(
        json.loads(storage.local.get("airprompts_folders", "[]"))
    )
    with pytest.raises(BackupNotFound):
        await service.get_backup("missing")
    with pytest.raises(InvalidInput):
        await service.create_full_backup(kind="weird")


async def test_changed_iv_with_right_passphrase_is_corruption_not_wrong_passphrase():
    storage = _storage()
    service = _service(storage, chunk_chars=300)
    meta = await service.create_full_backup(passphrase="pw")
    meta["chunks"][1]["iv"] = meta["chunks"][0]["iv"]
    storage.own["backups"][meta["id"]] = json.dumps(meta)
    report = await service.verify_backup(meta["id"], passphrase="pw")
    assert report["ok"] is False
    assert [c["index"] for c in report["chunks"] if not c["ok"]] == [1]
