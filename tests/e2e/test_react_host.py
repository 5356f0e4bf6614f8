"""The React host example: useMigration() and useCompatibleStorage() in Chromium, with React from the host."""

from __future__ import annotations

import json

from tests.worked_example import INPUT as WORKED_INPUT
from tests.worked_example import OUTPUT as WORKED_OUTPUT

PAGE = "/examples/react-host.html"
NAMES = ["Résumé “court”", "要約する", "ملخص", "Brief 🎉", "Zoë’s draft"]


def v1_records(count: int) -> list[dict]:
    """1.0.0 templates as users have them: non-ASCII names, CRLF content, mixed sizes."""
    return [
        dict(
            WORKED_INPUT,
            id=1000 + i,
            name=f"{NAMES[i % len(NAMES)]} {i}",
            content=("Ligne\r\n{text} — " * (1 + i % 7)),
            created_at=f"2024-03-{1 + i % 28:02d}T10:00:00.000Z",
        )
        for i in range(count)
    ]


def status(app) -> str:
    return app.page.get_attribute("#migration", "data-status")


def test_react_host_follows_pauses_and_finishes_a_migration(app, artifacts_dir):
    records = [WORKED_INPUT, *v1_records(799)]
    app.seed({"airprompts_templates": json.dumps(records, ensure_ascii=False), "airprompts_schema_version": '"1.0.0"'})
    app.page.goto(app.base_url + PAGE)
    app.page.wait_for_selector("#migration[data-status='idle']", timeout=app.config.READY_TIMEOUT_MS)
    assert app.page.get_attribute("#migration", "data-needs") == "true"
    assert app.page.inner_text("#migration-status") == "Your data needs an update to the current format."
    # Before the run, the compatibility layer already lists the 3.0.0 shape (writing nothing).
    app.page.wait_for_selector("#templates[data-count='800']")
    assert app.page.inner_text("#templates li:first-child .name") == "Summary"
    assert json.loads(app.local()["airprompts_templates"]) == records
    # React came from the host page, not from the migration's modules.
    assert not any("/node_modules/" in url for url in app.requests)
    assert any(url.endswith("/static/vendor/react/react.production.min.js") for url in app.requests)

    app.page.evaluate(
        """() => { window.__seen = []; new MutationObserver(() => {
            const el = document.getElementById('migration-progress'); if (el) window.__seen.push(el.textContent);
          }).observe(document.getElementById('root'), {subtree: true, childList: true, characterData: true}); }"""
    )
    app.page.click("#start")
    app.page.wait_for_selector("#migration[data-status='running'] #pause")
    app.page.wait_for_function("() => window.__seen.some((t) => !t.startsWith('0 of'))")
    app.page.click("#pause")
    app.page.wait_for_selector("#migration[data-status='paused'] #resume")
    paused = app.call("api.dataMigrationService.getMigrationProgress()")
    assert paused["paused"] is True and 0 < paused["processed"] < 800
    app.page.screenshot(path=str(artifacts_dir / "react-host-paused.png"), full_page=False)
    app.page.click("#resume")
    app.page.wait_for_selector("#migration[data-status='complete']", timeout=app.config.READY_TIMEOUT_MS)
    assert app.page.get_attribute("#migration", "data-needs") == "false"
    app.page.locator("#migration").screenshot(path=str(artifacts_dir / "react-host-banner-complete.png"))
    result_text = app.page.inner_text("#migration-result")
    assert result_text.startswith("800 records updated, 0 set aside, backup bk-")
    seen = app.page.evaluate("() => window.__seen")
    assert any(text.endswith("of 800 records (100%)") or " of 800 " in text for text in seen)

    stored = json.loads(app.local()["airprompts_templates"])
    assert stored[0] == WORKED_OUTPUT and len(stored) == 800
    assert stored[5]["name"] == records[5]["name"] and stored[5]["content"] == records[5]["content"]

    # Save through useCompatibleStorage: the new template lands in its 3.0.0 shape beside the others.
    app.page.wait_for_selector("#templates[data-count='800']")
    app.page.fill("#new-name", "Nouveau “modèle” 新しい 🚀")
    app.page.fill("#new-content", "Première ligne\nDeuxième — {sujet}")
    app.page.click("#add")
    app.page.wait_for_selector("#templates[data-count='801']")
    assert app.page.inner_text("#save-result") == "Saved 801 templates to airprompts_templates"
    stored = json.loads(app.local()["airprompts_templates"])
    added = stored[-1]
    assert added["name"] == "Nouveau “modèle” 新しい 🚀" and added["content"] == "Première ligne\nDeuxième — {sujet}"
    assert added["contextEnabled"] is False and added["folderIds"] == [] and added["metadata"]["schemaVersion"] == "3.0.0"
    assert stored[:800] == json.loads(json.dumps(stored[:800]))  # the others are still there, unchanged in count
    assert [t["id"] for t in stored[:800]] == [str(r["id"]) for r in records]
    app.page.screenshot(path=str(artifacts_dir / "react-host-complete.png"), full_page=False)
    assert app.console_errors == []


def test_react_host_on_current_data_is_up_to_date_at_once(app):
    current = [dict(WORKED_OUTPUT, id="a", name="Déjà à jour ✓")]
    app.seed({"airprompts_schema_version": '"3.0.0"', "airprompts_templates": json.dumps(current, ensure_ascii=False)})
    app.requests.clear()
    app.page.goto(app.base_url + PAGE)
    app.page.wait_for_selector("#migration[data-status='not-needed']")
    assert app.page.inner_text("#migration-status") == "Your data is up to date."
    assert app.page.query_selector("#start") is None
    # The banner needed no Python; reading the templates is an API call, which loads it.
    app.page.wait_for_selector("#templates[data-count='1']", timeout=app.config.READY_TIMEOUT_MS)
    assert app.page.inner_text("#templates .name") == "Déjà à jour ✓"
    assert status(app) == "not-needed"


def test_a_run_started_elsewhere_shows_in_the_hook(app):
    records = v1_records(300)
    app.seed({"airprompts_templates": json.dumps(records, ensure_ascii=False), "airprompts_schema_version": '"1.0.0"'})
    app.page.goto(app.base_url + PAGE)
    app.page.wait_for_selector("#migration[data-status='idle'] #start", timeout=app.config.READY_TIMEOUT_MS)
    # Started by someone else (the API directly, as another component would): the banner follows its events.
    app.call("api.dataMigrationService.startProgressiveMigration({batchSize: 10})")
    app.page.wait_for_selector("#migration[data-status='complete']", timeout=app.config.READY_TIMEOUT_MS)
    assert app.page.inner_text("#migration-result").startswith("300 records updated, 0 set aside")
    assert app.page.query_selector("#start") is None
    assert [t["id"] for t in json.loads(app.local()["airprompts_templates"])] == [str(r["id"]) for r in records]
