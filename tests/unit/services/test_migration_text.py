"""The migration keeps users' text exactly: non-ASCII, emoji, CRLF, NUL, lone surrogates (in-memory storage)."""

from __future__ import annotations

import json

from app.core import keys
from app.storage.memory import MemoryStorage
from tests.unit.services.test_migration import Env, records_of

TS = "2024-03-01T10:00:00.000Z"
CONTENT = "\ufeffR\u00e9sum\u00e9 \u201c{text}\u201d \u2014 \u8bf7\u7528\u4e2d\u6587\r\n\u0644\u062e\u0651\u0635 \u200f\u05e9\u05dc\u05d5\u05dd\u200f \U0001f469\u200d\U0001f4bb\x00end"


def _store() -> MemoryStorage:
    storage = MemoryStorage()
    templates = [
        {"id": "t1", "name": "Caf\u00e9 \U0001f680", "content": CONTENT, "created_at": TS},
        # Half an emoji, as a cut-off string leaves it, escaped the way JSON.stringify writes it.
        {"id": "t2", "name": "Half \ud83d", "content": "cut \ud83d|\ude00 here", "created_at": TS},
    ]
    storage.local.update(
        {
            keys.SCHEMA_VERSION_KEY: '"1.0.0"',
            keys.collection_key("templates"): json.dumps(templates, ensure_ascii=False)
            .replace("\ud83d", "\\ud83d")
            .replace("\ude00", "\\ude00"),
            # Keys the migration never changes may hold any JavaScript string, lone surrogates as such.
            "airprompts_editor_draft": "a draft cut mid-emoji \ud83d",
            "theme-storage": "\udc00\r\n",
        }
    )
    return storage


async def test_a_store_holding_lone_surrogates_migrates_and_keeps_every_text():
    storage = _store()
    before = dict(storage.local)
    result = await Env(storage).migration.run_pending_migrations()
    assert result["success"], result
    assert storage.local["airprompts_editor_draft"] == before["airprompts_editor_draft"]
    assert storage.local["theme-storage"] == before["theme-storage"]
    by_id = {r["id"]: r for r in records_of(storage, "templates")}
    assert by_id["t1"]["content"] == CONTENT and by_id["t1"]["name"] == "Caf\u00e9 \U0001f680"
    assert by_id["t2"]["content"] == "cut \ud83d|\ude00 here" and by_id["t2"]["name"] == "Half \ud83d"
    # Written as JSON.stringify writes it: the lone surrogates as escapes, the rest as it is.
    text = storage.local[keys.collection_key("templates")]
    assert "\\ud83d|\\ude00" in text and CONTENT.replace("\x00", "\\u0000").replace("\r\n", "\\r\\n") in text
