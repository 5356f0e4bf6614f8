"""Stores shaped like users' data, shared by the command-line tests and the browser parity test."""

import json
from pathlib import Path

from tests import worked_example

FIXTURES = Path("/work/shared/fixtures/airprompts")
if not FIXTURES.exists():
    FIXTURES = Path(__file__).resolve().parent / "unit" / "core" / "fixtures"

# A 1.0.0 store as users have it: accents, curly quotes, CJK, Arabic, emoji, CRLF; a legacy key; a bad record.
TEMPLATES = [
    worked_example.INPUT,
    {"id": "t-é", "name": "Résumé “court”", "content": "Ligne 1\r\nLigne 2 — fin", "folder_id": "writing", "created_at": "2024-05-01T08:00:00.000Z"},
    {"id": "t-ja", "name": "要約", "content": "次の文を要約してください：\r\n{text} 🎉", "updated_at": "2024-05-02T08:00:00.000Z"},
    {"id": "t-bad", "name": 42, "content": "مرحبا بالعالم", "created_at": "2024-05-03T08:00:00.000Z"},
]
FOLDERS = [{"id": "writing", "name": "Écriture ✍️", "parent_id": None, "sort_order": 2, "created_at": "2024-01-01T00:00:00.000Z"}]
LOCAL = {
    "airprompts_schema_version": '"1.0.0"',
    "airprompts_templates": json.dumps(TEMPLATES, ensure_ascii=False),
    "airprompts_folders": json.dumps(FOLDERS),
    "ui-prefs": '{"theme_mode":"dark","font_size":14}',
    "airprompts_todos": '[{"text":"café ☕","done":false}]',
    "section-height-main": "320",
    "other-site-key": "not ours \u00e9",
}
SNIPPETS = [{"id": "s-1", "name": "Signature", "content": "— Zoë\r\n📎", "snippet_tags": ["mail"], "updated_at": "2024-02-02T00:00:00.000Z"}]


# Before 1.0.0: legacy keys, a raw (non-JSON) theme string, an ap_ key, the app's default folders beside them.
LEGACY_TEMPLATES = [
    {"id": 1700000000001, "name": "Traduction « FR→EN »", "content": "Traduis :\r\n{texte}", "created_at": "2023-11-14T22:13:20.001Z", "folder_id": "work"},
    {"name": "Sans identifiant", "content": "Ohne ID – 無題 🙂", "updated_at": "2023-12-01T09:00:00.000Z"},
]
LEGACY = {
    "templates": json.dumps(LEGACY_TEMPLATES, ensure_ascii=False),
    "ap_snippets": json.dumps([{"id": "s-ar", "name": "تحية", "content": "السلام عليكم\r\n", "created_at": "2023-10-10T10:10:10.000Z"}], ensure_ascii=False),
    "theme": "dark",
    "airprompts_folders": (FIXTURES / "defaultFolders.json").read_text(encoding="utf-8"),
    "todoSidebarCollapsed": "true",
}


def export_of(path: Path = FIXTURES / "airprompts-backup.json") -> dict:
    """Return the AirPrompts app's own export (key -> parsed value)."""
    return json.loads(path.read_text(encoding="utf-8"))

