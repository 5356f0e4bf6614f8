"""On a host app's page the migration app runs in a Worker: the page's realm never loads Pyodide.

The page keeps localStorage, the DOM events and the ready signals; Python,
IndexedDB, Web Locks and crypto.subtle run in the worker. The fault scenarios
of test_fault_matrix run here too, on the worker's page, with the fault hook
in the page as the tests set it.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.e2e import matrix as mx
from tests.e2e import test_fault_matrix as fm

HOST = mx.WORKER_PATH
WORKER_SCRIPT = "/static/js/worker.js"

# Counts every WebAssembly compilation the page's own realm starts (a worker has its own WebAssembly).
COUNT_WASM_JS = """
(() => {
  window.__wasm = 0;
  for (const name of ["compile", "compileStreaming", "instantiate", "instantiateStreaming"]) {
    const original = WebAssembly[name];
    WebAssembly[name] = function (...args) { window.__wasm += 1; return original.apply(this, args); };
  }
  const Module = WebAssembly.Module;
  WebAssembly.Module = function (...args) { window.__wasm += 1; return new Module(...args); };
})();
"""

WORDS = [
    "Résumé of the café’s “menu” — naïve façade",
    "東京の天気を要約してください。箇条書きで。",
    "لخّص هذا النص باختصار من فضلك",
    "Привет, мир! Ёлка и щи",
    "Emoji 🚀👩‍💻🎉 and a ZWJ family 👨‍👩‍👧",
    "Straße, Œuvre, ñandú, İstanbul",
    "प्रश्न का उत्तर दें",
]


def multilingual_text(i: int) -> str:
    """Prompt-sized text: tens to thousands of characters, several scripts, CRLF line ends."""
    size = (50, 400, 1500, 4000)[i % 4]
    parts: list[str] = []
    n = 0
    while sum(map(len, parts)) < size:
        parts.append(WORDS[(i + n) % len(WORDS)])
        n += 1
    return "\r\n".join(parts)[:size]


def multilingual_store(templates: int) -> dict[str, str]:
    """A 1.0.0 store in the fixtures' shapes: templates, folders, snippets, workflows, settings."""
    ts = mx.TS
    records = [
        {
            "id": i,
            "name": f"{WORDS[i % len(WORDS)][:20]} #{i}",
            "content": multilingual_text(i),
            "folder_id": "f1" if i % 3 else "f2",
            "is_favorite": i % 5 == 0,
            "created_at": ts,
            "updated_at": ts,
        }
        for i in range(templates)
    ]
    return {
        "airprompts_schema_version": '"1.0.0"',
        "airprompts_templates": json.dumps(records, ensure_ascii=False),
        "airprompts_folders": json.dumps(
            [
                {"id": "f1", "name": "Écriture ✍️", "parent_id": None, "created_at": ts},
                {"id": "f2", "name": "コード", "parent_id": "f1", "created_at": ts, "sort_order": 2},
            ],
            ensure_ascii=False,
        ),
        "airprompts_snippets": json.dumps(
            [{"id": f"s{i}", "name": f"سطر {i}", "content": multilingual_text(i + 1), "created_at": ts} for i in range(40)],
            ensure_ascii=False,
        ),
        "airprompts_workflows": json.dumps(
            [{"id": "w1", "name": "Flux “rapide”", "steps": [{"template_id": 1, "step_name": "一"}], "created_at": ts}],
            ensure_ascii=False,
        ),
        "airprompts_user_settings": json.dumps({"display_name": "Zoë 🌸"}, ensure_ascii=False),
        "theme-storage": '{"theme":"dark"}',
    }


def assert_no_python_in_realm(page) -> None:
    """Assert the page's own realm never loaded Pyodide or PyScript nor compiled WebAssembly (COUNT_WASM_JS counts)."""
    realm = page.evaluate(
        """() => ({
            pyodide: typeof globalThis.pyodide, loadPyodide: typeof globalThis.loadPyodide,
            pyScripts: document.querySelectorAll('script[type=py], script[type=mpy]').length,
            wasm: window.__wasm,
            resources: performance.getEntriesByType('resource').map((e) => e.name),
        })"""
    )
    assert realm["pyodide"] == "undefined" and realm["loadPyodide"] == "undefined"
    assert realm["pyScripts"] == 0
    assert realm["wasm"] == 0, "the page's realm compiled WebAssembly"
    # The page itself fetched neither PyScript nor Pyodide: the worker did.
    assert [u for u in realm["resources"] if "/static/vendor/" in u] == []


# The page's own timers and frames, counted at each phase of a run; they stop at its end.
TICKS_JS = """() => {
    const t = (window.__ticks = { timeouts: 0, frames: 0, atPhase: {}, running: true });
    const timeout = () => { t.timeouts += 1; if (t.running) setTimeout(timeout, 0); };
    const frame = () => { t.frames += 1; if (t.running) requestAnimationFrame(frame); };
    setTimeout(timeout, 0);
    requestAnimationFrame(frame);
    addEventListener('airprompts:phase', (e) => { t.atPhase[e.detail.phase] = [t.timeouts, t.frames]; });
    addEventListener('airprompts:complete', () => { t.atPhase.complete ??= [t.timeouts, t.frames]; t.running = false; });
}"""


