"""The migration console, driven from the page alone in Chromium: what a person sees and does.

Each test seeds a clean origin, opens ``/?autostart=0`` and uses only the page's
controls; stored data is read back to check what the page says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "airprompts"
if not FIXTURES.is_dir():  # the repository may sit elsewhere than next to shared/
    FIXTURES = Path("/work/shared/fixtures/airprompts")
PANELS = ("status-panel", "run-panel", "backups-panel", "logs-panel", "history-panel", "performance-panel")
XSS_NAME = "<img src=x onerror=window.__pwned=1>"
GENERATED = 3000


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def v1_template(i: int, **extra) -> dict:
    """Return a 1.0.0 template as the app stored it (snake_case, numeric ids)."""
    return {
        "id": 1_700_000_000_000 + i,
        "name": f"Generated template {i}",
        "content": f"Summarise {{text}} in {i % 7 + 1} points.\n  Keep: {i}",
        "folder_id": ["writing", "development", "projects"][i % 3],
        "is_favorite": i % 5 == 0,
        "created_at": "2024-03-01T10:00:00.000Z",
        "updated_at": "2024-03-02T10:00:00.000Z",
        "variables": ["text"],
        **extra,
    }


def seed_v1(app, templates: list[dict]) -> dict[str, str]:
    """Seed a 1.0.0 store with the app's default folders and snippets and ``templates``; return what was stored."""
    local = {
        "airprompts_schema_version": '"1.0.0"',
        "airprompts_templates": json.dumps(templates, ensure_ascii=False),
        "airprompts_folders": json.dumps(fixture("defaultFolders.json")),
        "airprompts_snippets": json.dumps(fixture("defaultSnippets.json")),
        "airprompts_workflows": json.dumps(fixture("defaultWorkflows.json")),
        "airprompts_theme_preference": '"dark"',
        "airprompts_todos": '[{"id":"t1","text":"keep me"}]',
    }
    app.seed(local)
    return local


def open_console(app) -> None:
    app.console_errors.clear()  # the seed page (a CSS file) asks for a favicon that is not there
    app.open("?autostart=0")
    expect(app.page.locator("#console")).to_have_attribute("data-state", "ready")


def no_horizontal_overflow(page) -> None:
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"the page scrolls sideways: scrollWidth {scroll} > innerWidth {inner}"


def no_overlap(page, panel_id: str) -> None:
    """Assert that no two controls or cells of a panel overlap each other."""
    overlaps = page.evaluate(
        """(id) => {
            const panel = document.getElementById(id);
            const nodes = [...panel.querySelectorAll('button, input, select, summary, progress, output, dt, dd, th, td, h2, h3, li, code')]
              .filter((n) => n.getClientRects().length && !n.closest('[hidden]'))
              // Chromium keeps boxes for the content of a closed <details>; it is not shown.
              .filter((n) => n.tagName === 'SUMMARY' || !n.closest('details:not([open])'));
            const boxes = nodes.map((n) => [n, n.getBoundingClientRect()]);
            const hits = [];
            for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
              const [a, ra] = boxes[i], [b, rb] = boxes[j];
              if (a.contains(b) || b.contains(a)) continue;
              const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
              const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
              if (w > 1 && h > 1) hits.push(`${a.tagName}#${a.id}.${a.className} "${a.textContent.slice(0, 20)}" ${JSON.stringify(ra)} / ${b.tagName}#${b.id}.${b.className} "${b.textContent.slice(0, 20)}" ${JSON.stringify(rb)}`);
            }
            return hits.slice(0, 5);
        }""",
        panel_id,
    )
    assert overlaps == [], f"{panel_id}: overlapping elements {overlaps}"


def screenshots(page, artifacts_dir: Path, label: str) -> None:
    """Save each panel (and the whole page) at the current viewport; check nothing overflows or overlaps."""
    folder = artifacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    suffix = f"{size['width']}x{size['height']}"
    no_horizontal_overflow(page)
    for panel_id in PANELS:
        panel = page.locator(f"#{panel_id}")
        panel.scroll_into_view_if_needed()
        box = panel.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5, (panel_id, box)
        no_overlap(page, panel_id)
        panel.screenshot(path=str(folder / f"{label}-{panel_id}-{suffix}.png"))
    page.screenshot(path=str(folder / f"{label}-page-{suffix}.png"), full_page=True)


def watch_progress(page) -> None:
    """Record every value the progress text shows, as a person would see it change."""
    page.evaluate(
        """() => {
            window.__seenPercent = [];
            const out = document.getElementById('run-percent');
            new MutationObserver(() => window.__seenPercent.push(out.textContent))
              .observe(out, {childList: true, characterData: true, subtree: true});
        }"""
    )


