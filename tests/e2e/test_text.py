"""Users' text through the real app in Chromium: every write path keeps it exact.

Large non-ASCII text crosses from Python to JavaScript as UTF-8 bytes (app/storage/browser.py
js_text); texts holding lone surrogates, which UTF-8 cannot carry, cross as strings. The texts
are built and compared inside the page: a lone surrogate would not survive the trip to the
test process.
"""

from __future__ import annotations

import pytest

from tests.e2e import matrix as mx

# A deterministic store holding the texts, as {texts, local, app}; each long text takes the bytes path.
STORE_JS = r"""
() => {
  const line = "R\u00e9sum\u00e9 \u201cquoted\u201d \u2014 \u2026\u00a0\u8bf7\u7528\u4e2d\u6587 \u0644\u062e\u0651\u0635 " +
    "\u200f\u05e9\u05dc\u05d5\u05dd\u200f \u041f\u0440\u0438\u0432\u0435\u0442 \ud83d\ude80\ud83d\udc69\u200d\ud83d\udcbb" +
    "\ud83c\uddf3\ud83c\uddf1 e\u0301 \u2028\u2029 \ufffd\r\n";
  const texts = {
    multilingual: line.repeat(300),
    bom: "\ufeff" + line.repeat(30),
    nul: ("a\u0000b\r\n\u0000" + line).repeat(30) + "\u0000",
    loneHigh: line.repeat(30) + "cut \ud83d",
    loneLow: "\ude00" + line.repeat(30),
    reversed: line.repeat(20) + "\ude00\ud83d" + line,
    short: "\u00e9\ud83d\ude00\r\n",
  };
  const TS = "2024-05-01T12:00:00.000Z";
  const templates = Object.entries(texts).map(([name, text], i) => ({
    id: `t-${name}`, name: `${name} ${text.slice(0, 40)}`, content: text, description: text,
    folder_id: null, is_favorite: i % 2 === 0, created_at: TS, updated_at: TS,
  }));
  const snippets = Object.entries(texts).map(([name, text]) => ({ id: `s-${name}`, name, content: text, created_at: TS }));
  const local = {
    airprompts_schema_version: '"1.0.0"',
    airprompts_templates: JSON.stringify(templates),
    // Keys the migration never changes hold any JavaScript string, lone surrogates as such.
    airprompts_editor_draft: texts.bom + texts.multilingual,
    airprompts_todos: texts.loneHigh + texts.multilingual,
    "theme-storage": texts.loneLow,
  };
  const app = { snippets: { key: "snippets", value: snippets, timestamp: 1 } };
  return { texts, local, app };
}
"""

SEED_JS = (
    "async () => { const store = (" + STORE_JS + ")();"
    " await (" + mx.SEED_JS + ")({ local: store.local, records: Object.values(store.app), clear: true }); }"
)

# The names of the texts that did not come back exactly, wherever they should be now.
CHECK_JS = (
    "async (stage) => { const store = (" + STORE_JS + ")();"
    r"""
  const wrong = [];
  const appRecord = (key) => new Promise((resolve, reject) => {
    const req = indexedDB.open("AirPromptsDB");
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const get = db.transaction("storage").objectStore("storage").get(key);
      get.onsuccess = () => { db.close(); resolve(get.result); };
      get.onerror = () => reject(get.error);
    };
  });
  for (const key of ["airprompts_editor_draft", "airprompts_todos", "theme-storage"]) {
    if (localStorage.getItem(key) !== store.local[key]) wrong.push(key);
  }
  const snippets = (await appRecord("snippets")).value;
  if (stage === "original") {
    for (const key of ["airprompts_templates", "airprompts_schema_version"]) {
      if (localStorage.getItem(key) !== store.local[key]) wrong.push(key);
    }
    if (JSON.stringify(snippets) !== JSON.stringify(store.app.snippets.value)) wrong.push("AirPromptsDB snippets");
    return wrong;
  }
  const text = localStorage.getItem("airprompts_templates");
  const templates = JSON.parse(text);
  // Written as JSON.stringify writes it: lone surrogates as escapes, everything else as it is.
  if (text !== JSON.stringify(templates)) wrong.push("templates text");
  const byId = (records) => Object.fromEntries(records.map((r) => [r.id, r]));
  const t = byId(templates), s = byId(snippets);
  for (const [name, value] of Object.entries(store.texts)) {
    const template = t[`t-${name}`], snippet = s[`s-${name}`];
    if (!template || template.content !== value || template.description !== value) wrong.push(`template ${name}`);
    else if (template.name !== `${name} ${value.slice(0, 40)}`) wrong.push(`template name ${name}`);
    if (!snippet || snippet.content !== value) wrong.push(`snippet ${name}`);
    if (stage === "saved" && template && template.savedCopy !== value) wrong.push(`saved copy ${name}`);
  }
  return wrong;
}"""
)


