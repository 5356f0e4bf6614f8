"""Shared helpers of the migration e2e tests: seeds, the fault hook, storage snapshots, the CPython reference."""

from __future__ import annotations

import asyncio
import copy
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core import keys
from app.services.crypto import PythonCrypto
from app.storage.memory import MemoryLock, MemoryStorage
from app.wiring import build

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "core" / "fixtures"
SEED_PATH = "/tests/e2e/blank.html"
TS = "2024-05-01T12:00:00.000Z"
FILLER = "zz_filler_"
READY = "html[data-migration-ready='true']"
# The page the scenarios run the app in: the console, or a host app's page that runs it in a worker.
CONSOLE_PATH = "/"
WORKER_PATH = "/tests/e2e/worker.html"

# ---------------------------------------------------------------------- the fault hook
#
# window.__mx records every top-level write of the storage bridge (log flushes
# aside: their timing is not part of the run) with the phase the engine last
# announced, and fires the chosen fault at one point:
#   {at: "write", index}        the index-th counted write (0-based)
#   {at: "op", index, op}       the op-th operation inside that write's transaction
#   {at: "event", phase}        the engine's "airprompts:phase" event for phase
#   {at: "read", phase, area}   the first read of localStorage ("local") or
#                               AirPromptsDB ("app") during phase
# With cfg.then = {after: k}, an "error" is followed by a reload at the k-th
# counted write after it (a page reloaded while the run rolls back).
# Modes: "record" (no fault), "reload" (reload the page, nothing more is
# written), "close" (nothing more is written; the test closes the tab),
# "error" (throw cfg.errorName once), "quota" (fill localStorage to its quota
# with non-app keys, then go on).
HOOK_JS = r"""
(cfg) => {
  const named = (name, message) => Object.assign(new Error(message), { name });
  const target = cfg.target || null;
  const mode = cfg.mode || "record";
  // Undo the read patches of an earlier scenario on this page.
  const orig = (window.__mxOrig = window.__mxOrig || { getItem: Storage.prototype.getItem, get: IDBObjectStore.prototype.get });
  Storage.prototype.getItem = orig.getItem;
  IDBObjectStore.prototype.get = orig.get;
  const mx = (window.__mx = { phase: "idle", phases: [], n: 0, top: null, writes: [], fired: null, dead: false,
                              armed: false, filled: 0, fillerKeys: 0 });
  function fill() {
    let size = 1 << 20;
    while (size >= 1) {
      try {
        localStorage.setItem(cfg.filler + mx.fillerKeys, "x".repeat(size));
        mx.fillerKeys += 1;
        mx.filled += size;
      } catch (error) {
        size = Math.floor(size / 2);
      }
    }
  }
  function fire(where, extra) {
    mx.fired = { where, phase: mx.phase, n: mx.n - 1, ...(extra || {}) };
    if (mode === "reload") {
      mx.dead = true;
      // What the run wrote survives the reload in this tab's sessionStorage.
      sessionStorage.setItem("__mx", JSON.stringify({ writes: mx.writes, fired: mx.fired }));
      if (cfg.reloadUrl) location.assign(cfg.reloadUrl);
      else location.reload();
      throw named("AbortError", "the page is reloading");
    }
    if (mode === "close") {
      mx.dead = true;
      throw named("AbortError", "the tab was closed");
    }
    if (mode === "error") {
      // A second fault: reload the page at the then.after-th write after this error.
      if (cfg.then) mx.second = { left: cfg.then.after };
      // cfg.dom: a DOMException as the browser throws it (no stack, so Pyodide only quotes it).
      if (cfg.dom) throw new DOMException(`injected ${cfg.errorName} at ${where}`, cfg.errorName);
      throw named(cfg.errorName, `injected ${cfg.errorName} at ${where}`);
    }
    if (mode === "always") {
      // The same error at this write and every later one of the same kind (cfg.target.op).
      mx.always = true;
      throw new DOMException(`injected ${cfg.errorName} at ${where}`, cfg.errorName);
    }
    if (mode === "quota") fill();
  }
  addEventListener("airprompts:phase", (event) => {
    mx.phase = event.detail.phase;
    mx.phases.push(event.detail.phase);
    if (target && target.at === "event" && target.phase === mx.phase && !mx.fired) {
      // A listener's throw never reaches the engine: an error is thrown by the next write instead.
      if (mode === "error") mx.armed = true;
      else try { fire("event"); } catch (_) { /* the page is going away */ }
    }
  });
  if (target && target.at === "read") {
    Storage.prototype.getItem = function (key) {
      if (target.area === "local" && mx.phase === target.phase && !mx.fired) fire("read", { key });
      return orig.getItem.call(this, key);
    };
    IDBObjectStore.prototype.get = function (key) {
      if (target.area === "app" && this.name === "storage" && mx.phase === target.phase && !mx.fired) fire("read", { key });
      return orig.get.call(this, key);
    };
  }
  globalThis.__airpromptsFault = (op, detail) => {
    if (op === "app_read") {
      // The bridge's read of AirPromptsDB records (in a worker, the patch above cannot see it).
      if (target && target.at === "read" && target.area === "app" && mx.phase === target.phase && !mx.fired)
        fire("read", { key: detail[0] });
      return;
    }
    if (mx.dead) throw named("AbortError", "the page is gone");
    if (mx.armed) {
      mx.armed = false;
      fire("after-event", { op });
    }
    if (op === "app_write_op" || op === "own_write_op") {
      if (mx.top !== null && target && target.at === "op" && target.index === mx.top && target.op === detail && !mx.fired)
        fire("op", { op: detail });
      return;
    }
    if (op === "own_write" && detail.every((d) => d[1] === "logs")) {
      mx.top = null;
      return;
    }
    const n = mx.n++;
    mx.top = n;
    mx.writes.push([n, op, mx.phase, detail]);
    if (mx.always && op === "own_write" && detail.some((d) => d[1] === "history"))
      throw new DOMException(`injected ${cfg.errorName} again`, cfg.errorName);
    if (mx.second && --mx.second.left === 0) {
      mx.second = null;
      mx.secondFired = n;
      mx.dead = true;
      sessionStorage.setItem("__mx", JSON.stringify({ writes: mx.writes, fired: mx.fired, second: n }));
      location.reload();
      throw named("AbortError", "the page is reloading");
    }
    if (target && target.at === "write" && target.index === n && !mx.fired) fire("write");
  };
  return true;
}
"""