def worker_urls(page) -> list[str]:
    return [worker.url for worker in page.workers]


# The app's run events, as the page receives them, in window.__events.
RECORD_EVENTS_JS = """() => { window.__events = [];
    for (const n of ['progress', 'complete', 'failed'])
        addEventListener('airprompts:' + n, (e) => window.__events.push([n, e.detail])); }"""
SOME_PROGRESS_JS = "() => window.__events.some(([n, d]) => n === 'progress' && d.processed > 0)"
RUN_ENDED_JS = "() => window.__events.some(([n]) => n === 'complete' || n === 'failed')"


@pytest.fixture
def host(app):
    """Return a function that seeds ``local``, opens the host page (autostart off) and waits for ready."""

    def open_host(local: dict[str, str], record_events: bool = False):
        app.seed(local)
        app.page.goto(app.base_url + HOST + "?autostart=0")
        app.wait_ready()
        if record_events:
            app.page.evaluate(RECORD_EVENTS_JS)
        return app

    return open_host


def fail_once(app, operation: str, call: int, error_name: str, message: str) -> None:
    """Make the page's storage bridge throw ``error_name`` at the ``call``-th (0-based) ``operation`` only."""
    app.page.evaluate(
        """([operation, call, name, message]) => { let calls = 0; globalThis.__airpromptsFault = (op) => {
            if (op === operation && calls++ === call) throw Object.assign(new Error(message), { name });
        }; }""",
        [operation, call, error_name, message],
    )


def test_the_host_page_realm_never_loads_pyodide(app):
    local = multilingual_store(60)
    app.seed(local)
    app.page.add_init_script(COUNT_WASM_JS)
    app.requests.clear()
    app.page.goto(app.base_url + HOST + "?autostart=0")
    app.wait_ready()
    assert app.call("api.ready.then(() => 'resolved')") == "resolved"
    assert_no_python_in_realm(app.page)
    assert any(u.endswith(WORKER_SCRIPT) for u in worker_urls(app.page))
    assert any("/static/vendor/pyodide/pyodide.asm.wasm" in u for u in app.requests)
    assert not any("/static/vendor/pyscript/" in u for u in app.requests)
    worker = next(w for w in app.page.workers if w.url.endswith(WORKER_SCRIPT))
    assert worker.evaluate("() => typeof globalThis.__airpromptsDispatch") == "function"
    # The API answers from the worker, with plain values.
    status = app.call("api.dataMigrationService.checkMigrationStatus()")
    assert status["needed"] is True and status["currentVersion"] == "1.0.0"
    first = app.call("api.compatibilityLayer.get('templates')")[1]
    assert first["content"] == multilingual_text(1) and first["folderIds"] == ["f1"] and first["contextEnabled"] is False
    assert app.local() == local, "reading migrated nothing"
    assert app.console_errors == []


def test_a_migration_completes_while_the_page_keeps_running_its_timers(host):
    local = multilingual_store(2000)
    app = host(local)
    app.page.evaluate(TICKS_JS)
    # One batch for the whole store: on the page's thread it would be one long task with no timer in between.
    result = app.call(
        """api.dataMigrationService.runPendingMigrations({batchSize: 100000}).then((r) => {
            window.__ticks.running = false; return r; })"""
    )
    ticks = app.page.evaluate("() => window.__ticks")
    assert result["success"] is True, result
    assert result["migrated"] >= 2000, result
    transform = ticks["atPhase"]["transform"]
    done = ticks["atPhase"]["complete"]
    assert done[0] - transform[0] >= 5, f"the page's timers stalled during the run: {ticks}"
    assert ticks["frames"] >= 2, ticks
    stored = app.json_local("airprompts_templates")
    assert len(stored) == 2000 and stored[7]["content"] == multilingual_text(7)
    assert "\r\n" in stored[3]["content"] and stored[3]["metadata"]["schemaVersion"] == "3.0.0"
    _, (want_local, want_app), _ = mx.reference(local, started_at=result["report"]["startedAt"], batch_size=100000)
    assert mx.same_as_expected((app.local(), app.app_records()), (want_local, want_app), (local, {}))
    app.page.click("#counter")
    assert app.page.get_attribute("#counter", "data-clicks") == "1"
    assert app.console_errors == []


