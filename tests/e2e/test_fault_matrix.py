"""The migration under faults in real Chromium: every phase, several points in each, four kinds of fault.

For each phase (backup, transform, stage, switch, verify, cleanup) and points
inside it, the page is reloaded there, the tab is closed there, a storage error
is thrown there, or localStorage is filled to its quota there. After the next
load (or the failed run) the data is exactly the 3.0.0 result or exactly the
original, and the app's own status and history say which: never a mix, a
loss or a duplicate. Then several tabs at once, an old-app tab saving through
the compatibility layer during a run, and every bad input at every version.

The points come from a clean reference run on the same seed: its writes, tagged
with the phase the engine announced (``airprompts:phase``). One browser context
serves the whole module and every scenario starts from a wiped origin; only the
reload or the new tab a scenario needs costs a page load.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.e2e import matrix as mx

BATCH = 50
MODES = ("reload", "close", "error", "quota")
POINTS = {
    "flag": ("set", "clear"),
    "backup": ("first", "middle", "last"),
    "transform": ("first", "middle", "last", "op"),
    "stage": ("values", "report", "op"),
    "switch": ("app", "app-op", "collections", "version"),
    "verify": ("start", "read-local", "read-app"),
    "cleanup": ("write", "op", "done"),
}
# A listener's error never reaches the engine; "verify start" is the other modes' point.
SKIP = {("error", "verify", "start")}
ERROR_NAME = "InvalidStateError"  # not retryable in the app's mapping
CASES = [
    (mode, phase, point)
    for mode in MODES
    for phase, points in POINTS.items()
    for point in points
    if (mode, phase, point) not in SKIP
]


@pytest.fixture(scope="module")
def tab(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    # AIRPROMPTS_MATRIX_PATH=/tests/e2e/worker.html runs every scenario on a host page, Python in a worker.
    yield mx.Tab(context, base_url, os.environ.get("AIRPROMPTS_MATRIX_PATH", mx.CONSOLE_PATH))
    context.close()


@pytest.fixture(scope="module")
def reference(tab):
    """A clean run on the seed: its writes with their phases, its end state, its quarantine; checked against CPython."""
    local, app = mx.matrix_seed()
    page = tab.fresh(local, app)
    mx.install(page, "record")
    result = mx.call(page, mx.RUN % BATCH)
    assert result["success"] is True and result["quarantined"] == 1
    writes = mx.writes(page)
    assert page.evaluate("() => window.__mx.phases") == [
        "detect",
        "backup",
        "transform",
        "switch",
        "verify",
        "complete",
        "done",
    ]
    expected = mx.state(page)
    stores = mx.own(page)
    _, cpython, _ = mx.reference(local, app, started_at=result["report"]["startedAt"], batch_size=BATCH)
    assert mx.same_as_expected(expected, cpython, (local, app)), mx.diff(expected, cpython)
    groups = mx.matrix_phases(writes)
    assert all(groups[p] for p in ("backup", "transform", "stage", "switch", "cleanup")), groups
    # Batches are staged several per transaction (STAGE_OPS): four transactions still give distinct
    # first, middle and last transform points.
    assert len(groups["transform"]) >= 4, "the seed must take several staging transactions"
    return {
        "local": local,
        "app": app,
        "original": (local, app),
        "expected": expected,
        "writes": writes,
        "quarantine": mx.quarantine_shape(stores),
    }


def settle_outcome(page, ref, scenario_log, category: str, label: str, note: str | None = None) -> str:
    """Classify the end state, check the app reports the same, record it; return it."""
    now = mx.state(page)
    history = mx.call(page, "api.dataMigrationService.getHistory()")
    moved = (history[0].get("report") or {}).get("movedToIndexedDB") if history and history[0]["success"] else None
    outcome = mx.classify(now, ref["expected"], ref["original"], moved)
    dups = mx.ids_unique(*now)
    scenario_log(category, outcome if not dups else "MIX", note)
    assert outcome != "MIX", f"{label}: neither the 3.0.0 result nor the original: {mx.diff(now, ref['expected'])}"
    assert not dups, f"{label}: duplicate ids in {dups}"
    said, status, history = mx.reported(page)
    assert said == outcome, f"{label}: the data is {outcome} but the app says {said}: {status}, {history[:1]}"
    mx.assert_own_clean(page, outcome, ref["quarantine"])
    return outcome


def moved_to_app(page) -> list[str]:
    history = mx.call(page, "api.dataMigrationService.getHistory()")
    return [k for h in history if h["success"] for k in (h.get("report") or {}).get("movedToIndexedDB", [])]


def fired(page) -> dict:
    return page.evaluate("() => window.__mx && window.__mx.fired")


@pytest.mark.parametrize("mode,phase,point", CASES, ids=[f"{m}-{p}-{q}" for m, p, q in CASES])
def test_fault_at_point(tab, reference, scenario_log, mode, phase, point):
    target = mx.resolve(reference["writes"], phase, point)
    label = f"{mode} at {phase}/{point} {target}"
    page = tab.fresh(reference["local"], reference["app"])
    mx.install(page, mode, target, ERROR_NAME if mode == "error" else None)
    category = f"fault-matrix {'storage-error' if mode == 'error' else mode}"

    if mode == "reload":
        with page.expect_navigation(timeout=60_000):
            page.evaluate(mx.START_JS, BATCH)
        mx.wait_ready(page)
        before = page.evaluate("() => JSON.parse(sessionStorage.getItem('__mx'))")
        mx.assert_same_path(before["writes"], reference["writes"], before["fired"])
        # The state right after the next load, recover() done: exactly one of the two.
        rec = mx.recovered(page)
        note = f"recover {rec['outcome'] if rec else 'none'}"
        outcome = settle_outcome(page, reference, scenario_log, category, label, note)
        if outcome == "original":
            assert mx.call(page, mx.RUN % BATCH)["success"] is True
        assert mx.classify(mx.state(page), reference["expected"], reference["original"]) == "migrated", label
        mx.assert_own_clean(page, "migrated", reference["quarantine"])
        return

    if mode == "close":
        page.evaluate(mx.START_JS, BATCH)
        page.wait_for_function("() => window.__mx.fired !== null")
        scenario = page.evaluate("() => window.__mx.writes")
        where = fired(page)
        mx.assert_same_path(scenario, reference["writes"], where)
        # A new tab on "/" (autostart): recover() and, if still needed, the automatic run finish it.
        page = tab.new_page("")
        assert page.evaluate(mx.WAIT_SETTLED_JS) is not None, f"{label}: the next load never settled"
        rec = mx.recovered(page)
        note = f"recover {rec['outcome'] if rec else 'none'}"
        outcome = settle_outcome(page, reference, scenario_log, category, label, note)
        assert outcome == "migrated", label
        return

    # error / quota: the same page sees the run end.
    ended = mx.call_error(page, mx.RUN % BATCH)
    where = fired(page)
    assert where is not None, f"{label}: the fault never fired"
    mx.assert_same_path(page.evaluate("() => window.__mx.writes"), reference["writes"], where)
    if mode == "quota":
        assert page.evaluate("() => window.__mx.filled") > 0
        mx.remove_filler(page)
    page.evaluate(mx.RESET_JS)
    note = f"run {'succeeded' if ended['name'] is None else 'failed ' + ended['name']}"
    outcome = settle_outcome(page, reference, scenario_log, category, label, note)
    if ended["name"] is None:
        assert ended["value"]["success"] is True and outcome == "migrated", (label, ended)
    else:
        assert ended["isError"] and ended["message"] and "Traceback" not in ended["message"], ended
        wanted = {"StorageUnavailable", "RolledBack"} if mode == "error" else {"QuotaExceeded", "RolledBack"}
        assert ended["name"] in wanted, (label, ended)
        assert outcome == "original", (label, ended)
        # Nothing is stuck: the next run completes.
        assert mx.call(page, mx.RUN % BATCH)["success"] is True
        assert mx.classify(mx.state(page), reference["expected"], reference["original"]) == "migrated"
        mx.assert_own_clean(page, "migrated", reference["quarantine"])
    if moved_to_app(page):
        assert mode == "quota", label  # only a full localStorage moves a collection


# ---------------------------------------------------------------------- other error names, double faults

QUOTA_ERROR_CASES = [("backup", "middle"), ("transform", "middle"), ("stage", "values"), ("switch", "app"),
                     ("switch", "collections"), ("cleanup", "write")]  # fmt: skip
INTERNALS = ("DOMException", "thrown as an error", "String interpolation", "Pyodide", "Traceback", "JsException")

# A DOMException as the browser throws it (no stack): named by its name, retried when transient.
DOM_CASES = [
    ("TimeoutError", "transform", "middle", "migrated"),
    ("TimeoutError", "switch", "app", "migrated"),
    ("AbortError", "backup", "middle", "migrated"),
    ("UnknownError", "stage", "report", "migrated"),
    ("QuotaExceededError", "stage", "values", "QuotaExceeded"),
    ("QuotaExceededError", "switch", "collections", "QuotaExceeded"),
    ("InvalidStateError", "transform", "middle", "StorageUnavailable"),
]


@pytest.mark.parametrize("name,phase,point,want", DOM_CASES, ids=[f"{n}-{p}-{q}" for n, p, q, _ in DOM_CASES])
def test_domexception_at_point_is_translated_by_its_name(tab, reference, scenario_log, name, phase, point, want):
    target = mx.resolve(reference["writes"], phase, point)
    page = tab.fresh(reference["local"], reference["app"])
    mx.install(page, "error", target, name, dom=True)
    ended = mx.call_error(page, mx.RUN % BATCH)
    assert fired(page) is not None
    page.evaluate(mx.RESET_JS)
    note = f"{name} {'retried' if ended['name'] is None else ended['name']}"
    outcome = settle_outcome(page, reference, scenario_log, "fault-matrix storage-error", f"{name} at {phase}/{point}", note)
    if want == "migrated":
        assert ended["name"] is None and outcome == "migrated", ended
        return
    assert ended["name"] == want and ended["isError"] and outcome == "original", ended
    assert not any(word in ended["message"] for word in INTERNALS), ended["message"]
    history = mx.call(page, "api.dataMigrationService.getHistory()")
    assert not any(word in history[0]["error"]["message"] for word in INTERNALS), history[0]["error"]
    if name == "QuotaExceededError":
        assert "Browser storage is full" in ended["message"], ended
        assert bool((ended["details"] or {}).get("rolledBack")) is (phase == "switch"), ended


def test_a_clean_up_that_keeps_failing_leaves_the_verified_run_in_place(tab, reference, scenario_log):
    """Every clean-up write fails: the run still succeeds, and the next load finishes its bookkeeping."""
    target = mx.resolve(reference["writes"], "cleanup", "write")
    page = tab.fresh(reference["local"], reference["app"])
    mx.install(page, "always", target, "InvalidStateError")
    ended = mx.call_error(page, mx.RUN % BATCH)
    assert ended["name"] is None and ended["value"]["success"] is True, ended
    journal = mx.own(page, ("journal",))["journal"]
    assert json.loads(journal["current"])["phase"] == "complete"
    assert page.evaluate(f"() => localStorage.getItem('{mx.PENDING_FLAG}')") == ended["value"]["runId"]
    page.evaluate(mx.RESET_JS)
    page.reload()
    mx.wait_ready(page)
    assert mx.recovered(page)["outcome"] == "completed"
    outcome = settle_outcome(page, reference, scenario_log, "fault-matrix cleanup", "clean-up always fails", "finished on load")
    assert outcome == "migrated"
    assert page.evaluate(f"() => localStorage.getItem('{mx.PENDING_FLAG}')") is None


# Another tab writes a key the switch writes, then the switch fails; the page reloads k writes into the rollback.
DISPLACED_AFTER = (2, 3, 4, 5)
FOREIGN_JS = """(value) => { const inner = globalThis.__airpromptsFault; let done = false;
  globalThis.__airpromptsFault = (op, detail) => {
    if (!done && op === "local_write" && detail.set.includes("airprompts_templates")) {
      done = true; localStorage.setItem("airprompts_ui_preferences", value); }
    return inner(op, detail); }; }"""


@pytest.mark.parametrize("after", DISPLACED_AFTER, ids=[f"then-{k}" for k in DISPLACED_AFTER])
def test_a_reload_while_rolling_back_keeps_what_another_tab_wrote(tab, reference, scenario_log, after):
    target = mx.resolve(reference["writes"], "switch", "collections")
    page = tab.fresh(reference["local"], reference["app"])
    mx.install(page, "error", target, ERROR_NAME, then={"after": after})
    foreign = '{"viewMode":"list","from":"l’autre onglet ✍"}'
    page.evaluate(FOREIGN_JS, foreign)
    with page.expect_navigation(timeout=60_000):
        page.evaluate(mx.START_JS, BATCH)
    mx.wait_ready(page)
    rec = mx.recovered(page)
    assert rec and rec["outcome"] == "rolled-back", rec
    history = mx.call(page, "api.dataMigrationService.getHistory()")
    displaced = history[0].get("displaced") or []
    kept = [d for d in displaced if d["key"] == "airprompts_ui_preferences" and d["value"] == foreign]
    if not kept:
        scenario_log("fault-matrix double-fault", "MIX", "displaced value lost")
    assert kept, history[0]
    label = f"displaced, then reload {after} writes into the rollback"
    outcome = settle_outcome(page, reference, scenario_log, "fault-matrix double-fault", label, "displaced kept")
    assert outcome == "original"


@pytest.mark.parametrize("phase,point", QUOTA_ERROR_CASES, ids=[f"{p}-{q}" for p, q in QUOTA_ERROR_CASES])
def test_quota_error_at_point(tab, reference, scenario_log, phase, point):
    """A QuotaExceededError from the browser (IndexedDB or localStorage) ends in the original data, named QuotaExceeded (rolled back from the switch on)."""
    target = mx.resolve(reference["writes"], phase, point)
    page = tab.fresh(reference["local"], reference["app"])
    mx.install(page, "error", target, "QuotaExceededError")
    ended = mx.call_error(page, mx.RUN % BATCH)
    page.evaluate(mx.RESET_JS)
    note = "run succeeded" if ended["name"] is None else f"run failed {ended['name']}"
    outcome = settle_outcome(
        page, reference, scenario_log, "fault-matrix storage-error", f"quota error at {phase}/{point}", note
    )
    if phase == "cleanup":
        # The data was written and verified: a clean-up that fails once is written again, never rolled back.
        assert ended["name"] is None and outcome == "migrated", ended
        return
    assert outcome == "original" and ended["isError"], ended
    assert ended["name"] == "QuotaExceeded", ended
    assert bool((ended["details"] or {}).get("rolledBack")) is (phase == "switch"), ended
    assert "Browser storage is full" in ended["message"], ended


# Write a storage error at a switch write, then reload the page k writes into the rollback.
DOUBLE_CASES = [
    ("collections", 1),
    ("collections", 2),
    ("collections", 3),
    ("version", 3),
    ("version", 4),
    ("version", 6),
]


@pytest.mark.parametrize("point,after", DOUBLE_CASES, ids=[f"{p}-then-{k}" for p, k in DOUBLE_CASES])
def test_reload_while_rolling_back(tab, reference, scenario_log, point, after):
    target = mx.resolve(reference["writes"], "switch", point)
    label = f"error at switch/{point}, reload {after} writes into the rollback"
    page = tab.fresh(reference["local"], reference["app"])
    mx.install(page, "error", target, ERROR_NAME, then={"after": after})
    with page.expect_navigation(timeout=60_000):
        page.evaluate(mx.START_JS, BATCH)
    mx.wait_ready(page)
    before = page.evaluate("() => JSON.parse(sessionStorage.getItem('__mx'))")
    assert before["second"] == before["fired"]["n"] + after, before
    rec = mx.recovered(page)
    note = f"recover {rec['outcome'] if rec else 'none'}"
    outcome = settle_outcome(page, reference, scenario_log, "fault-matrix double-fault", label, note)
    if outcome == "original":
        assert mx.call(page, mx.RUN % BATCH)["success"] is True
        assert mx.classify(mx.state(page), reference["expected"], reference["original"]) == "migrated", label
        mx.assert_own_clean(page, "migrated", reference["quarantine"])


# ---------------------------------------------------------------------- several tabs


def open_tabs(tab, count: int, query: str) -> list:
    """Close the seeding tab and load the app in ``count`` new tabs at once."""
    context = tab.context
    tab.page.close()
    tab.page = None
    pages = [context.new_page() for _ in range(count)]
    for page in pages:
        page.set_default_timeout(60_000)
        page.goto(tab.url(query), wait_until="commit")
    for page in pages:
        mx.wait_ready(page)
    return pages


def successes(page) -> list[dict]:
    return [h for h in mx.call(page, "api.dataMigrationService.getHistory()") if h["success"] and h["runId"]]


def test_two_tabs_loading_at_once_migrate_exactly_once(tab, reference, scenario_log):
    tab.fresh(reference["local"], reference["app"])
    pages = open_tabs(tab, 2, "")  # both autostart
    for page in pages:
        assert page.evaluate(mx.WAIT_SETTLED_JS) is not None
    outcome = settle_outcome(pages[0], reference, scenario_log, "fault-matrix tabs", "two tabs")
    assert outcome == "migrated"
    assert len(successes(pages[1])) == 1
    logs = mx.call(pages[0], "api.migrationLogger.queryLogs({limit: 1000})")
    assert len([e for e in logs if e["message"] == "migration complete"]) == 1, "exactly one tab ran the migration"


def test_three_tabs_starting_runs_at_once_migrate_exactly_once(tab, reference, scenario_log):
    tab.fresh(reference["local"], reference["app"])
    pages = open_tabs(tab, 3, "?autostart=0")
    for page in pages:
        page.evaluate(mx.START_JS, BATCH)
    results = []
    for page in pages:
        page.wait_for_function("() => window.__runResult !== null")
        results.append(page.evaluate("() => window.__runResult"))
    ran = [r for r in results if r["ok"] and r["value"]["runId"]]
    others = [r for r in results if r not in ran]
    assert len(ran) == 1, results
    for r in others:
        # Refused while the first holds the lock, or nothing left to do once it finished.
        assert (not r["ok"] and r["name"] == "MigrationInProgress") or (r["ok"] and r["value"]["migrated"] == 0), r
    outcome = settle_outcome(pages[2], reference, scenario_log, "fault-matrix tabs", "three tabs")
    assert outcome == "migrated"


def test_tab_loading_during_a_run_leaves_it_alone_and_old_app_save_waits(tab, reference, scenario_log):
    """Tab A migrates slowly; tab B (the old app, same origin) loads mid-run and saves snippets through the layer."""
    page_a = tab.fresh(reference["local"], reference["app"])
    mx.install(page_a, "record")
    page_a.evaluate(
        """() => { window.__runResult = null;
        window.airprompts.dataMigrationService.runPendingMigrations({batchSize: 25, batchDelayMs: 700}).then(
          (r) => { window.__runResult = {ok: true, value: r}; }, (e) => { window.__runResult = {ok: false, name: e.name}; }); }"""
    )
    page_a.wait_for_function("() => window.__mx.phase === 'transform'")
    # Paused (holding the lock) while tab B loads, however slow the machine; it goes on once B saves.
    mx.call(page_a, "api.dataMigrationService.pauseMigration()")
    page_b = tab.context.new_page()
    page_b.set_default_timeout(60_000)
    page_b.goto(tab.url())  # autostart on: it must find the run of tab A and leave it alone
    mx.wait_ready(page_b)
    assert page_a.evaluate("() => window.__runResult") is None, "the run must still be going"
    assert mx.recovered(page_b) == {"resumed": None, "outcome": "locked"}
    saved = [
        {"id": "s9", "name": "Saved by the old app \U0001f4be", "content": "\u05e9\u05dc\u05d5\u05dd {x}", "folderId": None,
         "folderIds": [], "tags": ["old"], "createdAt": mx.TS, "updatedAt": mx.TS},
    ]  # fmt: skip
    page_b.evaluate(
        """(value) => { window.__saveResult = null; window.airprompts.compatibilityLayer.save('snippets', value).then(
            (r) => { window.__saveResult = {ok: true, value: r, migrated: window.__doneAt}; },
            (e) => { window.__saveResult = {ok: false, name: e.name, message: e.message}; }); }""",
        saved,
    )
    mx.call(page_a, "api.dataMigrationService.resumeMigration()")
    page_a.wait_for_function("() => window.__runResult !== null", timeout=90_000)
    run = page_a.evaluate("() => window.__runResult")
    assert run["ok"] and run["value"]["success"] and run["value"]["runId"], run
    page_b.wait_for_function("() => window.__saveResult !== null", timeout=90_000)
    save = page_b.evaluate("() => window.__saveResult")
    assert save["ok"] and save["value"]["saved"] == 1, save

    # Expected: the migration, then the save on top of it (CPython, same clock).
    _, _, storage = mx.reference(
        reference["local"], reference["app"], started_at=run["value"]["report"]["startedAt"], batch_size=25
    )
    expected_snippets = mx.compat_save(storage, "snippets", saved)
    now = mx.state(page_a)
    expected = (dict(reference["expected"][0]), reference["expected"][1])
    expected[0]["airprompts_snippets"] = expected_snippets
    outcome = mx.classify(now, expected, reference["original"])
    scenario_log("fault-matrix compat", outcome, "save waited for the run")
    assert outcome == "migrated", mx.diff(now, expected)
    assert json.loads(now[0]["airprompts_snippets"])[0]["content"] == saved[0]["content"]
    assert len(successes(page_b)) == 1
    assert mx.call(page_b, "api.compatibilityLayer.get('snippets')") == json.loads(expected_snippets)
    b_logs = mx.call(page_b, "api.migrationLogger.queryLogs({limit: 1000})")
    assert any("waits for the running migration" in e["message"] for e in b_logs)


# ---------------------------------------------------------------------- bad inputs at each version


@pytest.mark.parametrize("version", ["legacy", "1.0.0", "2.0.0"])
def test_bad_inputs_are_reported_quarantined_and_nothing_is_lost(tab, scenario_log, version):
    local, facts = mx.bad_input_store(version)
    page = tab.fresh(local, {})
    result = mx.call(page, mx.RUN % BATCH)
    now_local, now_app = mx.state(page)
    report = result["report"]
    lost: list[str] = []

    # Byte for byte what CPython makes of the same store.
    _, (ref_local, _), _ = mx.reference(local, {}, started_at=report["startedAt"], batch_size=BATCH)
    if now_local != ref_local:
        lost.append("differs from CPython: " + "; ".join(mx.diff((now_local, {}), (ref_local, {}))))

    # Invalid JSON and non-arrays: left byte-identical, reported, quarantined whole.
    quarantine = mx.call(page, "api.dataMigrationService.getQuarantine()")
    for kind, key in facts["invalid_collections"].items():
        if now_local.get(key) != local[key]:
            lost.append(f"{key} changed")
        source = f"airprompts_{kind}"
        if report["sources"][source]["status"] != "invalid-collection":
            lost.append(f"{source} not reported invalid")
        whole = [q for q in quarantine if q["kind"] == kind and q["index"] == -1]
        if len(whole) != 1 or local[key] not in (whole[0]["record"], _loads(whole[0]["record"])):
            lost.append(f"{key} not quarantined whole: {whole}")
        if version != "legacy" and now_local.get(key) != local[key]:
            lost.append(f"{key} rewritten")
    ui_key = "ui-prefs" if version == "legacy" else "airprompts_ui_preferences"
    if now_local.get(ui_key) != local[ui_key]:
        lost.append(f"{ui_key} changed")
    if version != "legacy" and report["values"].get("airprompts_ui_preferences") != "invalid-value":
        lost.append("invalid JSON in airprompts_ui_preferences not reported")
    for key in ("airprompts_todos", "airprompts_root_folder", "theme-storage"):
        if now_local.get(key) != local[key]:
            lost.append(f"{key} changed")
    if version == "legacy":
        for key in facts["keys"].values():  # legacy keys stay, read-only, for the dual-read period
            if now_local.get(key) != local[key]:
                lost.append(f"legacy {key} changed")

    # Every template is either in the output or in the quarantine, whole.
    inputs = facts["templates"]
    output = json.loads(now_local["airprompts_templates"])
    quarantined = sorted((q for q in quarantine if q["kind"] == "templates"), key=lambda q: q["index"])
    if len(output) + len(quarantined) != len(inputs) or len(quarantined) != facts["quarantined_templates"]:
        lost.append(f"{len(inputs)} templates in, {len(output)} out + {len(quarantined)} quarantined")
    for q in quarantined:
        if q["record"] != inputs[q["index"]] or not q["errors"]:
            lost.append(f"quarantined template {q['index']} is not the input record")
    by_id = {r["id"]: r for r in output}
    for item in inputs:
        if not isinstance(item, dict) or item.get("id") in ("t-wrong",):
            continue
        match = (
            by_id.get(str(item["id"]))
            if "id" in item
            else next((r for r in output if r["content"] == item["content"]), None)
        )
        if match is None or (match["content"], match["name"]) != (item["content"], item["name"]):
            if not (item.get("id") == "dup" and item["name"] == "Second dup"):
                lost.append(f"template {item.get('id')} missing or changed")
    if by_id.get("t-big", {}).get("content") != mx.BIG or by_id.get("t-rtl", {}).get("description") != mx.RTL:
        lost.append("a long or right-to-left string changed")
    if by_id.get("t-half", {}).get("content") != "cut \ud83d|\ude00 here":
        lost.append("a lone surrogate changed")
    if '"__proto__":{"polluted":true}' not in now_local["airprompts_templates"]:
        lost.append("the __proto__ field was dropped")
    if page.evaluate("() => ({}).polluted !== undefined || Object.prototype.hasOwnProperty('polluted')"):
        lost.append("Object.prototype was polluted")
    derived = [r for r in report["repairs"] if r["code"] == "missing-id"]
    if len(derived) != 1 or derived[0]["id"] not in by_id:
        lost.append(f"missing id not repaired and reported: {derived}")
    workflows = json.loads(now_local["airprompts_workflows"])
    if [w["id"] for w in workflows] != ["w-ok", "99"]:
        lost.append(f"workflows: {[w['id'] for w in workflows]}")
    codes = {
        (w["code"], w.get("message", "").split("'")[1] if "'" in w.get("message", "") else None)
        for w in report["warnings"]
    }
    for wanted in (("dangling-folder", "no-such-folder"), ("dangling-template", "missing-template")):
        if wanted not in codes:
            lost.append(f"dangling reference not reported: {wanted}")

    scenario_log("fault-matrix bad-input", "migrated" if not lost and result["success"] else "MIX", version)
    assert result["success"] is True
    assert result["quarantined"] == facts["quarantined_templates"] + 2
    assert not lost, lost


def _loads(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------- the old app writing directly

# A tab still running the 2.0.0 app writes localStorage itself (it knows nothing of the migration).
OLD_APP_EDIT = """() => { const t = JSON.parse(localStorage.getItem('airprompts_templates'));
  t[5].content = 'EDITED by the old app \\u270d'; localStorage.setItem('airprompts_templates', JSON.stringify(t)); }"""


def old_app_edit(tab) -> dict[str, str]:
    """Edit a template from another same-origin tab, as the old app does; return localStorage after the edit."""
    old = tab.context.new_page()
    old.goto(tab.base_url + mx.SEED_PATH)
    old.evaluate(OLD_APP_EDIT)
    local = old.evaluate(mx.LOCAL_JS)
    old.close()
    return local


def edit_outcome(page, edited_local, app, scenario_log, category) -> str:
    """Classify against the migration of the edited data and the edited original; record and return it."""
    history = [h for h in mx.call(page, "api.dataMigrationService.getHistory()") if h["success"] and h["runId"]]
    started = history[0]["startedAt"] if history else mx.TS
    _, expected, _ = mx.reference(edited_local, app, started_at=started, batch_size=BATCH)
    now = mx.state(page)
    outcome = mx.classify(now, expected, (edited_local, app))
    scenario_log(category, outcome)
    return outcome


def test_old_app_edit_while_a_run_is_interrupted_in_transform_is_migrated(tab, reference, scenario_log):
    """Closed mid-transform, the data edited meanwhile: the next load starts over and migrates the edit."""
    page = tab.fresh(reference["local"], reference["app"])
    mx.install(page, "close", mx.resolve(reference["writes"], "transform", "middle"))
    page.evaluate(mx.START_JS, BATCH)
    page.wait_for_function("() => window.__mx.fired !== null")
    edited = old_app_edit(tab)
    page = tab.new_page("")
    assert page.evaluate(mx.WAIT_SETTLED_JS) is not None
    assert mx.recovered(page)["outcome"] == "discarded"
    assert edit_outcome(page, edited, reference["app"], scenario_log, "fault-matrix changed-data") == "migrated"
    assert "EDITED by the old app" in mx.state(page)[0]["airprompts_templates"]


def test_old_app_edit_during_a_running_migration_is_not_lost(tab, reference, scenario_log):
    page = tab.fresh(reference["local"], reference["app"])
    mx.install(page, "record")
    page.evaluate(
        """() => { window.__runResult = null;
        window.airprompts.dataMigrationService.runPendingMigrations({batchSize: 25, batchDelayMs: 300}).then(
          (r) => { window.__runResult = {ok: true, value: r}; }, (e) => { window.__runResult = {ok: false, name: e.name}; }); }"""
    )
    page.wait_for_function("() => window.__mx.phase === 'transform'")
    edited = old_app_edit(tab)
    page.wait_for_function("() => window.__runResult !== null", timeout=90_000)
    outcome = edit_outcome(page, edited, reference["app"], scenario_log, "fault-matrix old-app direct write")
    assert "EDITED by the old app" in mx.state(page)[0]["airprompts_templates"], "the old app's edit was lost"
    assert outcome in ("migrated", "original")


def test_old_app_edit_while_the_switch_is_interrupted_is_not_lost(tab, reference, scenario_log):
    page = tab.fresh(reference["local"], reference["app"])
    mx.install(page, "close", mx.resolve(reference["writes"], "switch", "collections"))
    page.evaluate(mx.START_JS, BATCH)
    page.wait_for_function("() => window.__mx.fired !== null")
    edited = old_app_edit(tab)
    page = tab.new_page("")
    assert page.evaluate(mx.WAIT_SETTLED_JS) is not None
    outcome = edit_outcome(page, edited, reference["app"], scenario_log, "fault-matrix old-app direct write")
    assert "EDITED by the old app" in mx.state(page)[0]["airprompts_templates"], "the old app's edit was lost"
    assert outcome in ("migrated", "original")