OWN_DUMP_JS = r"""
async (stores) => {
  const dbs = await indexedDB.databases();
  if (!dbs.some((d) => d.name === "AirPromptsMigrate")) return {};
  const db = await new Promise((res, rej) => { const r = indexedDB.open("AirPromptsMigrate"); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  const out = {};
  for (const name of stores) {
    if (!db.objectStoreNames.contains(name)) { out[name] = {}; continue; }
    const tx = db.transaction(name);
    const store = tx.objectStore(name);
    const [ks, vs] = await Promise.all([
      new Promise((res) => { const r = store.getAllKeys(); r.onsuccess = () => res(r.result); }),
      new Promise((res) => { const r = store.getAll(); r.onsuccess = () => res(r.result); }),
    ]);
    out[name] = Object.fromEntries(ks.map((k, i) => [k, vs[i]]));
  }
  db.close();
  return out;
}
"""

# The console's panels may still refresh from the last scenario (a deferred read of the
# logs or backups opens, and so creates, the own database again): wipe until both stay gone.
WIPE_JS = r"""
async () => {
  localStorage.clear();
  sessionStorage.clear();
  const names = ["AirPromptsDB", "AirPromptsMigrate"];
  let left = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    for (const name of names) {
      await new Promise((resolve, reject) => {
        const req = indexedDB.deleteDatabase(name);
        req.onsuccess = () => resolve();
        req.onerror = () => reject(req.error);
        req.onblocked = () => reject(new Error(name + " is still open in another page"));
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = (await indexedDB.databases()).map((d) => d.name);
    if (!left.some((name) => names.includes(name))) break;
  }
  localStorage.clear();
  return left;
}
"""

# The one seeding snippet of the e2e tests and the benchmark: {local, records, clear}.
SEED_JS = Path(__file__).with_name("seed.js").read_text()


