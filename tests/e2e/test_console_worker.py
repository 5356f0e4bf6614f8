"""The console page runs its Python in the engine's Worker, as host pages do: its realm never loads Pyodide.

Its UI is Python's too (app/ui/console.py), drawn through a remote DOM
(app/ui/dom.py, static/js/console.js). A second tab watching another tab's run
notices when that tab closes mid-run and recovers the run from the journal.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import matrix as mx
from tests.e2e.test_worker import (
    COUNT_WASM_JS,
    TICKS_JS,
    WORKER_SCRIPT,
    assert_no_python_in_realm,
    multilingual_store,
    multilingual_text,
)


def test_the_console_realm_never_loads_pyodide_and_a_run_leaves_its_timers_ticking(app):
    local = multilingual_store(800)
    app.seed(local)
    page = app.page
    page.add_init_script(COUNT_WASM_JS)
    app.requests.clear()
    app.console_errors.clear()
    app.open("?autostart=0")
    expect(page.locator("#console")).to_have_attribute("data-state", "ready")
    assert_no_python_in_realm(page)
    assert any(worker.url.endswith(WORKER_SCRIPT) for worker in page.workers)
    assert any("/static/vendor/pyodide/pyodide.asm.wasm" in u for u in app.requests)
    assert not any("/static/vendor/pyscript/" in u for u in app.requests)
    expect(page.locator("#status-current")).to_have_text("1.0.0")

    # One batch for the whole store: on the page's thread it would be one long task with no timer in between.
    page.evaluate(TICKS_JS)
    page.get_by_text("Advanced").click()
    page.get_by_label("Batch size (records)").fill("100000")
    page.get_by_role("button", name="Start migration").click()
    outcome = page.locator("#run-result")
    expect(outcome).to_have_attribute("data-outcome", "success", timeout=app.config.ACTION_TIMEOUT_MS)
    expect(outcome).to_contain_text("Migration complete: 1.0.0 → 3.0.0")
    ticks = page.evaluate("() => window.__ticks")
    transform, done = ticks["atPhase"]["transform"], ticks["atPhase"]["complete"]
    assert done[0] - transform[0] >= 5, f"the page's timers stalled during the run: {ticks}"
    assert ticks["frames"] >= 2, ticks
    stored = app.json_local("airprompts_templates")
    assert len(stored) == 800 and stored[7]["content"] == multilingual_text(7)
    assert "\r\n" in stored[3]["content"] and stored[3]["metadata"]["schemaVersion"] == "3.0.0"
    expect(page.locator("#status-current")).to_have_text("3.0.0")
    # The page's controls still answer, drawn by Python in the worker.
    page.get_by_role("button", name="Refresh").first.click()
    expect(page.locator("#status-needed")).to_have_text("not needed")
    assert [e for e in app.console_errors if "[airprompts]" not in e] == []


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def test_a_second_tab_recovers_the_run_when_the_first_tab_closes_mid_run(context, base_url, artifacts_dir):
    tab = mx.Tab(context, base_url)
    local, app = mx.matrix_seed(200)
    page_a = tab.fresh(local, app)
    # Tab A's run holds the lock with its journal written, paused mid-transform (however slow the machine).
    mx.call(page_a, "api.dataMigrationService.startProgressiveMigration({batchSize: 5, batchDelayMs: 150})")
    page_a.wait_for_function("() => document.getElementById('run-phase').textContent === 'transform'")
    mx.call(page_a, "api.dataMigrationService.pauseMigration()")
    page_b = context.new_page()
    page_b.set_default_timeout(60_000)
    page_b.goto(base_url + "/?autostart=0")
    mx.wait_ready(page_b)
    expect(page_b.locator("#run-state")).to_have_text("Running in another tab")
    expect(page_b.locator("#run-start")).to_be_disabled()
    assert mx.own(page_b, ("journal",))["journal"], "tab A's run has a journal"

    page_a.close()  # mid-run: its worker goes, and its Web Lock with it
    expect(page_b.locator("#run-state")).not_to_have_text("Running in another tab", timeout=120_000)
    expect(page_b.locator("#notice")).to_contain_text("closed before the end", timeout=60_000)
    expect(page_b.locator("#status-needed")).to_have_text("not needed")
    expect(page_b.locator("#run-start")).to_be_enabled()
    page_b.locator("#run-panel").screenshot(path=str(artifacts_dir / "second-tab-recovered.png"))
    history = mx.call(page_b, "api.dataMigrationService.getHistory()")
    assert history and history[0]["success"] is True, history[:1]
    _, expected, _ = mx.reference(local, app, started_at=history[0]["startedAt"], batch_size=5)
    now = mx.state(page_b)
    assert mx.classify(now, expected, (local, app)) == "migrated", mx.diff(now, expected)
    assert not mx.ids_unique(*now)
    assert mx.own(page_b, ("journal", "staging")) == {"journal": {}, "staging": {}}