def percent_of(text: str) -> float:
    return float(text.replace("%", "").strip())


def backup_row(page, text: str):
    return page.locator("#backups-body tr").filter(has_text=text)


def test_a_whole_run_driven_from_the_page(app, artifacts_dir):
    page = app.page
    templates = fixture("defaultTemplates.json") + [v1_template(i) for i in range(GENERATED)]
    seeded = seed_v1(app, templates)
    open_console(app)
    assert app.console_errors == []

    # Status: versions, counts per collection, the plan.
    expect(page.locator("#status-current")).to_have_text("1.0.0")
    expect(page.locator("#status-target")).to_have_text("3.0.0")
    expect(page.locator("#status-needed")).to_have_text("needed")
    templates_row = page.locator("#counts-body tr").filter(has_text="templates")
    expect(templates_row).to_contain_text(f"{len(templates):,}")
    expect(page.locator("#counts-body tr").filter(has_text="folders")).to_contain_text(
        str(len(fixture("defaultFolders.json")))
    )
    expect(page.locator("#plan-steps li")).to_have_text(["1.0.0 → 2.0.0", "2.0.0 → 3.0.0"])
    expect(page.locator("#legacy-keys")).to_contain_text("None.")

    # Dry run: what would change, nothing written.
    page.get_by_role("button", name="Dry run").click()
    result = page.locator("#dry-run-result")
    expect(result).to_be_visible()
    summary = page.locator("#dry-run-summary")
    expect(summary).to_contain_text("Would migrate")
    expect(summary.locator("div").filter(has_text="Would migrate").locator("dd")).to_have_text(
        f"{len(templates) + len(fixture('defaultFolders.json')) + len(fixture('defaultSnippets.json')):,}"
    )
    expect(page.locator("#dry-run-sample")).to_contain_text(f"Generated template {GENERATED - 1}")
    expect(page.locator("#dry-run-sample")).to_contain_text("Template Builder")
    expect(page.locator("#dry-run-sample")).to_contain_text("adds")
    expect(page.locator("#dry-run-counts")).to_contain_text("1.0.0")
    assert app.local() == seeded

    # Start with small batches and a delay, so the progress can be watched.
    page.get_by_text("Advanced").click()
    page.get_by_label("Batch size (records)").fill("100")
    page.get_by_label("Pause between batches (ms)").fill("60")
    watch_progress(page)
    page.get_by_role("button", name="Start migration").click()
    expect(page.locator("#run-state")).to_have_text(re.compile("Running|Starting"))
    expect(page.get_by_role("button", name="Start migration")).to_be_disabled()

    # Pause once the bar has moved, check that it holds, then resume.
    page.wait_for_function(
        "() => { const v = parseFloat(document.getElementById('run-percent').textContent); return v >= 20 && v < 80; }"
    )
    expect(page.locator("#run-throughput")).not_to_have_text("—")
    expect(page.locator("#run-eta")).not_to_have_text("—")
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#run-state")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Resume")).to_be_enabled()
    page.wait_for_function("() => window.airprompts.dataMigrationService.getMigrationProgress().then((p) => p.paused)")
    held = page.locator("#run-processed").text_content()
    page.wait_for_timeout(400)  # long enough for several batches had the run not paused
    assert page.locator("#run-processed").text_content() == held
    page.get_by_role("button", name="Resume").click()

    outcome = page.locator("#run-result")
    expect(outcome).to_have_attribute("data-outcome", "success", timeout=app.config.ACTION_TIMEOUT_MS)
    expect(outcome).to_contain_text("Migration complete: 1.0.0 → 3.0.0")
    expect(outcome).to_contain_text("What to do next")
    expect(page.locator("#run-percent")).to_have_text("100.0 %")
    seen = [percent_of(t) for t in page.evaluate("() => window.__seenPercent")]
    moving = sorted({p for p in seen if 0 < p < 100})
    assert len(moving) >= 3, f"the progress bar showed only {moving}"
    assert page.evaluate("() => document.getElementById('run-progress').value") == 100
    assert app.local()["airprompts_schema_version"] == '"3.0.0"'
    stored = app.json_local("airprompts_templates")
    assert len(stored) == len(templates) and stored[-1]["name"] == f"Generated template {GENERATED - 1}"

    # Status now says 3.0.0; history lists the run; performance shows the batches.
    expect(page.locator("#status-current")).to_have_text("3.0.0")
    expect(page.locator("#status-needed")).to_have_text("not needed")
    expect(page.locator("#history-body tr").first).to_contain_text("success")
    expect(page.locator("#history-body tr").first).to_contain_text("1.0.0 → 3.0.0")
    page.locator("#performance-refresh").click()
    batches = page.locator("#performance-facts div").filter(has_text="Batches").locator("dd")
    assert int(batches.text_content().replace(",", "")) >= len(templates) // 100
    expect(page.locator("#performance-chart svg polyline[data-series='durations']")).to_have_count(1)
    expect(page.locator("#performance-chart svg polyline[data-series='rates']")).to_have_count(1)
    expect(page.locator("#phases-body")).to_contain_text("transform")

    # Backups: the pre-migration backup is listed; verify it; restore it (with confirmation).
    pre = backup_row(page, "pre-migration")
    expect(pre).to_have_count(1)
    expect(pre).to_contain_text("1.0.0")
    pre.locator("td").first.click()  # a click beside the buttons does nothing
    pre.get_by_role("button", name=re.compile("^Verify")).click()
    expect(pre).to_contain_text("✓ ok")
    pre.get_by_role("button", name=re.compile("^Restore")).click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Keys that will be restored")
    expect(dialog.locator("#confirm-details")).to_contain_text("airprompts_templates")
    expect(dialog.locator("#confirm-details")).to_contain_text("airprompts_todos")
    expect(page.get_by_label("Passphrase of this backup")).to_be_hidden()  # not encrypted
    screenshots_dir = artifacts_dir / "screenshots"
    screenshots_dir.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots_dir / "restore-dialog-1280x800.png"))
    dialog.get_by_role("button", name="Restore").click()
    expect(page.locator("#notice")).to_contain_text("Restored backup")
    expect(page.locator("#status-current")).to_have_text("1.0.0")
    assert app.local() == seeded
    # The restore made a safety backup of the migrated data first.
    expect(backup_row(page, "safety")).to_have_count(1)

    # Logs: filter by level and by text, then export both formats.
    logs = page.locator("#logs-body tr")
    expect(logs.first).to_be_visible()
    page.get_by_label("Minimum level").select_option("WARN")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#logs-count")).to_contain_text("level WARN and above")
    levels = page.locator("#logs-body tr[data-level]").evaluate_all("(rows) => rows.map((r) => r.dataset.level)")
    assert set(levels) <= {"WARN", "ERROR", "CRITICAL"}
    page.get_by_label("Minimum level").select_option("")
    page.get_by_label("Text").fill("migration complete")
    page.get_by_role("button", name="Filter").click()
    expect(logs.first).to_contain_text("migration complete")
    messages = page.locator("#logs-body tr .message").all_text_contents()
    assert messages and all("migration complete" in m.lower() for m in messages)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download JSON").click()
    exported = json.loads(Path(info.value.path()).read_text())
    assert exported and all("migration complete" in e["message"].lower() for e in exported)
    assert info.value.suggested_filename.endswith(".json")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    rows = Path(info.value.path()).read_text().splitlines()
    assert rows[0].startswith("time,level,message") and len(rows) >= 2
    page.get_by_label("Text").fill("")
    page.get_by_role("button", name="Filter").click()

    assert page.evaluate("() => window.__pwned") is None
    screenshots(page, artifacts_dir, "run")
    page.set_viewport_size(app.config.MOBILE_VIEWPORT)
    page.wait_for_timeout(100)
    screenshots(page, artifacts_dir, "run")
    pre.get_by_role("button", name=re.compile("^Delete")).click()
    expect(dialog).to_be_visible()
    no_horizontal_overflow(page)
    page.screenshot(path=str(screenshots_dir / "delete-dialog-390x844.png"))
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(pre).to_have_count(1)
    assert [e for e in app.console_errors if "[airprompts]" not in e] == []


