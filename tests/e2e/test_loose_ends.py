"""Loose ends in Chromium: browser errors in plain words, resuming from the journal, the pending flag,
a second tab watching a run, backups whose metadata is checked, and recovery corners.

One browser context serves the module; every test starts from a wiped origin (``mx.Tab``).
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e import matrix as mx

BATCH = 20
INTERNALS = ("DOMException", "thrown as an error", "String interpolation", "Pyodide", "Traceback", "JsException", "pyodide")


@pytest.fixture(scope="module")
def tab(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield mx.Tab(context, base_url)
    context.close()


def plain(text: str) -> bool:
    return bool(text) and not any(word in text for word in INTERNALS)


# ---------------------------------------------------------------------- browser errors

# Fill localStorage to its quota with non-app keys when the switch writes the collections: the
# browser's own setItem then throws its QuotaExceededError DOMException.
FILL_AT_SWITCH_JS = """(filler) => {
  globalThis.__airpromptsFault = (op, detail) => {
    if (op !== "local_write" || !detail.set.includes("airprompts_templates") || window.__filled) return;
    window.__filled = 0;
    for (let size = 1 << 20, n = 0; size >= 1; ) {
      try { localStorage.setItem(filler + n, "x".repeat(size)); n++; window.__filled += size; }
      catch (error) { size = Math.floor(size / 2); }
    }
  };
}"""


def test_quota_error_of_the_browser_reads_as_full_storage_in_the_api_and_the_console(tab):
    local, app = mx.matrix_seed(120)
    page = tab.fresh(local, app)
    page.evaluate(FILL_AT_SWITCH_JS, mx.FILLER)
    ended = mx.call_error(page, mx.RUN % BATCH)
    assert page.evaluate("() => window.__filled") > 0
    # Named for what the user must do (free space); rolled back, which the details and the message say.
    assert ended["name"] == "QuotaExceeded" and ended["isError"], ended
    assert ended["details"]["rolledBack"] is True and "your data is as it was before" in ended["message"], ended
    assert "Browser storage is full" in ended["message"] and plain(ended["message"]), ended["message"]
    history = mx.call(page, "api.dataMigrationService.getHistory()")
    assert history[0]["error"]["name"] == "QuotaExceeded", history[0]["error"]
    assert history[0]["error"]["message"].startswith("Browser storage is full: ")
    # What the console shows of the failed run.
    page.wait_for_selector("#run-result:not([hidden])")
    shown = page.inner_text("#run-result")
    assert "Browser storage is full" in shown and plain(shown), shown
    mx.remove_filler(page)
    assert mx.state(page) == (local, app), "the rolled-back run left the data changed"


def test_a_timeout_domexception_without_a_stack_is_retried_and_the_run_completes(tab):
    local, app = mx.matrix_seed(60)
    page = tab.fresh(local, app)
    # new DOMException() has no stack: Pyodide wraps it in an Error that only quotes it.
    page.evaluate(
        """() => { window.__thrown = 0; globalThis.__airpromptsFault = (op, detail) => {
          if (op === "own_write" && !window.__thrown && detail.some((d) => d[1] === "staging")) {
            window.__thrown = 1; throw new DOMException("The transaction timed out", "TimeoutError"); } }; }"""
    )
    result = mx.call(page, mx.RUN % BATCH)
    assert page.evaluate("() => window.__thrown") == 1
    assert result["success"] is True and result["migrated"] > 0
    _, expected, _ = mx.reference(local, app, started_at=result["report"]["startedAt"], batch_size=BATCH)
    assert mx.same_as_expected(mx.state(page), expected, (local, app))


def test_a_non_error_thrown_by_the_storage_is_named_by_its_domexception_name(tab):
    local, app = mx.matrix_seed(30)
    page = tab.fresh(local, app)
    page.evaluate(
        """() => { globalThis.__airpromptsFault = (op) => {
          if (op === "own_write") throw new DOMException("Quota exceeded for the database", "QuotaExceededError"); }; }"""
    )
    ended = mx.call_error(page, mx.RUN % BATCH)
    page.evaluate(mx.RESET_JS)
    assert ended["name"] == "QuotaExceeded" and ended["isError"], ended
    assert ended["message"].startswith("Browser storage is full: ") and plain(ended["message"]), ended
    assert mx.state(page) == (local, app)


# ---------------------------------------------------------------------- resuming from the journal

PROGRESS_INIT_JS = """window.__progress = [];
addEventListener("airprompts:progress", (event) => { if (!event.detail.remote) window.__progress.push(event.detail.processed); });"""

# Reload the page at the second staging transaction of the templates; keep what was staged by then.
RELOAD_AT_STAGING_JS = """() => { let n = 0, staged = 0;
  globalThis.__airpromptsFault = (op, detail) => {
    if (window.__gone) throw Object.assign(new Error("the page is reloading"), { name: "AbortError" });
    if (op !== "own_write" || !detail.some((d) => d[1] === "staging" && d[2].includes("/airprompts_templates/"))) return;
    if (++n === 2) {
      window.__gone = true;
      sessionStorage.setItem("__staged", String(staged));
      location.reload();
      throw Object.assign(new Error("the page is reloading"), { name: "AbortError" });
    }
    staged += detail.filter((d) => d[1] === "staging" && /^[^/]+\\/airprompts_templates\\/\\d+$/.test(d[2])).length;
  };
}"""


def reload_while_staging(tab, local, app, source: str, batch: int):
    """Start a progressive run, reload the page at the second staging write of ``source``; return the page and the batches staged."""
    page = tab.fresh(local, app)
    page.add_init_script(PROGRESS_INIT_JS)
    page.evaluate(RELOAD_AT_STAGING_JS.replace("airprompts_templates", source))
    with page.expect_navigation(timeout=60_000):
        page.evaluate(f"() => window.airprompts.dataMigrationService.startProgressiveMigration({{batchSize: {batch}}})")
    mx.wait_ready(page)
    staged_batches = int(page.evaluate("() => sessionStorage.getItem('__staged')"))
    assert staged_batches >= 10, staged_batches
    assert mx.recovered(page)["outcome"] == "completed"
    return page, staged_batches


def test_a_reload_in_the_middle_of_a_progressive_run_resumes_from_what_was_staged(tab):
    local, app = mx.matrix_seed(400)
    batch = 5
    page, staged_batches = reload_while_staging(tab, local, app, "airprompts_templates", batch)
    progress = page.evaluate("() => window.__progress")
    # The bar does not fall back: the first figure after the reload already counts the staged records.
    assert progress and progress[0] >= staged_batches * batch, (progress[:3], staged_batches)
    assert progress == sorted(progress)
    logs = mx.call(page, "api.migrationLogger.queryLogs({limit: 1000, text: 'resumed airprompts_templates'})")
    assert logs and logs[0]["context"]["batches"] == staged_batches, logs[:1]
    history = mx.call(page, "api.dataMigrationService.getHistory()")
    result, expected, _ = mx.reference(local, app, started_at=history[0]["startedAt"], batch_size=batch)
    now = mx.state(page)
    assert mx.same_as_expected(now, expected, (local, app)), mx.diff(now, expected)
    # No record was read twice: the report quarantines exactly what an unbroken run does.
    assert history[0]["report"]["quarantinedCount"] == result["report"]["quarantinedCount"]
    assert not mx.ids_unique(*now)
    assert mx.own(page, ("journal", "staging")) == {"journal": {}, "staging": {}}


def test_a_reload_in_the_middle_of_an_airpromptsdb_collection_resumes_from_its_position_in_the_record(tab):
    # The record's array is read batch by batch from the text the bridge read; after the
    # reload the run goes on from the last staged batch's position in the text read anew.
    local, app = mx.matrix_seed(400)
    templates = json.loads(local.pop("airprompts_templates"))
    app["templates"] = {"key": "templates", "value": templates, "timestamp": 5, "note": "gard\u00e9 ]} \U0001f4dd"}
    batch = 5
    page, staged_batches = reload_while_staging(tab, local, app, "AirPromptsDB:templates", batch)
    logs = mx.call(page, "api.migrationLogger.queryLogs({limit: 1000, text: 'resumed AirPromptsDB:templates'})")
    assert logs and logs[0]["context"]["batches"] == staged_batches, logs[:1]
    history = mx.call(page, "api.dataMigrationService.getHistory()")
    result, expected, _ = mx.reference(local, app, started_at=history[0]["startedAt"], batch_size=batch)
    now = mx.state(page)
    assert mx.same_as_expected(now, expected, (local, app)), mx.diff(now, expected)
    # No record was read twice: the report quarantines exactly what an unbroken run does.
    report = history[0]["report"]
    assert report["quarantinedCount"] == result["report"]["quarantinedCount"], report["quarantined"][:3]
    assert report["migrated"] == result["report"]["migrated"]
    record = now[1]["templates"]
    assert record["note"] == "gard\u00e9 ]} \U0001f4dd" and len(record["value"]) == 400
    assert len({t["id"] for t in record["value"]}) == 400
    assert mx.own(page, ("journal", "staging")) == {"journal": {}, "staging": {}}


# ---------------------------------------------------------------------- the loader's pending flag

HOST = "/examples/host-app.html"
FLAG = "airprompts_migrate_pending"
# Whether the loader started loading the migration app (Python, in the page or a worker).
LOADED_PYODIDE_JS = "async () => (await import('/static/js/loader.js')).isLoading()"


def test_the_pending_flag_makes_the_loader_finish_a_run_whose_version_already_reads_current(tab):
    local, app = mx.matrix_seed(40)
    page = tab.fresh(local, app)
    # The tab goes away (to the host app) just after the switch wrote 3.0.0, before the run's clean-up.
    mx.install(page, "reload", {"at": "event", "phase": "complete"}, reload_url=tab.base_url + HOST)
    with page.expect_navigation(timeout=60_000):
        page.evaluate(mx.START_JS, BATCH)
    page.wait_for_load_state()
    left = page.evaluate("() => localStorage.getItem('airprompts_schema_version')")
    assert left == '"3.0.0"', left  # the synchronous check alone would load no Python
    mx.wait_ready(page)  # the loader saw the flag and loaded the app
    assert page.evaluate(LOADED_PYODIDE_JS)
    rec = mx.recovered(page)
    assert rec and rec["outcome"] == "completed", rec
    assert page.evaluate(f"() => localStorage.getItem('{FLAG}')") is None
    assert mx.own(page, ("journal", "staging")) == {"journal": {}, "staging": {}}
    history = mx.call(page, "api.dataMigrationService.getHistory()")
    assert history[0]["success"] is True
    _, expected, _ = mx.reference(local, app, started_at=history[0]["startedAt"], batch_size=BATCH)
    assert mx.same_as_expected(mx.state(page), expected, (local, app))
    # And the flag is not left behind: a further visit to the host app loads no Python.
    page.goto(tab.base_url + HOST)
    page.wait_for_selector("html[data-host-state='direct']", state="attached")
    page.wait_for_timeout(500)
    assert not page.evaluate(LOADED_PYODIDE_JS)


def test_the_flag_is_set_while_the_journal_exists(tab):
    local, app = mx.matrix_seed(30)
    page = tab.fresh(local, app)
    page.evaluate(
        """() => { window.__flags = []; globalThis.__airpromptsFault = (op, detail) => {
          if (op === "own_write" && detail.some((d) => d[1] === "journal"))
            window.__flags.push(localStorage.getItem("airprompts_migrate_pending")); }; }"""
    )
    result = mx.call(page, mx.RUN % BATCH)
    flags = page.evaluate("() => window.__flags")
    assert flags and set(flags) == {result["runId"]}, flags
    assert page.evaluate(f"() => localStorage.getItem('{FLAG}')") is None


# ---------------------------------------------------------------------- backups in the console


def backup_row(page, text: str):
    return page.locator("#backups-body tr").filter(has_text=text)


def test_backup_metadata_is_checked_re_imports_are_recognised_and_verification_is_kept(tab, tmp_path, artifacts_dir):
    local, app = mx.matrix_seed(20)
    page = tab.fresh(local, app)
    result = mx.call(page, mx.RUN % BATCH)
    page.click("#backups-refresh")
    # The pre-migration backup shows the version it holds.
    pre = page.locator(f"#backups-body tr[data-backup-id='{result['backupId']}']")
    expect(pre).to_contain_text("1.0.0")
    description = "Avant l’été — “copie” 夏 🌞"
    meta = mx.call(page, "api.backupService.createFullBackup(arg)", description)
    page.click("#backups-refresh")
    row = backup_row(page, description)
    expect(row).to_contain_text("not checked")
    row.get_by_role("button", name=re.compile("^Verify")).click()
    expect(row).to_contain_text("✓ ok")
    # Reloaded, the console still shows the result.
    page.reload()
    mx.wait_ready(page)
    expect(backup_row(page, description)).to_contain_text("✓ ok")
    page.locator("#backups-panel").screenshot(path=str(artifacts_dir / "loose-ends-backups-verified.png"))

    exported = mx.call(page, "api.backupService.exportBackup(arg)", meta["id"])
    good = tmp_path / "backup.json"
    good.write_text(exported, encoding="utf-8")
    # The same file again: recognised, no second backup.
    page.get_by_label("Backup file").set_input_files(str(good))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#notice")).to_contain_text("already stored")
    expect(backup_row(page, description)).to_have_count(1)
    # An edited description, version or date: refused.
    for field, value in (("description", "edited by hand"), ("schemaVersion", "9.9.9"), ("createdAt", "1970-01-01T00:00:00.000Z")):
        envelope = json.loads(exported)
        envelope["meta"][field] = value
        edited = tmp_path / f"edited-{field}.json"
        edited.write_text(json.dumps(envelope, ensure_ascii=False), encoding="utf-8")
        page.get_by_label("Backup file").set_input_files(str(edited))
        page.get_by_role("button", name="Import").click()
        expect(page.locator("#notice")).to_contain_text("BackupCorrupted")
        expect(page.locator("#notice")).to_contain_text("metadata")
        page.click("#notice-close")
    listed = mx.call(page, "api.backupService.listBackups()")
    assert len(listed) == 2, [b["description"] for b in listed]


# ---------------------------------------------------------------------- a second tab


def test_a_second_tab_shows_the_run_of_the_first_and_offers_no_start(tab, artifacts_dir):
    local, app = mx.matrix_seed(200)
    page_a = tab.fresh(local, app)
    # Tab A's run holds the lock, paused, while tab B loads (however slow the machine).
    mx.call(page_a, "api.dataMigrationService.startProgressiveMigration({batchSize: 5, batchDelayMs: 150})")
    page_a.wait_for_function("() => document.getElementById('run-phase').textContent === 'transform'")
    mx.call(page_a, "api.dataMigrationService.pauseMigration()")
    page_b = tab.context.new_page()
    page_b.set_default_timeout(60_000)
    page_b.goto(tab.base_url + "/")  # autostart on: it finds tab A's run and leaves it alone
    mx.wait_ready(page_b)
    expect(page_b.locator("#run-state")).to_have_text("Running in another tab")
    for button in ("#run-start", "#run-pause", "#run-resume", "#dry-run"):
        expect(page_b.locator(button)).to_be_disabled()
    # Tab A goes on: tab B shows its progress as tab A reports it.
    mx.call(page_a, "api.dataMigrationService.resumeMigration()")
    page_b.wait_for_function("() => parseFloat(document.getElementById('run-percent').textContent) > 0")
    first = float(page_b.inner_text("#run-percent").replace("%", ""))
    page_b.wait_for_function(
        "(first) => parseFloat(document.getElementById('run-percent').textContent) > first", arg=first
    )
    assert "of 2" in page_b.inner_text("#run-processed")  # "… of 2xx" records, not "0 of 0"
    expect(page_b.locator("#run-start")).to_be_disabled()
    page_b.locator("#run-panel").screenshot(path=str(artifacts_dir / "loose-ends-second-tab-running.png"))
    # Tab A finishes: tab B shows the outcome.
    page_a.wait_for_function("() => document.getElementById('run-state').textContent === 'Finished'", timeout=120_000)
    expect(page_b.locator("#run-result")).to_be_visible()
    expect(page_b.locator("#run-result-title")).to_contain_text("Migration complete")
    expect(page_b.locator("#status-needed")).to_have_text("not needed")
    page_b.locator("#run-panel").screenshot(path=str(artifacts_dir / "loose-ends-second-tab-done.png"))
    logs = mx.call(page_a, "api.migrationLogger.queryLogs({limit: 1000})")
    assert len([e for e in logs if e["message"] == "migration complete"]) == 1
    page_b.close()