def seed_store(page, local: dict[str, str] | None = None, app: dict[str, dict] | None = None, clear: bool = False) -> None:
    """Store ``local`` (exact texts) in localStorage and ``app`` (key to AirPromptsDB record) in AirPromptsDB."""
    page.evaluate(SEED_JS, {"local": local or {}, "records": list((app or {}).values()), "clear": clear})


LOCAL_JS = "() => Object.fromEntries(Object.keys(localStorage).map(k => [k, localStorage.getItem(k)]))"

APP_JS = r"""
() => new Promise((resolve, reject) => {
  indexedDB.databases().then((dbs) => {
    if (!dbs.some((d) => d.name === "AirPromptsDB")) return resolve({});
    const req = indexedDB.open("AirPromptsDB");
    req.onsuccess = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("storage")) { db.close(); return resolve({}); }
      const all = db.transaction("storage").objectStore("storage").getAll();
      all.onsuccess = () => { db.close(); resolve(Object.fromEntries(all.result.map((r) => [r.key, r]))); };
      all.onerror = () => reject(all.error);
    };
    req.onerror = () => reject(req.error);
  });
})
"""


def call(page, expression: str, arg: Any = None) -> Any:
    """Evaluate an async expression with ``api`` = window.airprompts and ``arg``."""
    return page.evaluate(
        f"async (arg) => {{ const api = window.airprompts; await api.ready; return {expression}; }}", arg
    )


def call_error(page, expression: str, arg: Any = None) -> dict:
    """Evaluate an expression; return {name: null, value} or the rejection's name and message."""
    return page.evaluate(
        f"""async (arg) => {{ const api = window.airprompts; await api.ready;
            try {{ return {{name: null, value: await ({expression})}}; }}
            catch (e) {{ return {{name: e.name, message: e.message, isError: e instanceof Error, details: e.details ?? null}}; }} }}""",
        arg,
    )


def wait_ready(page, timeout_ms: int = 90_000) -> None:
    page.wait_for_selector(READY, state="attached", timeout=timeout_ms)


def open_app(page, base_url: str, query: str = "?autostart=0", path: str = CONSOLE_PATH) -> None:
    page.goto(base_url + path + query)
    wait_ready(page)


def reset_origin(page, base_url: str, local: dict[str, str], app: dict[str, dict]) -> None:
    """Load a page without Python, delete every database and key of the origin, then store ``local`` and ``app``."""
    page.goto(base_url + SEED_PATH)
    left = page.evaluate(WIPE_JS)
    assert not {"AirPromptsDB", "AirPromptsMigrate"} & set(left), left
    assert page.evaluate(LOCAL_JS) == {}
    seed_store(page, local, app)


def state(page) -> tuple[dict[str, str], dict[str, dict]]:
    """Return (localStorage, AirPromptsDB records) without the quota filler."""
    local = {k: v for k, v in page.evaluate(LOCAL_JS).items() if not k.startswith(FILLER)}
    return local, page.evaluate(APP_JS)


def own(page, stores=("journal", "staging", "quarantine", "history", "backups")) -> dict[str, dict[str, str]]:
    return page.evaluate(OWN_DUMP_JS, list(stores))


def remove_filler(page) -> int:
    return page.evaluate(
        "(prefix) => { const ks = Object.keys(localStorage).filter((k) => k.startsWith(prefix));"
        " ks.forEach((k) => localStorage.removeItem(k)); return ks.length; }",
        FILLER,
    )


def install(
    page,
    mode: str = "record",
    target: dict | None = None,
    error_name: str | None = None,
    then: dict | None = None,
    reload_url: str | None = None,
    dom: bool = False,
) -> None:
    cfg = {
        "mode": mode,
        "target": target,
        "errorName": error_name,
        "filler": FILLER,
        "then": then,
        "reloadUrl": reload_url,
        "dom": dom,
    }
    page.evaluate(HOOK_JS, cfg)


def writes(page) -> list[list[Any]]:
    return page.evaluate("() => window.__mx.writes")


# ---------------------------------------------------------------------- comparing states


def app_records_from_texts(app_texts: dict[str, str]) -> dict[str, dict]:
    return {key: json.loads(text) for key, text in app_texts.items()}