def test_user_data_is_shown_as_text_never_as_html(app, artifacts_dir):
    page = app.page
    evil = v1_template(1, name=XSS_NAME)
    # A duplicate id cannot be made valid: that copy is quarantined, name and all.
    duplicate = dict(evil, content="second copy")
    seed_v1(app, [evil, v1_template(2), duplicate])
    open_console(app)
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#dry-run-sample")).to_contain_text(XSS_NAME)
    expect(page.locator("#dry-run-details")).to_contain_text("Records that would be quarantined")
    page.get_by_role("button", name="Start migration").click()
    expect(page.locator("#run-result")).to_have_attribute("data-outcome", "success")
    expect(page.locator("#quarantine-list")).to_contain_text(XSS_NAME)
    expect(page.locator("#history-body tr").first).to_contain_text("success")
    # The name is text on the page, and no element was made from it.
    assert page.locator("#console").get_by_text(XSS_NAME, exact=True).count() >= 1
    assert page.locator("#console img").count() == 0
    page.locator("#quarantine-list details summary").first.click()
    expect(page.locator("#quarantine-list pre").first).to_contain_text(XSS_NAME)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download quarantine (JSON)").click()
    quarantined = json.loads(Path(info.value.path()).read_text())
    assert [q["record"]["name"] for q in quarantined] == [XSS_NAME]
    assert quarantined[0]["errors"]
    page.get_by_label("Text").fill("onerror")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__pwned") is None
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    folder = artifacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.locator("#history-panel").screenshot(path=str(folder / "xss-history-panel-1280x800.png"))