def test_pause_and_resume_reach_the_worker(host):
    app = host(multilingual_store(300), record_events=True)
    assert app.call("api.dataMigrationService.startProgressiveMigration({batchSize: 20, batchDelayMs: 150})")["started"]
    app.page.wait_for_function(SOME_PROGRESS_JS)
    app.call("api.dataMigrationService.pauseMigration()")
    paused = app.call("api.dataMigrationService.getMigrationProgress()")
    assert paused["running"] is True and paused.get("paused") is True, paused
    busy = app.call_error("api.dataMigrationService.runPendingMigrations()")
    assert busy["name"] == "MigrationInProgress" and busy["isError"]
    assert app.json_local("airprompts_schema_version") == "1.0.0", "a paused run switched nothing"
    app.call("api.dataMigrationService.resumeMigration()")
    app.page.wait_for_function(RUN_ENDED_JS)
    names = [n for n, _ in app.page.evaluate("() => window.__events")]
    assert "complete" in names and "failed" not in names
    assert app.json_local("airprompts_schema_version") == "3.0.0"
    assert len(app.json_local("airprompts_templates")) == 300


def test_a_quota_error_on_the_page_rolls_the_worker_run_back(host):
    local = multilingual_store(120)
    app = host(local)
    # The page refuses the second localStorage write of the switch, as a full disk would.
    fail_once(app, "local_write", 1, "QuotaExceededError", "injected: disk full")
    failed = app.call_error("api.dataMigrationService.runPendingMigrations({batchSize: 50})")
    assert failed["isError"] and failed["name"] == "QuotaExceeded" and failed["details"]["rolledBack"] is True, failed
    assert app.local() == local, "the rollback left the page's data changed"
    history = app.call("api.dataMigrationService.getHistory()")
    assert history[0]["success"] is False


def test_the_monitor_sees_the_host_pages_long_tasks_and_frames(host):
    app = host(multilingual_store(300), record_events=True)
    assert app.call("api.dataMigrationService.startProgressiveMigration({batchSize: 20, batchDelayMs: 100})")["started"]
    app.page.wait_for_function(SOME_PROGRESS_JS)
    # The host app itself blocks its main thread once during the run (in a task of its own: a
    # devtools evaluation is not reported as a long task).
    app.page.evaluate(
        """() => new Promise((resolve) => setTimeout(() => {
            const end = performance.now() + 300; while (performance.now() < end); resolve(); }, 0))"""
    )
    app.page.wait_for_function(RUN_ENDED_JS)
    metrics = app.call("api.performanceMonitor.getMetrics()")
    assert metrics["longTasks"] >= 1, metrics
    assert metrics["longestTaskMs"] >= 250, metrics
    assert metrics["frameGapP95Ms"] is not None, metrics
    assert app.json_local("airprompts_schema_version") == "3.0.0"


# ---------------------------------------------------------------------- the fault matrix, Python in the worker
# A cross-section of test_fault_matrix (the whole of it: AIRPROMPTS_MATRIX_PATH=/tests/e2e/worker.html).

WORKER_CASES = [
    ("reload", "backup", "middle"),
    ("reload", "transform", "op"),
    ("reload", "switch", "app-op"),
    ("reload", "switch", "collections"),
    ("reload", "verify", "read-app"),
    ("close", "stage", "op"),
    ("close", "switch", "version"),
    ("error", "transform", "op"),
    ("error", "switch", "app"),
    ("error", "verify", "read-local"),
    ("error", "cleanup", "op"),
    ("quota", "switch", "collections"),
]