def same_as_expected(actual: tuple[dict, dict], expected: tuple[dict, dict], original: tuple[dict, dict]) -> bool:
    """Return whether ``actual`` is exactly the migrated state; a rewritten AirPromptsDB record may carry any timestamp."""
    local, app = actual
    exp_local, exp_app = expected
    if local != exp_local or set(app) != set(exp_app):
        return False
    for key, record in app.items():
        want = exp_app[key]
        if record == want:
            continue
        rewritten = original[1].get(key) != want
        if not rewritten or not isinstance(record.get("timestamp"), int):
            return False
        if {k: v for k, v in record.items() if k != "timestamp"} != {k: v for k, v in want.items() if k != "timestamp"}:
            return False
    return True


def moved_variant(expected: tuple[dict, dict], moved: list[str]) -> tuple[dict, dict]:
    """Return the 3.0.0 result with the collections of ``moved`` in AirPromptsDB instead of localStorage.

    data.md: a collection too large for localStorage lives in AirPromptsDB; a run
    that finds localStorage (nearly) full moves it there, records unchanged.
    """
    local, app = dict(expected[0]), dict(expected[1])
    for kind in moved:
        text = local.pop(keys.collection_key(kind))
        app[kind] = {"key": kind, "value": json.loads(text), "timestamp": 0}
    return local, app


def classify(actual, expected, original, moved: list[str] | None = None) -> str:
    """Return "migrated", "original" or "MIX" (neither: data lost, mixed or duplicated)."""
    if moved:
        expected = moved_variant(expected, moved)
    if same_as_expected(actual, expected, original):
        return "migrated"
    if actual == original:
        return "original"
    return "MIX"


def diff(actual, wanted) -> list[str]:
    """Return a short description of where two (local, app) states differ."""
    out = []
    for area, a, b in (("local", actual[0], wanted[0]), ("app", actual[1], wanted[1])):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                x, y = a.get(key), b.get(key)
                out.append(f"{area}:{key}: {str(x)[:160]!r} != {str(y)[:160]!r}")
    return out[:12]


def ids_unique(local: dict[str, str], app: dict[str, dict]) -> list[str]:
    """Return the collections whose records repeat an id (a duplicate)."""
    bad = []
    for kind in keys.COLLECTIONS:
        values = []
        if kind in app and isinstance(app[kind].get("value"), list):
            values.append(app[kind]["value"])
        text = local.get(keys.collection_key(kind))
        if text is not None:
            try:
                value = json.loads(text)
            except ValueError:
                value = None
            if isinstance(value, list):
                values.append(value)
        for value in values:
            seen = [r.get("id") for r in value if isinstance(r, dict) and "id" in r]
            if len(seen) != len({json.dumps(i) for i in seen}):
                bad.append(kind)
    return bad


# ---------------------------------------------------------------------- the CPython reference


def iso_seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def reference(
    local: dict[str, str], app: dict[str, dict] | None = None, *, started_at: str | None = None, batch_size: int = 100
) -> tuple[dict[str, Any], tuple[dict[str, str], dict[str, dict]], MemoryStorage]:
    """Run the migration under CPython on MemoryStorage; return (result, (local, app records), storage).

    ``started_at`` pins the clock to the browser run's start, so a timestamp repair agrees too.
    """
    storage = MemoryStorage(local=dict(local))
    storage.app = {key: json.dumps(record, ensure_ascii=False) for key, record in (app or {}).items()}
    clock = (lambda: iso_seconds(started_at)) if started_at else (lambda: iso_seconds(TS))
    services = build(storage, PythonCrypto(), MemoryLock(registry=set()), clock=clock)
    # Playwright's sync API runs an event loop in this thread: run the reference in another.
    with ThreadPoolExecutor(1) as pool:
        try:
            result = pool.submit(asyncio.run, services.migration.run_pending_migrations(batch_size=batch_size)).result()
        finally:
            services.detach_logging()
    return result, (dict(storage.local), app_records_from_texts(storage.app)), storage


# ---------------------------------------------------------------------- seeds