def test_users_text_survives_migration_backup_restore_and_saves_exactly(app):
    app.page.goto(app.base_url + "/tests/e2e/blank.html")
    app.page.evaluate(SEED_JS)
    app.open()
    assert app.page.evaluate(CHECK_JS, "original") == []

    result = app.call("api.dataMigrationService.runPendingMigrations()")
    assert result["success"] is True and result["quarantined"] == 0, result
    assert app.page.evaluate(CHECK_JS, "migrated") == []
    assert app.json_local("airprompts_schema_version") == "3.0.0"

    # A save through the compatibility layer writes the texts back through the same bridge.
    saved = app.page.evaluate(
        """async () => {
            const api = window.airprompts;
            const records = await api.compatibilityLayer.get("templates");
            for (const r of records) r.savedCopy = r.content;
            return api.compatibilityLayer.save("templates", records);
        }"""
    )
    assert saved["saved"] == 7, saved
    assert app.page.evaluate(CHECK_JS, "saved") == []

    # The pre-migration backup (chunks in IndexedDB) brings back every original string exactly,
    # a value the user changed since (a leading U+FEFF is text, not a byte order mark) among them.
    app.page.evaluate(
        "() => { localStorage.setItem('airprompts_editor_draft', 'edited'); localStorage.removeItem('airprompts_todos'); }"
    )
    app.call("api.backupService.restoreBackup(arg)", result["backupId"])
    assert app.page.evaluate(CHECK_JS, "original") == []


@pytest.mark.parametrize("path", ["/?autostart=0", "/examples/host-app.html"], ids=["console", "host-worker"])
def test_large_well_formed_text_round_trips_through_the_api_as_bytes(app, path):
    # Without lone surrogates the arguments and the answer are long well-formed JSON: UTF-8 both ways,
    # on the console (Python on the page) and on the host page (Python in the worker).
    app.seed({"airprompts_schema_version": '"3.0.0"', "airprompts_templates": "[]"})
    app.page.goto(app.base_url + path)
    wrong = app.page.evaluate(
        "async () => { const store = (" + STORE_JS + ")();"
        r"""
        const api = window.airprompts;  // its first call loads the app where the store needs none
        const TS = "2024-05-01T12:00:00.000Z";
        const texts = Object.entries(store.texts).filter(([name]) => !/lone|reversed/.test(name));
        const records = [];
        for (let i = 0; i < 20; i++) {
          for (const [name, text] of texts) {
            records.push({ id: `t-${i}-${name}`, name, content: text, createdAt: TS, updatedAt: TS });
          }
        }
        const saved = await api.compatibilityLayer.save("templates", records);
        const back = await api.compatibilityLayer.get("templates");
        const wrong = [];
        if (saved.saved !== records.length || back.length !== records.length) wrong.push(`counts ${saved.saved} ${back.length}`);
        back.forEach((r, i) => { if (r.id !== records[i].id || r.content !== records[i].content || r.name !== records[i].name) wrong.push(r.id); });
        const stored = JSON.parse(localStorage.getItem("airprompts_templates"));
        stored.forEach((r, i) => { if (r.content !== records[i].content) wrong.push(`stored ${r.id}`); });
        return wrong;
      }"""
    )
    assert wrong == []