def test_backups_encrypted_create_verify_export_import_delete(app, artifacts_dir, tmp_path):
    page = app.page
    seed_v1(app, [v1_template(i) for i in range(5)])
    open_console(app)
    expect(page.locator("#backups-body")).to_contain_text("No backup yet")

    page.get_by_label("Description").fill("before <b>holiday</b>")
    page.get_by_label("Passphrase (optional, encrypts the backup)").fill("correct horse")
    page.get_by_role("button", name="Create backup").click()
    row = backup_row(page, "before <b>holiday</b>")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("yes")  # encrypted
    expect(row).to_contain_text("not checked")
    expect(page.get_by_label("Passphrase (optional, encrypts the backup)")).to_have_value("")

    # Verify asks for the passphrase in the page's own dialog; a wrong one fails visibly.
    row.get_by_role("button", name=re.compile("^Verify")).click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    page.get_by_label("Passphrase of this backup").fill("wrong")
    dialog.get_by_role("button", name="Verify").click()
    expect(page.locator("#notice")).to_contain_text(re.compile("WrongPassphrase|failed verification"))
    row.get_by_role("button", name=re.compile("^Verify")).click()
    page.get_by_label("Passphrase of this backup").fill("correct horse")
    dialog.get_by_role("button", name="Verify").click()
    expect(row).to_contain_text("✓ ok")

    # Export to a file, delete, import the file back.
    with page.expect_download() as info:
        row.get_by_role("button", name=re.compile("^Export")).click()
    exported = tmp_path / info.value.suggested_filename
    info.value.save_as(exported)
    assert json.loads(exported.read_text())["format"] == "airprompts-migrate-backup"
    row.get_by_role("button", name=re.compile("^Delete")).click()
    expect(dialog).to_contain_text("deleted for good")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#backups-body")).to_contain_text("No backup yet")
    page.get_by_label("Backup file").set_input_files(str(exported))
    page.get_by_role("button", name="Import").click()
    imported = backup_row(page, "before <b>holiday</b>")
    expect(imported).to_contain_text("imported")
    expect(page.locator("#backups-body b")).to_have_count(0)
    # Restoring an encrypted backup asks for its passphrase; Escape cancels without a change.
    imported.get_by_role("button", name=re.compile("^Restore")).click()
    expect(page.get_by_label("Passphrase of this backup")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#notice")).not_to_contain_text("Restored")


def test_a_failed_run_says_what_happened_and_what_to_do(app, artifacts_dir):
    page = app.page
    seeded = seed_v1(app, [v1_template(i) for i in range(20)])
    open_console(app)
    # The first write of the new data to localStorage (the switch) fails as a full disk would; the
    # service's own pending flag (airprompts_migrate_pending, written before the journal) is not data.
    page.evaluate(
        """() => { let calls = 0; globalThis.__airpromptsFault = (op, detail) => {
            const keys = [...((detail && detail.set) || []), ...((detail && detail.remove) || [])];
            if (op !== 'local_write' || keys.includes('airprompts_migrate_pending')) return;
            if (calls++ === 0) { const e = new Error('injected: disk full'); e.name = 'QuotaExceededError'; throw e; }
        }; }"""
    )
    page.get_by_role("button", name="Start migration").click()
    outcome = page.locator("#run-result")
    expect(outcome).to_have_attribute("data-outcome", "failure")
    expect(outcome).to_have_attribute("role", "alert")
    expect(outcome).to_contain_text("Migration failed")
    expect(outcome).to_contain_text("What to do next")
    expect(page.locator("#run-state")).to_have_text("Failed")
    expect(page.get_by_role("button", name="Start migration")).to_be_enabled()
    expect(page.locator("#history-body tr").first).to_contain_text("failed")
    assert app.local() == seeded
    folder = artifacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.locator("#run-panel").screenshot(path=str(folder / "failure-run-panel-1280x800.png"))


def test_a_value_written_by_another_tab_during_a_failed_run_is_kept_and_shown(app, artifacts_dir):
    page = app.page
    seeded = seed_v1(app, [v1_template(i) for i in range(5)])
    open_console(app)
    edited = '[{"id":"t-other","name":"Saved by another tab while the run failed","content":"x"}]'
    # The collections are written; another tab saves its templates; the schema version write fails.
    page.evaluate(
        """(edited) => { let calls = 0; globalThis.__airpromptsFault = (op) => {
            if (op === 'local_write' && calls++ === 1) {
                localStorage.setItem('airprompts_templates', edited);
                const e = new Error('injected: disk full'); e.name = 'QuotaExceededError'; throw e;
            }
        }; }""",
        edited,
    )
    page.get_by_role("button", name="Start migration").click()
    expect(page.locator("#run-result")).to_have_attribute("data-outcome", "failure")
    row = page.locator("#history-body tr").first
    expect(row).to_contain_text("Kept aside")
    expect(row).to_contain_text("local:airprompts_templates")
    assert app.local() == seeded
    history = app.call("api.dataMigrationService.getHistory()")
    assert history[0]["displaced"] == [{"area": "local", "key": "airprompts_templates", "value": edited}]
    folder = artifacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.locator("#history-panel").screenshot(path=str(folder / "history-displaced-1280x800.png"))


@pytest.mark.parametrize("viewport", ["VIEWPORT", "MOBILE_VIEWPORT"])
def test_empty_console_fits_and_works_by_keyboard(app, artifacts_dir, viewport):
    page = app.page
    page.set_viewport_size(getattr(app.config, viewport))
    app.seed({})
    open_console(app)
    expect(page.locator("#status-needed")).to_have_text("not needed")
    expect(page.locator("#counts-body")).to_contain_text("No AirPrompts data found.")
    # Every control is reachable by Tab and shows a focus ring.
    page.locator("body").focus()
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => { const a = document.activeElement; const s = getComputedStyle(a);
                if (a === document.body) return null;  // focus left the page, to the browser's own controls
                return [a.id || a.textContent.trim().slice(0, 30), s.outlineStyle, s.outlineWidth]; }"""
        )
        if info is None:
            continue
        reached.add(info[0])
        assert info[1] != "none" and info[2] != "0px", f"{info[0]} has no visible focus"
    assert {"status-refresh", "dry-run", "backup-description", "logs-level", "logs-text"} <= reached
    screenshots(page, artifacts_dir, "empty")


RUN_WATCHING_PANELS_JS = """
async () => {
  // Count the changes to the backups and logs tables between the run's first phase and its end.
  const seen = { during: 0, phases: 0 };
  let going = false;
  const observer = new MutationObserver((records) => { if (going) { seen.during += records.length; seen.where = records.map((r) => r.target.id || r.target.nodeName).join(","); } });
  for (const id of ["backups-body", "logs-body"]) {
    observer.observe(document.getElementById(id), { childList: true, subtree: true, characterData: true });
  }
  window.addEventListener("airprompts:phase", () => { going = true; seen.phases += 1; });
  window.addEventListener("airprompts:complete", () => { going = false; });
  const result = await window.airprompts.dataMigrationService.runPendingMigrations({ batchSize: 50, batchDelayMs: 40 });
  observer.disconnect();
  return { ...seen, success: result.success, backupId: result.backupId };
}
"""


def test_a_run_started_through_the_api_leaves_the_engine_to_itself_and_the_panels_show_it_after(app):
    # A host app or devtools starts the run, not this page's button: the backups and logs views still wait
    # for its end (each refresh reads its whole store in the engine's worker, which the run needs).
    seed_v1(app, [v1_template(i) for i in range(600)])
    open_console(app)
    expect(app.page.locator("#logs-count")).to_contain_text("Showing")
    out = app.page.evaluate(RUN_WATCHING_PANELS_JS)
    assert out["success"] is True and out["phases"] >= 5
    assert out["during"] == 0, f"a panel refreshed during the run: {out}"
    # The run wrote its backup and its log entries: both show once it is over.
    expect(app.page.locator("#backups-body")).to_contain_text("pre-migration", timeout=app.config.ACTION_TIMEOUT_MS)
    expect(app.page.locator("#logs-body")).to_contain_text("migration", timeout=app.config.ACTION_TIMEOUT_MS)