@pytest.fixture(scope="module")
def tab(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield mx.Tab(context, base_url, HOST)
    context.close()


reference = fm.reference


@pytest.mark.parametrize("mode,phase,point", WORKER_CASES, ids=[f"{m}-{p}-{q}" for m, p, q in WORKER_CASES])
def test_fault_at_point_in_the_worker(tab, reference, scenario_log, mode, phase, point):
    fm.test_fault_at_point(tab, reference, scenario_log, mode, phase, point)


def test_reload_while_rolling_back_in_the_worker(tab, reference, scenario_log):
    fm.test_reload_while_rolling_back(tab, reference, scenario_log, "collections", 2)


def test_two_tabs_with_workers_migrate_exactly_once(tab, reference, scenario_log):
    fm.test_two_tabs_loading_at_once_migrate_exactly_once(tab, reference, scenario_log)


def test_old_app_edit_during_a_worker_run_is_not_lost(tab, reference, scenario_log):
    fm.test_old_app_edit_during_a_running_migration_is_not_lost(tab, reference, scenario_log)


# ---------------------------------------------------------------------- texts the bridge holds for Python

HELD_TEXTS_JS = r"""
async () => {
  // The worker's bridge (static/js/storage.js), called as Python calls it: values and their tokens.
  const s = globalThis.airpromptsStorage;
  const out = {};
  const error = async (promise) => { try { await promise; return null; } catch (e) { return e.name; } };
  const text = "R\u00e9sum\u00e9 \u201cq\u201d \u2014 \u4e2d\u6587 \ud83d\ude80\r\n".repeat(4000);
  await s.localWrite(["held-a", "held-b"], [text, "short"], [], [], []);
  const [values, tokens] = await s.localGet(["held-a", "held-b", "held-missing"]);
  out.sameText = values[0] instanceof Uint8Array && new TextDecoder().decode(values[0]) === text;
  out.tokens = tokens.map((t) => typeof t === "number" && t > 0);
  const [a] = tokens;
  out.unchanged = await s.localChanged(["held-a"], [a]);
  out.countOfHeld = s.countArray(a);
  // A token stands for its own area and key only.
  out.otherKey = await error(s.localChanged(["held-b"], [a]));
  out.otherArea = await error(s.appChanged(["held-a"], [a]));
  // A later write or read of the key replaces its text: the older token is refused, never taken for the new text.
  await s.localWrite(["held-a"], ["edited"], [], [], []);
  out.afterWrite = await error(s.localChanged(["held-a"], [a]));
  const [, [b]] = await s.localGet(["held-a"]);
  out.afterRead = await error(s.localChanged(["held-a"], [a]));
  out.guardWithStale = await error(s.localWrite(["held-a"], ["x"], [], ["held-a"], [a]));
  const [[now]] = await s.localGet(["held-a"]);
  out.unwritten = now === "edited";
  out.newer = b > a;
  // The token of a written value names what was written; a guard may name the value it read.
  const [written] = await s.localWrite(["held-c"], [text], [], [], []);
  out.writtenUnchanged = await s.localChanged(["held-c"], [written]);
  const [, [c]] = await s.localGet(["held-c"]);
  out.guardWithHeld = await error(s.localWrite(["held-c"], ["replaced"], [], ["held-c"], [c]));
  return out;
}
"""


def test_the_worker_bridge_names_texts_it_holds_by_token_and_refuses_a_stale_one(host):
    app = host({"airprompts_schema_version": '"3.0.0"', "theme-storage": '{"theme":"dark"}'})
    worker = next(w for w in app.page.workers if w.url.endswith(WORKER_SCRIPT))
    out = worker.evaluate(HELD_TEXTS_JS)
    assert out["sameText"] is True
    assert out["tokens"] == [True, True, False]
    assert out["unchanged"] == []
    assert out["countOfHeld"] == -1  # the held text is no JSON array: the count read it, not the token
    assert out["otherKey"] == "StaleText" and out["otherArea"] == "StaleText"
    assert out["afterWrite"] == "StaleText" and out["afterRead"] == "StaleText"
    assert out["guardWithStale"] == "StaleText"
    assert out["unwritten"] is True, "a refused token wrote nothing"
    assert out["newer"] is True
    assert out["writtenUnchanged"] == []
    assert out["guardWithHeld"] is None
    assert app.local()["held-c"] == "replaced" and app.local()["held-a"] == "edited"


STILL_HELD_FIRST_JS = r"""
async () => {
  // A read names the text Python holds for each key; one the key still holds answers STILL_HELD (false).
  const s = globalThis.airpromptsStorage;
  const text = globalThis.__stillText = "Caf\u00e9 \u201cq\u201d \u2014 \u4e2d\u6587 \u0645\u0631\u062d\u0628\u0627 \ud83d\udc4b\ud83c\udffd\r\n".repeat(3000);
  const [written] = await s.localWrite(["still-a", "still-b"], [text, "short"], [], [], []);
  const [, [a, b]] = await s.localGet(["still-a", "still-b"]);
  const [values, tokens] = await s.localGet(["still-a", "still-b", "still-missing"], [a, b, 0]);
  const [afterWrite] = await s.localWrite(["still-c"], [text], [], [], []);
  const [[fromWrite], [writeToken]] = await s.localGet(["still-c"], [afterWrite]);
  const [[otherKey]] = await s.localGet(["still-b"], [a]);
  globalThis.__stillA = a;
  // The SHA-256 of a text sent as UTF-8 bytes, for the run's fingerprint; none for a short text
  // (sent as itself) or a token of another key.
  const digests = await s.textDigests(["local", "local", "local"], ["still-a", "still-b", "still-b"], [a, b, a]);
  return {
    digests,
    still: [values[0] === false, values[1] === false, values[2] === undefined],
    kept: tokens[0] === a && tokens[1] === b && tokens[2] === 0,
    fromWrite: fromWrite === false && writeToken === afterWrite && written > 0,
    otherKey,
  };
}
"""

STILL_HELD_AFTER_JS = r"""
async () => {
  const s = globalThis.airpromptsStorage;
  const a = globalThis.__stillA;
  const [[value], [token]] = await s.localGet(["still-a"], [a]);
  const text = value instanceof Uint8Array ? new TextDecoder().decode(value) : value;
  // Under its new token, read again unchanged: still held.
  const [[again]] = await s.localGet(["still-a"], [token]);
  return { edited: text === "X" + globalThis.__stillText.slice(1), newer: token > a, again: again === false };
}
"""


def test_a_read_of_a_text_python_holds_crosses_again_only_when_it_changed(host):
    app = host({"airprompts_schema_version": '"3.0.0"'})
    worker = next(w for w in app.page.workers if w.url.endswith(WORKER_SCRIPT))
    first = worker.evaluate(STILL_HELD_FIRST_JS)
    assert first["still"] == [True, True, True]
    assert first["kept"] is True
    assert first["fromWrite"] is True
    assert first["otherKey"] == "short", "a token of another key is never taken for this one"
    text = "Caf\u00e9 \u201cq\u201d \u2014 \u4e2d\u6587 \u0645\u0631\u062d\u0628\u0627 \U0001f44b\U0001f3fd\r\n" * 3000
    assert first["digests"] == [hashlib.sha256(text.encode("utf-8")).hexdigest(), None, None]
    # The page (the host app itself) changes one character, the length kept.
    app.page.evaluate("() => { const t = localStorage.getItem('still-a'); localStorage.setItem('still-a', 'X' + t.slice(1)); }")
    after = worker.evaluate(STILL_HELD_AFTER_JS)
    assert after["edited"] is True, "the changed text crossed, as the page holds it"
    assert after["newer"] is True and after["again"] is True


TOO_LARGE_JS = r"""
async () => {
  // A record larger than Chromium's IndexedDB stores (133 MB serialised): 72 M characters of CJK.
  const s = globalThis.airpromptsStorage;
  const piece = "\u4e2d\u6587\u5b57".repeat(800000);
  const record = { key: "too-large", value: Array.from({ length: 30 }, (_, i) => ({ id: String(i), content: piece })), timestamp: 1 };
  let error = null;
  try {
    await s.appWrite([JSON.stringify(record)], [], [], []);
  } catch (e) {
    error = { name: e.name, message: String(e.message) };
  }
  const [[stored]] = await s.appGet(["too-large"]);
  return { error, stored: stored === undefined };
}
"""


def test_a_record_indexeddb_refuses_as_too_large_fails_with_the_browsers_reason(host):
    # The failed put's own error (UnknownError, with its size), not a bare "transaction aborted":
    # the app then says what is too large instead of "try again" (app/core/errors.py).
    app = host({"airprompts_schema_version": '"3.0.0"'})
    worker = next(w for w in app.page.workers if w.url.endswith(WORKER_SCRIPT))
    out = worker.evaluate(TOO_LARGE_JS)
    assert out["error"] is not None and out["error"]["name"] == "UnknownError", out
    assert "too large" in out["error"]["message"] and "max=" in out["error"]["message"]
    assert out["stored"] is True, "nothing was written"


RECORD_COUNTS_JS = r"""
async () => {
  // appGet counts each AirPromptsDB record's value array from the object it read, as countArray(text,
  // "value") counts its JSON text; records it cannot count (-1) are left to that count.
  const s = globalThis.airpromptsStorage;
  const deep = (n) => { let v = []; for (let i = 0; i < n; i++) v = [v]; return v; };
  const content = "Gr\u00fc\u00dfe \u201cq\u201d \u4e2d\u6587 \ud83d\ude80\r\n".repeat(3000);
  await s.appWrite([
    JSON.stringify({ key: "cnt-a", value: [{ id: "t1", content }, null, []], timestamp: 1 }),
    JSON.stringify({ key: "cnt-deep", value: deep(600), timestamp: 1 }),
    JSON.stringify({ key: "cnt-obj", value: { id: "t1" }, timestamp: 1 }),
  ], [], [], []);
  // The app stores objects, not texts: a Date is a level to nestsDeeper and a string in the JSON text.
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open("AirPromptsDB");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("storage", "readwrite");
    tx.objectStore("storage").put({ key: "cnt-date", value: [new Date(0), { at: new Date(1) }], timestamp: 2 });
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
  const keys = ["cnt-a", "cnt-deep", "cnt-obj", "cnt-date", "cnt-missing"];
  const [texts, tokens, counts] = await s.appGet(keys);
  const parsed = texts.slice(0, 4).map((text) => s.countArray(text, "value"));
  const byToken = tokens.slice(0, 4).map((token) => s.countArray(token, "value"));
  return { counts, parsed, byToken, missing: texts[4] === undefined && tokens[4] === 0 };
}
"""


def test_the_worker_bridge_counts_airpromptsdb_records_as_it_reads_them(host):
    app = host({"airprompts_schema_version": '"3.0.0"'})
    worker = next(w for w in app.page.workers if w.url.endswith(WORKER_SCRIPT))
    out = worker.evaluate(RECORD_COUNTS_JS)
    assert out["counts"] == [3, -1, -1, 2, -1]
    assert out["parsed"] == [3, -1, -1, 2] and out["byToken"] == out["parsed"]
    assert out["missing"] is True


RECORD_COMPARE_JS = r"""
async () => {
  // The bridge compares an AirPromptsDB record with the one it holds as objects (sameGraph), and
  // as JSON texts where the objects are not shown equal: a guard refuses any change of the text.
  const s = globalThis.airpromptsStorage;
  const error = async (promise) => { try { await promise; return null; } catch (e) { return e.name; } };
  let db;
  const put = (record) => new Promise((resolve, reject) => {
    const tx = db.transaction("storage", "readwrite");
    tx.objectStore("storage").put(record);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  const content = "Caf\u00e9 \u201cq\u201d \u2014 \u4e2d\u6587 \u0645\u0631\u062d\u0628\u0627 \ud83d\udc4b\ud83c\udffd\r\n".repeat(2000);
  const record = () => ({ key: "cmp-a", value: [{ id: "t1", content, tags: ["\u00e9t\u00e9", "x"], n: 1.5 }], timestamp: 1 });
  const out = {};
  out.graphs = [
    s.sameGraph(record(), record()),
    s.sameGraph(record(), { ...record(), timestamp: 2 }),
    s.sameGraph({ a: 1, b: 2 }, { b: 2, a: 1 }),
    s.sameGraph([1, [2, null]], [1, [2, null]]),
    s.sameGraph({ d: new Date(0) }, { d: new Date(0) }),
    s.sameGraph({ a: undefined }, {}),
    s.sameGraph([], {}),
  ];
  const [written] = await s.appWrite([JSON.stringify(record())], [], [], []);
  db = await new Promise((resolve, reject) => {
    const req = indexedDB.open("AirPromptsDB");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  out.writtenUnchanged = await s.appChanged(["cmp-a"], [written]);
  // A record held from a write is read as a text: Python holds the text it wrote, not JSON.stringify's.
  const [afterWrite] = await s.appGet(["cmp-a"], [written]);
  out.afterWriteIsText = afterWrite[0] instanceof Uint8Array;
  let [, [token], [count]] = await s.appGet(["cmp-a"]);
  out.readUnchanged = await s.appChanged(["cmp-a"], [token]);
  // Read again under the token of that read: the same record answers SAME_RECORD (false), token and count kept.
  const again = await s.appGet(["cmp-a", "cmp-missing"], [token, 0]);
  out.again = [again[0][0] === false, again[1][0] === token, again[2][0] === count && count === 1, again[0][1] === undefined];
  out.otherSlot = (await s.appGet(["cmp-missing"], [token]))[0][0] === undefined;
  // Another writer changes one character deep in the content (same length).
  const edited = record();
  edited.value[0].content = content.slice(0, 5000) + "X" + content.slice(5001);
  await put(edited);
  out.editSeen = await s.appChanged(["cmp-a"], [token]);
  out.guardRefused = await error(s.appWrite([JSON.stringify({ key: "cmp-a", value: [], timestamp: 9 })], [], ["cmp-a"], [token]));
  // Read under the token of the earlier read: the edited record is sent, under a new token.
  const [[editedText], [editedToken]] = await s.appGet(["cmp-a"], [token]);
  out.editReadAnew = editedText instanceof Uint8Array && editedToken > token;
  out.editKept = JSON.parse(new TextDecoder().decode(editedText)).value[0].content[5000] === "X";
  // The same members in another order make another JSON text: a change, as before.
  [, [token]] = await s.appGet(["cmp-a"]);
  await put({ value: edited.value, key: "cmp-a", timestamp: 1 });
  out.reorderSeen = await s.appChanged(["cmp-a"], [token]);
  // A record holding a Date is no plain graph: it compares by its text, and is unchanged.
  await put({ key: "cmp-date", value: [new Date(0), { at: new Date(5) }], timestamp: 1 });
  const [, [dated]] = await s.appGet(["cmp-date"]);
  out.datedUnchanged = await s.appChanged(["cmp-date"], [dated]);
  const [[datedText], [datedAgain]] = await s.appGet(["cmp-date"], [dated]);
  out.datedReadAsText = typeof datedText === "string" && datedAgain > dated;
  out.datedAsText = await s.appChanged(["cmp-date"], [JSON.stringify({ key: "cmp-date", value: ["1970-01-01T00:00:00.000Z", { at: "1970-01-01T00:00:00.005Z" }], timestamp: 1 })]);
  await put({ key: "cmp-date", value: [new Date(1), { at: new Date(5) }], timestamp: 1 });
  out.datedEditSeen = await s.appChanged(["cmp-date"], [datedAgain]);
  db.close();
  return out;
}
"""


def test_the_worker_bridge_compares_airpromptsdb_records_as_objects_and_refuses_any_change(host):
    app = host({"airprompts_schema_version": '"3.0.0"'})
    worker = next(w for w in app.page.workers if w.url.endswith(WORKER_SCRIPT))
    out = worker.evaluate(RECORD_COMPARE_JS)
    assert out["graphs"] == [True, False, False, True, False, False, False]
    assert out["writtenUnchanged"] == [] and out["readUnchanged"] == []
    assert out["afterWriteIsText"] is True
    assert out["again"] == [True, True, True, True] and out["otherSlot"] is True
    assert out["editReadAnew"] is True
    assert out["datedReadAsText"] is True, "a record sameGraph cannot vouch for is sent as its text"
    assert out["editSeen"] == ["cmp-a"]
    assert out["guardRefused"] == "WriteConflict"
    assert out["editKept"] is True, "the refused write changed nothing"
    assert out["reorderSeen"] == ["cmp-a"]
    assert out["datedUnchanged"] == [] and out["datedAsText"] == []
    assert out["datedEditSeen"] == ["cmp-date"]


def test_a_run_whose_held_texts_went_stale_sends_them_again_and_migrates_exactly(host):
    # The worker's bridge reads the collections again while the run is paused: the tokens Python
    # holds from the run's own read are refused at the switch, and the texts are sent instead.
    local = multilingual_store(200)
    app = host(local, record_events=True)
    assert app.call("api.dataMigrationService.startProgressiveMigration({batchSize: 20, batchDelayMs: 100})")["started"]
    app.page.wait_for_function(SOME_PROGRESS_JS)
    app.call("api.dataMigrationService.pauseMigration()")
    worker = next(w for w in app.page.workers if w.url.endswith(WORKER_SCRIPT))
    tokens = worker.evaluate("async (keys) => (await globalThis.airpromptsStorage.localGet(keys))[1]", list(local))
    assert all(t > 0 for t in tokens), tokens
    app.call("api.dataMigrationService.resumeMigration()")
    app.page.wait_for_function(RUN_ENDED_JS)
    events = app.page.evaluate("() => window.__events")
    assert [n for n, _ in events if n in ("complete", "failed")] == ["complete"], events[-1]
    history = app.call("api.dataMigrationService.getHistory()")
    _, (want_local, want_app), _ = mx.reference(local, started_at=history[0]["startedAt"], batch_size=20)
    assert mx.same_as_expected((app.local(), app.app_records()), (want_local, want_app), (local, {}))


COUNT_READS_JS = """
globalThis.__reads = 0;
globalThis.__airpromptsFault = (operation) => { if (operation === "app_read") globalThis.__reads += 1; };
"""


def test_an_automatic_start_reads_the_store_once_before_its_run(app):
    # The host page loads the engine because a migration may be needed: one status (a read and plan of
    # the whole store) decides both the warm-up and the start, and the run reads the store itself.
    local = multilingual_store(200)
    app.seed(local)
    app.page.add_init_script(COUNT_READS_JS)
    app.page.add_init_script(f"({RECORD_EVENTS_JS})();")
    app.page.goto(app.base_url + HOST)
    app.page.wait_for_function(RUN_ENDED_JS, timeout=app.config.ACTION_TIMEOUT_MS)
    assert [n for n, _ in app.page.evaluate("() => window.__events") if n != "progress"] == ["complete"]
    assert app.page.evaluate("() => globalThis.__reads") == 2, "the store was read more than status and run need"
    assert app.json_local("airprompts_schema_version") == "3.0.0"
    assert len(app.json_local("airprompts_templates")) == 200


# ---------------------------------------------------------------------- texts the page and the worker both hold

# On the page, before its scripts: for each message between the page and the engine's worker, how many
# texts of 32 K characters and more it carries, and how many it names by the page's id instead ({shared}).
CROSSINGS_JS = r"""
(() => {
  const big = (v) => (typeof v === "string" ? (v.length >= 32768 ? 1 : 0) : Array.isArray(v) ? v.reduce((n, x) => n + big(x), 0) : 0);
  const named = (v) => (Array.isArray(v) ? v.reduce((n, x) => n + named(x), 0) : v && typeof v === "object" && "shared" in v ? 1 : 0);
  const log = (globalThis.__crossings = []);
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, transfer) {
    if (message?.type === "answer") log.push(["answer", big(message.result), 0]);
    return post.call(this, message, transfer);
  };
  globalThis.Worker = class extends Worker {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", ({ data }) => {
        if (data?.type === "ask") log.push([data.kind, big(data.args), named(data.args)]);
      });
    }
  };
})();
"""

SHARED_TEXT = "R\u00e9sum\u00e9 \u201cq\u201d \u2014 \u4e2d\u6587 \u0645\u0631\u062d\u0628\u0627 \U0001f680\r\n" * 3000


def _crossings(app) -> list:
    """The crossings logged since the last call: [kind, large texts carried, texts named by id]."""
    return app.page.evaluate("() => globalThis.__crossings.splice(0)")


def _worker_call(worker, js: str, *args):
    return worker.evaluate("async (args) => { const s = globalThis.airpromptsStorage; return (" + js + ")(s, ...args); }", list(args))


READ_JS = "async (s, key) => { const [[v], [token]] = await s.localGet([key]); return [v instanceof Uint8Array ? new TextDecoder().decode(v) : v, token]; }"
ERROR_OF_JS = "async (p) => { try { return await p; } catch (e) { return e.name; } }"


def test_the_page_sends_a_large_value_once_and_again_only_when_it_changed(app):
    app.seed({"airprompts_schema_version": '"3.0.0"'})
    app.page.add_init_script(CROSSINGS_JS)
    app.page.goto(app.base_url + HOST + "?autostart=0")
    app.wait_ready()
    worker = next(w for w in app.page.workers if w.url.endswith(WORKER_SCRIPT))
    text = SHARED_TEXT
    app.page.evaluate("(t) => localStorage.setItem('shared-a', t)", text)
    _crossings(app)

    value, token = _worker_call(worker, READ_JS, "shared-a")
    assert value == text and token > 0
    assert _crossings(app) == [["pageRead", 0, 0], ["answer", 1, 0]], "the first read carries the text"
    value, token = _worker_call(worker, READ_JS, "shared-a")
    assert value == text
    assert _crossings(app) == [["pageRead", 0, 0], ["answer", 0, 0]], "an unchanged value is not sent again"

    # Changed by page code (the app, devtools) to a text of the same length: sent again, and read as it is now.
    edited = text[:-3] + "end"
    app.page.evaluate("(t) => localStorage.setItem('shared-a', t)", edited)
    value, token = _worker_call(worker, READ_JS, "shared-a")
    assert value == edited
    assert _crossings(app)[-1] == ["answer", 1, 0]
    # Written again with the same characters as a new string: the page compares the text, not the string.
    app.page.evaluate("() => localStorage.setItem('shared-a', localStorage.getItem('shared-a').split('').join(''))")
    value, token = _worker_call(worker, READ_JS, "shared-a")
    assert value == edited
    assert _crossings(app)[-1] == ["answer", 0, 0]

    # A compare names the text the page holds; a changed value still differs.
    assert _worker_call(worker, "async (s, t) => s.localChanged(['shared-a'], [t])", token) == []
    assert _crossings(app) == [["pageDiffer", 0, 1], ["answer", 0, 0]]
    app.page.evaluate("(t) => localStorage.setItem('shared-a', t)", text)
    assert _worker_call(worker, "async (s, t) => s.localChanged(['shared-a'], [t])", token) == ["shared-a"]
    # A guarded write naming the text it read refuses the value changed since, and writes nothing.
    got = _worker_call(worker, f"async (s, t) => ({ERROR_OF_JS})(s.localWrite(['shared-a'], ['x'], [], ['shared-a'], [t]))", token)
    assert got == "WriteConflict"
    assert app.local()["shared-a"] == text

    # A value the worker wrote is named by the page: the next read does not carry it back.
    _worker_call(worker, "async (s, t) => s.localWrite(['shared-b'], [t], [], [], [])", edited)
    _crossings(app)
    assert _worker_call(worker, READ_JS, "shared-b")[0] == edited
    assert _crossings(app) == [["pageRead", 0, 0], ["answer", 0, 0]]
    assert app.local()["shared-b"] == edited


RACE_JS = r"""
async (s, [key, token, later]) => {
  // A read in flight names the page's new value; a compare and a guarded write sent before its answer
  // still name the text read before: the page refuses that name, and the worker sends the text itself.
  const errorOf = async (p) => { try { return await p; } catch (e) { return e.name; } };
  const read = s.localGet([key]);
  const changed = s.localChanged([key], [token]);
  const write = errorOf(s.localWrite([key], [later], [], [key], [token]));
  const [[value]] = await read;
  return [value instanceof Uint8Array ? new TextDecoder().decode(value) : value, await changed, await write];
}
"""


def test_a_name_the_page_replaced_meanwhile_is_refused_and_the_text_sent_instead(app):
    app.seed({"airprompts_schema_version": '"3.0.0"'})
    app.page.add_init_script(CROSSINGS_JS)
    app.page.goto(app.base_url + HOST + "?autostart=0")
    app.wait_ready()
    worker = next(w for w in app.page.workers if w.url.endswith(WORKER_SCRIPT))
    text = SHARED_TEXT
    app.page.evaluate("(t) => localStorage.setItem('shared-r', t)", text)
    _, token = _worker_call(worker, READ_JS, "shared-r")
    other = "\u4e2d" + text[1:]
    app.page.evaluate("(t) => localStorage.setItem('shared-r', t)", other)
    _crossings(app)
    value, changed, write = _worker_call(worker, RACE_JS, ["shared-r", token, text + "later"])
    assert value == other
    assert changed == ["shared-r"] and write == "WriteConflict"
    assert app.local()["shared-r"] == other, "the refused write changed nothing"
    asks = [c for c in _crossings(app) if c[0] != "answer"]
    assert asks == [["pageRead", 0, 0], ["pageDiffer", 0, 1], ["pageWrite", 1, 1], ["pageDiffer", 1, 0], ["pageWrite", 2, 0]], asks
