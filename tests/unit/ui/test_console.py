"""The console under CPython: its panels driven through the API alone, drawn on a page of index.html's elements."""

from __future__ import annotations

import asyncio
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.api import Api, event_json
from app.services.crypto import PythonCrypto
from app.storage.memory import MemoryLock, MemoryStorage
from app.ui import dom
from app.ui.client import Client
from app.ui.console import mount
from app.ui.dom import Document, by_id
from app.wiring import build

ROOT = Path(__file__).resolve().parents[3]


class _Elements(HTMLParser):
    """Collect index.html's elements with an id, as static/js/console.js snapshot() reports them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            info = {"tag": tag.upper(), "hidden": "hidden" in attrs, "disabled": "disabled" in attrs,
                    "dataset": {k[5:]: v for k, v in attrs.items() if k.startswith("data-")}}
            if tag in ("input", "select", "textarea"):
                info["value"] = attrs.get("value") or ""
            self.found[attrs["id"]] = info


def page_snapshot() -> dict[str, dict]:
    parser = _Elements()
    parser.feed((ROOT / "index.html").read_text())
    return parser.found


def v1_store(count: int) -> dict[str, str]:
    templates = [
        {"id": 1_700_000_000_000 + i, "name": f"Modèle “{i}” 🚀", "content": f"Résume {{text}}\r\nen {i} points — 完了",
         "folder_id": "writing", "created_at": "2024-03-01T10:00:00.000Z"}
        for i in range(count)
    ]
    return {
        "airprompts_schema_version": '"1.0.0"',
        "airprompts_templates": json.dumps(templates, ensure_ascii=False),
        "airprompts_folders": json.dumps([{"id": "writing", "name": "Écriture", "parent_id": None}], ensure_ascii=False),
        "airprompts_todos": '[{"id":"t1","text":"keep me"}]',
    }


@pytest.fixture
def page(monkeypatch):
    document = Document()
    monkeypatch.setattr(dom, "document", document)
    posted: list[list] = []
    document.connect(lambda text: posted.extend(json.loads(text)), page_snapshot())
    return document, posted


def client_of(api: Api) -> Client:
    def subscribe(name, listener):
        return api.services.events.subscribe(name, lambda event, payload: listener(event, json.loads(event_json(payload))))

    return Client(api.dispatch, subscribe)


async def until(check, timeout_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        assert loop.time() < deadline, "the console never got there"
        await asyncio.sleep(0.01)


async def test_the_console_migrates_through_the_api_and_shows_the_outcome(page):
    document, posted = page
    storage = MemoryStorage(local=v1_store(45))
    api = Api(build(storage, PythonCrypto(), MemoryLock(registry=set())))
    console = await mount(client_of(api))
    await asyncio.sleep(0)
    assert ["data", "console", "state", "ready"] in posted
    assert by_id("status-current").textContent == "1.0.0"
    assert by_id("run-start").disabled is False
    assert ["listen", "run-form", "submit"] in posted
    assert all(op[0] != "children" or "innerHTML" not in json.dumps(op) for op in posted)

    document.receive(json.dumps({"id": "run-form", "type": "submit", "values": {"batch-size": "7", "batch-delay": "0"}}))
    await until(lambda: by_id("run-state").textContent == "Finished")
    assert by_id("run-result-title").textContent == "Migration complete: 1.0.0 → 3.0.0"
    assert by_id("run-result").dataset.outcome == "success"
    assert storage.local["airprompts_schema_version"] == '"3.0.0"'
    stored = json.loads(storage.local["airprompts_templates"])
    assert len(stored) == 45 and stored[44]["content"] == "Résume {text}\r\nen 44 points — 完了"
    await until(lambda: by_id("status-current").textContent == "3.0.0")
    await until(lambda: "✓ success" in by_id("history-body").textContent)
    assert "1.0.0 → 3.0.0" in by_id("history-body").textContent
    console.close()


async def test_a_restore_confirmation_lists_the_keys_the_api_reports(page):
    document, posted = page
    storage = MemoryStorage(local=v1_store(3))
    api = Api(build(storage, PythonCrypto(), MemoryLock(registry=set())))
    meta = await api.call("backupService", "createFullBackup", ["avant « tout »", None])
    storage.local["airprompts_tags"] = '["nouveau"]'  # stored after the backup: a restore removes it
    console = await mount(client_of(api))
    button_id = f"backup-restore-{meta['id']}"
    await until(lambda: button_id in document.elements)
    document.receive(json.dumps({
        "id": "backups-body", "type": "click", "values": {},
        "action": {"id": button_id, "tag": "BUTTON", "disabled": False,
                   "dataset": {"action": "restore", "backupId": meta["id"]}},
    }))
    await until(lambda: ["call", "confirm-dialog", "showModal", []] in posted)
    details = by_id("confirm-details").textContent
    assert "airprompts_todos" in details and "airprompts_templates" in details
    assert "Keys that exist now and will be removed (1)" in details and "airprompts_tags" in details
    document.receive(json.dumps({"id": "confirm-dialog", "type": "close", "values": {"confirm-passphrase": ""},
                                 "returnValue": "confirm"}))
    await until(lambda: "Restored backup" in by_id("notice-text").textContent)
    assert "airprompts_tags" not in storage.local
    console.close()


async def test_a_failed_run_says_what_failed_and_that_the_data_was_restored(page):
    from app.core.errors import QuotaExceeded

    document, _posted = page
    seeded = v1_store(12)
    storage = MemoryStorage(local=dict(seeded))
    api = Api(build(storage, PythonCrypto(), MemoryLock(registry=set())))
    console = await mount(client_of(api))
    writes = 0

    def disk_full(operation, detail):
        nonlocal writes
        touched = [*detail.get("set", []), *detail.get("remove", [])] if isinstance(detail, dict) else []
        if operation == "local_write" and "airprompts_migrate_pending" not in touched:
            writes += 1
            if writes == 1:
                raise QuotaExceeded("Browser storage is full: no room for “airprompts_templates”")

    storage.fault = disk_full
    document.receive(json.dumps({"id": "run-form", "type": "submit", "values": {"batch-size": "5"}}))
    await until(lambda: by_id("run-state").textContent == "Failed")
    storage.fault = None
    assert by_id("run-result").dataset.outcome == "failure"
    assert by_id("run-result-title").textContent == "Migration failed: QuotaExceeded"
    assert "Browser storage is full" in by_id("run-result-text").textContent
    assert "restored from the backup" in by_id("run-result-facts").textContent
    next_step = by_id("run-result-next").textContent
    assert next_step.startswith("What to do next: The browser refused to store the migrated data: it is out of storage space")
    assert "deleting old backups in Backups" in next_step
    assert by_id("run-start").disabled is False
    assert storage.local == seeded
    console.close()
