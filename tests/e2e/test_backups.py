"""Backups in real Chromium: byte-identical restore, corruption, incrementals, encryption, kills."""

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "core" / "fixtures"


def fixture_store() -> dict[str, str]:
    """The user's export as the app stores it, plus whitespace-heavy and non-app keys."""
    export = json.loads((FIXTURES / "airprompts-backup.json").read_text())
    local = {key: json.dumps(value, indent=2) for key, value in export.items()}
    local["airprompts_templates"] = (FIXTURES / "defaultTemplates.json").read_text()  # exact file text
    local["airprompts_schema_version"] = '"2.0.0"'
    local["theme"] = "dark"  # a legacy raw string
    local["section-height-sidebar"] = "  240  "
    local["not_the_apps_key"] = "leave me"
    return local


APP = {"snippets": [{"id": "s1", "content": "\u05e9\u05dc\u05d5\u05dd \U0001f680\n\t  "}]}


def test_restore_brings_back_exactly_what_was_stored(app):
    local = fixture_store()
    app.seed(local, APP)
    app.open()
    before_local, before_app = app.local(), app.app_records()
    meta = app.call("api.backupService.createFullBackup('before edits')")
    assert meta["type"] == "full" and meta["encrypted"] is False and meta["sha256"]
    assert meta["itemCount"] >= 5

    app.page.evaluate(
        """async () => {
            localStorage.setItem('airprompts_templates', '[]');
            localStorage.removeItem('theme');
            localStorage.setItem('airprompts_new_key', '1');
            localStorage.setItem('not_the_apps_key', 'changed by someone else');
        }"""
    )
    app.call("api.compatibilityLayer.save('snippets', [])")
    assert app.local()["airprompts_templates"] == "[]"

    result = app.call("api.backupService.restoreBackup(arg)", meta["id"])
    assert result["safetyBackupId"]
    after = app.local()
    expected = dict(before_local)
    expected["not_the_apps_key"] = "changed by someone else"  # not the app's: restore leaves it alone
    assert after == expected
    assert "airprompts_new_key" not in after
    assert app.app_records() == before_app
    listed = app.call("api.backupService.listBackups()")
    assert {b["id"] for b in listed} >= {meta["id"], result["safetyBackupId"]}


@pytest.mark.parametrize("damage", ["letter", "not-utf8"])
def test_flipped_byte_is_reported_and_restore_refused(app, damage):
    app.seed(fixture_store())
    app.open()
    meta = app.call("api.backupService.createFullBackup('to corrupt')")
    assert app.call("api.backupService.verifyBackup(arg)", meta["id"])["ok"] is True
    # A plain chunk is kept as its UTF-8 bytes; one byte of it changes: another letter, or a
    # byte that is no UTF-8 at all (0xFF), which must read as damage, not as an error.
    stored_as = app.page.evaluate(
        """async ([id, damage]) => {
            const db = await new Promise((res, rej) => { const r = indexedDB.open('AirPromptsMigrate'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
            const key = id + '/000000';
            const store = db.transaction('chunks', 'readwrite').objectStore('chunks');
            const kind = await new Promise((res) => { const g = store.get(key); g.onsuccess = () => {
                const bytes = g.result;
                if (!(bytes instanceof Uint8Array)) { res(typeof bytes); return; }
                const flipped = bytes.slice();
                let i = Math.floor(flipped.length / 2);
                while (flipped[i] < 0x61 || flipped[i] > 0x7a) i++;  // a lower-case ASCII letter
                flipped[i] = damage === 'letter' ? (flipped[i] === 0x61 ? 0x62 : 0x61) : 0xff;
                store.put(flipped, key).onsuccess = () => res('bytes'); }; });
            db.close();
            return kind;
        }""",
        [meta["id"], damage],
    )
    assert stored_as == "bytes"
    report = app.call("api.backupService.verifyBackup(arg)", meta["id"])
    assert report["ok"] is False
    assert [c["index"] for c in report["chunks"] if not c["ok"]] == [0]
    app.page.evaluate("() => localStorage.setItem('airprompts_templates', '[\"edited\"]')")
    before = app.local()
    error = app.call_error("api.backupService.restoreBackup(arg)", meta["id"])
    assert error["name"] == "BackupCorrupted" and error["isError"]
    assert "chunk" in error["message"].lower()
    assert app.local() == before