def record_v1(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"Template {i}",
        "content": f'Write {{topic}} #{i}\n  \u05e9\u05dc\u05d5\u05dd \U0001f680 "quoted" \\ end',
        "folder_id": "f1" if i % 3 else "f2",
        "is_favorite": i % 2 == 0,
        "created_at": TS,
        "updated_at": TS,
        "custom_flag": i,
        **extra,
    }


def matrix_seed(templates: int = 300) -> tuple[dict[str, str], dict[str, dict]]:
    """A 1.0.0 store: many templates (several batches), folders, snippets with one bad record, workflows in AirPromptsDB."""
    local = {
        "airprompts_templates": json.dumps([record_v1(i) for i in range(templates)], ensure_ascii=False),
        "airprompts_folders": json.dumps(
            [
                {"id": "f1", "name": "Writing", "parent_id": None, "created_at": TS},
                {"id": "f2", "name": "Code", "parent_id": "f1", "created_at": TS, "sort_order": 2},
            ]
        ),
        "airprompts_snippets": json.dumps(
            [
                {"id": "s1", "name": "Sig", "content": "\u2014 Me \U0001f44b", "folder_id": "f1", "created_at": TS},
                "not a record",
                {
                    "id": "s2",
                    "name": "RTL",
                    "content": "\u0645\u0631\u062d\u0628\u0627",
                    "snippet_tags": ["a"],
                    "created_at": TS,
                },
            ],
            ensure_ascii=False,
        ),
        "airprompts_schema_version": '"1.0.0"',
        "airprompts_ui_preferences": json.dumps({"view_mode": "grid"}),
        "airprompts_user_settings": json.dumps({"performance": {"cacheSize": 7}}),
        "airprompts_root_folder": '{ "id": "root",  "name": "Root" }',
        "airprompts_todos": '[{"id":1,"text":"keep me \U0001f9ea"}]',
        "theme-storage": '{"theme":"dark"}',
        "not_the_apps_key": "leave me",
    }
    app = {
        "workflows": {
            "key": "workflows",
            "value": [
                {"id": "w1", "name": "Flow", "steps": [{"template_id": 1, "step_name": "one"}, "2"], "created_at": TS},
                {"id": "w2", "name": "Flow 2", "steps": [], "created_at": TS, "updated_at": TS},
            ],
            "timestamp": 1,
        }
    }
    return local, app


def deep(value):
    return copy.deepcopy(value)


# ---------------------------------------------------------------------- bad inputs

BIG = "\u00e9" + "x" * (1024 * 1024) + "\U0001f680"  # a 1 MB string, non-ASCII at both ends
RTL = "\u202e\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \U0001f468\u200d\U0001f469\u200d\U0001f467 \ufeff"


def _names(version: str) -> dict[str, str]:
    """The field spelling of ``version``: snake_case before 2.0.0."""
    if version == "2.0.0":
        return {"folder": "folderId", "created": "createdAt", "updated": "updatedAt", "template": "templateId"}
    return {"folder": "folder_id", "created": "created_at", "updated": "updated_at", "template": "template_id"}


