"""The command line and Chromium migrate the same stores to the same bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app import cli
from tests.e2e import matrix as mx
from tests.user_stores import LEGACY, LOCAL, SNIPPETS, export_of

ROOT = Path(__file__).resolve().parents[2]
# Each AirPromptsDB record's value as JSON.stringify writes it, by key.
APP_VALUES_JS = r"""
() => new Promise((resolve, reject) => {
  indexedDB.databases().then((dbs) => {
    if (!dbs.some((d) => d.name === "AirPromptsDB")) return resolve({});
    const req = indexedDB.open("AirPromptsDB");
    req.onsuccess = () => {
      const db = req.result;
      const all = db.transaction("storage").objectStore("storage").getAll();
      all.onsuccess = () => { db.close(); resolve(Object.fromEntries(all.result.map((r) => [r.key, JSON.stringify(r.value)]))); };
      all.onerror = () => reject(all.error);
    };
    req.onerror = () => reject(req.error);
  });
})
"""
# The export form as the app stores it: JSON.stringify of each parsed value.
STORE_EXPORT_JS = "(data) => { for (const [k, v] of Object.entries(data)) localStorage.setItem(k, JSON.stringify(v)); }"
# What JSON.parse + JSON.stringify make of a stored text (the export form's values), null for non-JSON text.
RESTRINGIFY_JS = """(texts) => Object.fromEntries(Object.entries(texts).map(([k, v]) => {
  try { return [k, JSON.stringify(JSON.parse(v))]; } catch (e) { return [k, null]; } }))"""


def browser_migrates(app, local: dict[str, str], app_values: dict[str, object], *, export: dict | None = None):
    """Seed a clean origin, run the migration through window.airprompts; return (localStorage, AirPromptsDB values)."""
    records = {key: {"key": key, "value": value, "timestamp": 1} for key, value in app_values.items()}
    mx.reset_origin(app.page, app.base_url, local, records)
    if export is not None:
        app.page.evaluate(STORE_EXPORT_JS, export)
    app.open()
    result = app.call("api.dataMigrationService.runPendingMigrations()")
    assert result["success"] is True
    return app.local(), app.page.evaluate(APP_VALUES_JS)


def cli_migrates(tmp_path, name: str, data: dict) -> dict:
    source = tmp_path / f"{name}.json"
    source.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    # A process of its own, as a developer runs it (Playwright's event loop runs in this one).
    done = subprocess.run(
        [sys.executable, "-m", "app", "migrate", str(source), "-o", str(tmp_path / f"{name}-out.json"), "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads((tmp_path / f"{name}-out.json").read_text(encoding="utf-8"))


def test_cli_and_browser_write_the_same_bytes(app, tmp_path):
    # localStorage form (devtools' JSON.stringify(localStorage)) with an AirPromptsDB collection.
    browser_local, browser_app = browser_migrates(app, LOCAL, {"snippets": SNIPPETS})
    out = cli_migrates(tmp_path, "devtools", {**LOCAL, "AirPromptsDB": {"snippets": SNIPPETS}})
    cli_app = out.pop("AirPromptsDB")
    assert out == browser_local  # every key, each stored text identical to the last byte
    assert {k: cli.js_text(v) for k, v in cli_app.items()} == browser_app
    assert json.loads(browser_local["airprompts_schema_version"]) == "3.0.0"

    # A legacy store: legacy keys, a raw theme string, a record without an id.
    browser_local, browser_app = browser_migrates(app, LEGACY, {})
    out = cli_migrates(tmp_path, "legacy", LEGACY)
    assert out == browser_local and browser_app == {}
    assert browser_local["theme"] == "dark"

    # The app's own export (key -> parsed value), stored the way the app stores it.
    exported = export_of()
    browser_local, _ = browser_migrates(app, {}, {}, export=exported)
    out = cli_migrates(tmp_path, "export", exported)
    assert set(out) == set(browser_local)
    assert {k: cli.js_text(v) for k, v in out.items()} == app.page.evaluate(RESTRINGIFY_JS, browser_local)
    assert out["airprompts_folders"][0]["parent_id"] is None