def test_incremental_chain_restores_each_point(app):
    app.seed({"airprompts_templates": '[{"id":"a"}]', "airprompts_schema_version": '"3.0.0"'})
    app.open()
    full = app.call("api.backupService.createFullBackup('full')")
    app.page.evaluate(
        '() => { localStorage.setItem(\'airprompts_templates\', \'[{"id":"a"},{"id":"b"}]\'); localStorage.setItem(\'airprompts_tags\', \'["x"]\'); }'
    )
    inc1 = app.call("api.backupService.createIncrementalBackup('one')")
    assert inc1["type"] == "incremental" and inc1["baseId"] == full["id"]
    nothing = app.call_error("api.backupService.createIncrementalBackup('again')")
    assert nothing["name"] == "NothingChanged"
    app.page.evaluate(
        "() => { localStorage.removeItem('airprompts_tags'); localStorage.setItem('airprompts_templates', '[]'); }"
    )
    state_after_inc1 = {
        "airprompts_templates": '[{"id":"a"},{"id":"b"}]',
        "airprompts_tags": '["x"]',
        "airprompts_schema_version": '"3.0.0"',
    }
    app.call("api.backupService.restoreBackup(arg)", inc1["id"])
    assert app.local() == state_after_inc1
    app.call("api.backupService.restoreBackup(arg)", full["id"])
    assert app.local() == {"airprompts_templates": '[{"id":"a"}]', "airprompts_schema_version": '"3.0.0"'}
    deleting_base = app.call_error("api.backupService.deleteBackup(arg)", full["id"])
    assert deleting_base["name"] == "InvalidInput"


def test_encrypted_backup_round_trips_and_wrong_passphrase_changes_nothing(app):
    local = fixture_store()
    app.seed(local)
    app.open()
    meta = app.call("api.backupService.createFullBackup('secret', {passphrase: 'correct horse'})")
    assert meta["encrypted"] is True
    assert meta["kdf"]["iterations"] >= 600_000
    # The stored chunks do not contain the plaintext.
    chunk = app.page.evaluate(
        """async (id) => { const db = await new Promise((res) => { const r = indexedDB.open('AirPromptsMigrate'); r.onsuccess = () => res(r.result); });
            const v = await new Promise((res) => { const g = db.transaction('chunks').objectStore('chunks').get(id + '/000000'); g.onsuccess = () => res(g.result); });
            db.close(); return v; }""",
        meta["id"],
    )
    assert "Template Builder" not in chunk
    app.page.evaluate("() => localStorage.setItem('airprompts_templates', '[]')")
    before = app.local()
    wrong = app.call_error("api.backupService.restoreBackup(arg, {passphrase: 'wrong'})", meta["id"])
    assert wrong["name"] == "WrongPassphrase"
    assert app.local() == before
    assert app.call("api.backupService.verifyBackup(arg[0], {passphrase: arg[1]})", [meta["id"], "correct horse"])["ok"]
    app.call("api.backupService.restoreBackup(arg[0], {passphrase: arg[1]})", [meta["id"], "correct horse"])
    assert app.local() == local


def test_export_import_round_trip_and_tampered_file_refused(app):
    local = fixture_store()
    app.seed(local)
    app.open()
    meta = app.call("api.backupService.createFullBackup('to export')")
    text = app.call("api.backupService.exportBackup(arg)", meta["id"])
    assert json.loads(text)["format"] == "airprompts-migrate-backup"
    tampered = text.replace("Template Builder", "Template Buildex", 1)
    assert tampered != text
    refused = app.call_error("api.backupService.importBackup(arg)", tampered)
    assert refused["name"] in ("BackupCorrupted", "InvalidInput")
    imported = app.call("api.backupService.importBackup(arg)", text)
    app.page.evaluate("() => localStorage.clear()")
    app.call("api.backupService.restoreBackup(arg)", imported["id"])
    assert app.local() == {k: v for k, v in local.items() if k != "not_the_apps_key"}


