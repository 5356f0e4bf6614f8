"""Loose ends in Chromium: browser errors in plain words, resuming from the journal, the pending flag,
a second tab watching a run, backups whose metadata is checked, and recovery corners.

One browser context serves the module; every test starts from a wiped origin (``mx.Tab``).
"""

from __future__ import annotations

import pytest

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
    assert ended["name"] == "RolledBack" and ended["isError"], ended
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