def bad_input_store(version: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Return (localStorage, facts) holding every bad input of the engine issue at ``version``.

    templates: records of wrong types, a duplicate id, a missing id, a 1 MB string, emoji and
    right-to-left text, `__proto__` keys, dangling folder references; workflows: a dangling
    template reference; snippets: invalid JSON; folders: not an array; ui preferences:
    invalid JSON; tags: not an array. A template also holds lone surrogates.
    """
    n = _names(version)
    ts = {n["created"]: TS, n["updated"]: TS}
    key = {
        "templates": "templates",
        "snippets": "ap_snippets",
        "folders": "folders",
        "workflows": "airprompts-workflows",
    }
    if version != "legacy":
        key = {kind: keys.collection_key(kind) for kind in key}
    templates = [
        {"id": "t-big", "name": "Big", "content": BIG, n["folder"]: "fo1", **ts},
        {"id": "t-rtl", "name": RTL, "content": RTL + "\n\t  {x}", "description": RTL, **ts},
        {"id": 7, "name": "Numeric id", "content": "c", n["folder"]: "no-such-folder", **ts},
        {"id": "dup", "name": "First dup", "content": "one", **ts},
        {"id": "dup", "name": "Second dup", "content": "two", **ts},
        {"name": "No id", "content": "I have no id \U0001f937", **ts},
        {"id": "t-wrong", "name": 123, "content": ["not", "a", "string"], **ts},
        42,
        None,
        "just a string",
        [1, 2],
    ]
    # A `__proto__` key must stay an ordinary field (JSON.parse makes it an own property).
    proto = '{"id":"t-proto","name":"Proto","content":"p","__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},'
    proto += f'"{n["created"]}":"{TS}","{n["updated"]}":"{TS}"}}'
    # Half an emoji (a lone surrogate, as a cut-off string leaves it), escaped the way JSON.stringify writes it.
    half = '{"id":"t-half","name":"Half \\ud83d","content":"cut \\ud83d|\\ude00 here",'
    half += f'"{n["created"]}":"{TS}","{n["updated"]}":"{TS}"}}'
    templates_text = "[" + ",".join([json.dumps(r, ensure_ascii=False) for r in templates] + [proto, half]) + "]"
    workflows = [
        {
            "id": "w-ok",
            "name": "Flow \U0001f30d",
            "steps": [{n["template"]: "t-rtl"}, {n["template"]: "missing-template"}],
            **ts,
        },
        {"id": 99, "name": "Numeric", "steps": ["7"], **ts},
    ]
    local = {
        key["templates"]: templates_text,
        key["workflows"]: json.dumps(workflows, ensure_ascii=False),
        key["snippets"]: '[{"id": "s1", "name": "broken", ',  # invalid JSON
        key["folders"]: '{"fo1": {"id": "fo1", "name": "Folder"}}',  # not an array
        "airprompts_todos": '[{"id":1,"text":"keep"}]',
        "airprompts_root_folder": '{"id":"root"}',
        "theme-storage": '{"state":{"theme":"dark"}}',
    }
    if version == "legacy":
        local["ui-prefs"] = "{not json"
        local["tags"] = '{"not": "an array"}'
    else:
        local["airprompts_schema_version"] = json.dumps(version)
        local["airprompts_ui_preferences"] = "{not json"
        local["airprompts_tags"] = '{"not": "an array"}'
    facts = {
        "keys": key,
        "invalid_collections": {"snippets": key["snippets"], "folders": key["folders"]},
        "templates": json.loads(templates_text),
        "workflows": workflows,
        "quarantined_templates": 6,  # the second "dup", "t-wrong", 42, null, a string, a list
    }
    return local, facts


# ---------------------------------------------------------------------- a reusable tab

RESET_JS = "() => { delete globalThis.__airpromptsFault; }"


class Tab:
    """A page of one browser context, reused scenario after scenario; each scenario wipes the origin first.

    Deleting the databases while the console runs is safe: the bridge closes its
    connections on ``versionchange``. Only the reload or the new tab a scenario
    needs costs a page load.
    """

    def __init__(self, context, base_url: str, path: str = CONSOLE_PATH) -> None:
        self.context = context
        self.base_url = base_url
        self.path = path
        self.page = None

    def url(self, query: str = "") -> str:
        """Return the URL of the app's page with ``query``."""
        return self.base_url + self.path + query

    def ready(self) -> bool:
        if self.page is None or self.page.is_closed():
            return False
        return self.page.evaluate("() => document.documentElement.dataset.migrationReady === 'true'")

    def fresh(self, local: dict[str, str], app: dict[str, dict], query: str = "?autostart=0"):
        """Return a ready console page over an origin holding exactly ``local`` and ``app``."""
        for other in self.context.pages:
            if other is not self.page:
                other.close()
        if self.page is None or self.page.is_closed():
            self.page = self.context.new_page()
            self.page.set_default_timeout(60_000)
        if not self.ready():
            reset_origin(self.page, self.base_url, local, app)
            open_app(self.page, self.base_url, query, self.path)
            return self.page
        self.page.evaluate(RESET_JS)
        # A later reload must load this query (autostart off), whatever URL the tab was opened with.
        self.page.evaluate("(url) => history.replaceState(null, '', url)", self.path + query)
        left = self.page.evaluate(WIPE_JS)
        assert not {"AirPromptsDB", "AirPromptsMigrate"} & set(left), left
        seed_store(self.page, local, app)
        assert state(self.page) == (local, app)
        return self.page

    def new_page(self, query: str = "", wait: bool = True):
        """Close this tab and open the app in a new one (same origin storage)."""
        if self.page is not None and not self.page.is_closed():
            self.page.close()
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.page.goto(self.url(query))
        if wait:
            wait_ready(self.page)
        return self.page


# ---------------------------------------------------------------------- runs, reports, points

RUN = "api.dataMigrationService.runPendingMigrations({batchSize: %d})"
START_JS = """(batchSize) => { window.__runResult = null;
  window.airprompts.dataMigrationService.runPendingMigrations({batchSize}).then(
    (r) => { window.__runResult = {ok: true, value: r}; },
    (e) => { window.__runResult = {ok: false, name: e.name, message: e.message}; }); }"""

WAIT_SETTLED_JS = """async () => {
  const api = window.airprompts; await api.ready;
  for (let i = 0; i < 1200; i++) {
    const s = await api.dataMigrationService.checkMigrationStatus();
    const p = await api.dataMigrationService.getMigrationProgress();
    if (!s.needed && !s.running && !s.pending && !p.running) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}"""


def reported(page) -> tuple[str, dict, list]:
    """Return what the app itself says ("migrated", "original" or "unclear"), its status and history."""
    status = call(page, "api.dataMigrationService.checkMigrationStatus()")
    history = call(page, "api.dataMigrationService.getHistory()")
    if not status["needed"] and not status["pending"] and history and history[0]["success"] is True:
        return "migrated", status, history
    if status["needed"] and not status["pending"] and (not history or history[0]["success"] is False):
        return "original", status, history
    return "unclear", status, history


def recovered(page) -> dict | None:
    """Return what recover() did on this page's load, from the "ready" audit entry."""
    logs = call(page, "api.migrationLogger.queryLogs({limit: 1000})")
    ready = [e for e in logs if e["message"] == "AirPrompts Migrate ready"]
    return (ready[0]["context"].get("recovered") or {}).get("migration") if ready else None


def normalize_key(key: str) -> str:
    import re

    key = re.sub(r"mig-\d+-[0-9a-f]+", "RUN", key)
    key = re.sub(r"bk-\d+-[0-9a-f]+", "BACKUP", key)
    return re.sub(r"^\d{15}-", "TIME-", key)


def signature(write: list) -> tuple:
    """Return a write's shape without its run, backup and time ids."""
    _, op, phase, detail = write
    if op == "own_write":
        return op, phase, tuple((d[0], d[1], normalize_key(d[2])) for d in detail)
    return op, phase, json.dumps(detail, sort_keys=True)


def quarantine_shape(own_stores: dict) -> list[str]:
    return sorted(normalize_key(k) for k in own_stores.get("quarantine", {}))


def assert_own_clean(page, outcome: str, reference_quarantine: list[str]) -> dict:
    """The journal and staging are empty; the quarantine holds one run's entries, exactly the reference's."""
    stores = own(page, ("journal", "staging", "quarantine", "history"))
    assert stores["journal"] == {}, f"journal left: {list(stores['journal'])}"
    assert stores["staging"] == {}, f"staging left: {list(stores['staging'])[:5]}"
    runs = {k.split("/", 1)[0] for k in stores["quarantine"]}
    successes = [json.loads(v) for v in stores["history"].values()]
    successes = [h for h in successes if h.get("success") is True and h.get("runId")]
    if outcome == "migrated":
        assert len(successes) == 1, f"{len(successes)} successful runs in the history"
        assert quarantine_shape(stores) == reference_quarantine, "quarantine differs (duplicates or leftovers)"
        assert runs <= {successes[0]["runId"]}, runs
    else:
        assert successes == [] and stores["quarantine"] == {}, "an undone run left entries"
    return stores


PHASES = ("flag", "backup", "transform", "stage", "switch", "verify", "cleanup")
PENDING_FLAG = keys.PENDING_FLAG


def flag_write(op: str, detail: Any) -> bool:
    """Return whether a counted write only sets or removes the loader's pending flag."""
    return op == "local_write" and set(detail["set"]) | set(detail["remove"]) == {PENDING_FLAG}


def matrix_phases(ref_writes: list[list]) -> dict[str, list[int]]:
    """Group a clean run's counted writes by the fault matrix's phases."""
    groups: dict[str, list[int]] = {p: [] for p in PHASES}
    for n, op, phase, detail in ref_writes:
        keys_ = [d[2] for d in detail] if op == "own_write" else []
        if flag_write(op, detail):
            groups["flag"].append(n)
        elif phase == "backup":
            groups["backup"].append(n)
        elif op == "own_write" and any("/values/" in k or k.endswith("/~report") for k in keys_):
            groups["stage"].append(n)
        elif op == "own_write" and phase == "transform":
            groups["transform"].append(n)
        elif op in ("app_write", "local_write") and phase == "switch":
            groups["switch"].append(n)
        elif phase in ("complete", "done"):
            groups["cleanup"].append(n)
        else:
            raise AssertionError(f"unexpected write {n}: {op} in phase {phase}")
    return groups


def resolve(ref_writes: list[list], phase: str, point: str) -> dict:
    """Return the hook target of ``point`` inside ``phase`` of the reference run."""
    g = matrix_phases(ref_writes)[phase]
    by_n = {w[0]: w for w in ref_writes}
    if phase in ("backup", "transform") and point in ("first", "middle", "last"):
        return {"at": "write", "index": {"first": g[0], "middle": g[len(g) // 2], "last": g[-1]}[point]}
    if phase == "transform" and point == "op":
        # Inside the transaction of the batch that also quarantines a record: its journal put.
        batch = next(n for n in g if any(d[1] == "quarantine" for d in by_n[n][3]))
        return {"at": "op", "index": batch, "op": len(by_n[batch][3]) - 1}
    if phase == "stage":
        values = next(n for n in g if any("/values/" in d[2] for d in by_n[n][3]))
        report = next(n for n in g if any(d[2].endswith("/~report") for d in by_n[n][3]))
        return {"values": {"at": "write", "index": values}, "report": {"at": "write", "index": report},
                "op": {"at": "op", "index": report, "op": 1}}[point]  # fmt: skip
    if phase == "switch":
        app = [n for n in g if by_n[n][1] == "app_write"]
        local = [n for n in g if by_n[n][1] == "local_write"]
        return {"app": {"at": "write", "index": app[0]}, "app-op": {"at": "op", "index": app[0], "op": 0},
                "collections": {"at": "write", "index": local[0]}, "version": {"at": "write", "index": local[-1]}}[point]  # fmt: skip
    if phase == "verify":
        return {"start": {"at": "event", "phase": "verify"}, "read-local": {"at": "read", "phase": "verify", "area": "local"},
                "read-app": {"at": "read", "phase": "verify", "area": "app"}}[point]  # fmt: skip
    if phase == "flag":
        return {"set": {"at": "write", "index": g[0]}, "clear": {"at": "write", "index": g[-1]}}[point]
    if phase == "cleanup":
        return {"write": {"at": "write", "index": g[0]}, "op": {"at": "op", "index": g[0], "op": 2},
                "done": {"at": "event", "phase": "done"}}[point]  # fmt: skip
    raise KeyError((phase, point))


def assert_same_path(scenario_writes: list[list], ref_writes: list[list], fired: dict) -> None:
    """The run wrote what the reference wrote, in order, up to the fault."""
    upto = fired["n"] + 1 if fired and fired.get("n", -1) >= 0 else len(scenario_writes)
    got = [signature(w) for w in scenario_writes[:upto]]
    want = [signature(w) for w in ref_writes[:upto]]
    assert got == want, f"the run took another path than the reference before the fault: {got[-3:]} vs {want[-3:]}"


def compat_save(storage: MemoryStorage, name: str, value: Any) -> str:
    """Save ``value`` through the CPython compatibility layer over ``storage``; return the text it wrote."""
    services = build(storage, PythonCrypto(), MemoryLock(registry=set()), clock=lambda: iso_seconds(TS))
    with ThreadPoolExecutor(1) as pool:
        try:
            pool.submit(asyncio.run, services.compatibility.save(name, value)).result()
        finally:
            services.detach_logging()
    return storage.local[keys.collection_key(name)]