@pytest.mark.parametrize("operation,after", [("own_write", 1), ("own_write", 3), ("local_write", 0), ("app_write", 0)])
def test_page_killed_during_restore_ends_old_or_new(app, operation, after):
    """Reload the page at a write of the restore; the next load finishes it or keeps the old state."""
    local = fixture_store()
    app.seed(local, APP)
    app.open()
    meta = app.call("api.backupService.createFullBackup('kill test')")
    original = (app.local(), app.app_records())
    app.page.evaluate(
        """async () => {
            localStorage.setItem('airprompts_templates', '["changed"]');
            localStorage.setItem('airprompts_added', '1');
            const db = await new Promise((res) => { const r = indexedDB.open('AirPromptsDB'); r.onsuccess = () => res(r.result); });
            const tx = db.transaction('storage', 'readwrite');
            tx.objectStore('storage').put({key: 'snippets', value: [], timestamp: 2});
            await new Promise((res) => { tx.oncomplete = res; });
            db.close();
        }"""
    )
    changed = (app.local(), app.app_records())
    assert changed != original
    with app.page.expect_navigation(timeout=app.config.READY_TIMEOUT_MS):
        app.page.evaluate(
            """([operation, after, id]) => {
            let calls = 0;
            globalThis.__airpromptsFault = (op) => {
                if (op !== operation) return;
                if (calls++ === after) {
                    location.reload();
                    throw Object.assign(new Error('page is going away'), { name: 'AbortError' });
                }
            };
            window.airprompts.backupService.restoreBackup(id).catch(() => {});
        }""",
            [operation, after, meta["id"]],
        )
    app.wait_ready()
    now = (app.local(), app.app_records())
    assert now in (changed, original), "a restore killed half-way left a mix"


@pytest.mark.parametrize("after", [0, 1])
def test_page_killed_during_backup_leaves_no_partial_backup(app, after):
    """Reload the page at a chunk write of a backup: the next load lists no half-written backup."""
    local = fixture_store()
    local["airprompts_big"] = "x" * 600_000  # several chunks
    app.seed(local)
    app.open()
    existing = app.call("api.backupService.createFullBackup('complete one')")
    with app.page.expect_navigation(timeout=app.config.READY_TIMEOUT_MS):
        app.page.evaluate(
            """([after]) => {
            let calls = 0;
            globalThis.__airpromptsFault = (op) => {
                if (op !== 'own_write') return;
                if (calls++ === after) {
                    location.reload();
                    throw Object.assign(new Error('page is going away'), { name: 'AbortError' });
                }
            };
            window.airprompts.backupService.createFullBackup('killed').catch(() => {});
        }""",
            [after],
        )
    app.wait_ready()
    listed = app.call("api.backupService.listBackups()")
    for meta in listed:
        assert app.call("api.backupService.verifyBackup(arg)", meta["id"])["ok"], meta
    assert existing["id"] in [m["id"] for m in listed]
    # Whatever was listed is complete; chunks of an unlisted backup were cleaned up on load.
    chunk_owners = app.page.evaluate(
        """async () => { const db = await new Promise((res) => { const r = indexedDB.open('AirPromptsMigrate'); r.onsuccess = () => res(r.result); });
            const keys = await new Promise((res) => { const g = db.transaction('chunks').objectStore('chunks').getAllKeys(); g.onsuccess = () => res(g.result); });
            db.close(); return [...new Set(keys.map((k) => k.split('/')[0]))]; }"""
    )
    assert set(chunk_owners) <= {m["id"] for m in listed}
    assert app.local() == local
