"""static/js/loader.js in the host-app example: no Python for current data, the 3.0.0 shape for old data."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tests import worked_example

ROOT = Path(__file__).resolve().parents[2]
HOST = "/examples/host-app.html"
VENDOR = ("/static/vendor/pyscript/", "/static/vendor/pyodide/")
LOADER = "/static/js/loader.js"

# data.md section 5.
WORKED_INPUT = worked_example.INPUT_TEXT
WORKED_OUTPUT = worked_example.OUTPUT
CURRENT = [
    {**WORKED_OUTPUT, "id": "a", "name": "<b>Bold?</b>", "content": "<img src=x onerror=alert(1)>\n  kept"},
    {**WORKED_OUTPUT, "id": "b", "name": "Second", "content": "plain"},
]


def listed(page) -> list[tuple[str, str]]:
    pairs = page.eval_on_selector_all(
        "#templates li",
        "items => items.map(li => [li.querySelector('.name').textContent, li.querySelector('.content').textContent])",
    )
    return [tuple(pair) for pair in pairs]


def python_requests(app) -> list[str]:
    return [u for u in app.requests if any(part in u for part in VENDOR)]


def test_a_current_store_loads_no_python(app):
    app.seed({"airprompts_schema_version": '"3.0.0"', "airprompts_templates": json.dumps(CURRENT), "templates": "[]"})
    app.requests.clear()
    app.page.goto(app.base_url + HOST)
    app.page.wait_for_selector("html[data-host-state='direct']", state="attached")
    assert listed(app.page) == [(r["name"], r["content"]) for r in CURRENT]
    # Shown as text: the markup in the data made no elements.
    assert app.page.locator("#templates b, #templates img").count() == 0
    assert app.page.evaluate(f"async () => (await import('{LOADER}')).migrationMayBeNeeded()") is False
    app.page.wait_for_timeout(1000)  # the asynchronous IndexedDB check must not load it either
    assert python_requests(app) == []
    assert app.page.evaluate("() => document.querySelectorAll('script[type=py]').length") == 0
    app.page.click("#counter")
    assert app.page.inner_text("#counter") == "Clicked 1 time"
    assert app.console_errors == []


MAY_BE_NEEDED = [
    ({}, False),
    ({"unrelated": "x", "airprompts-ui-storage": "{}"}, False),
    ({"airprompts_templates": "[]"}, True),
    ({"airprompts_schema_version": '"3.0.0"', "airprompts_templates": "[]", "templates": "[]"}, False),
    ({"airprompts_schema_version": "3.0.0", "airprompts_templates": "[]"}, False),
    ({"airprompts_schema_version": '"2.0.0"', "airprompts_templates": "[]"}, True),
    ({"airprompts_data_version": '"2.0"', "airprompts_user_settings": "{}"}, True),
    ({"airprompts_data_version": "3.0", "airprompts_user_settings": "{}"}, False),
    ({"ap_snippets": "[]"}, True),
    ({"theme": "dark"}, True),
    ({"airprompts-workflows": "[]"}, True),
    ({"airprompts_schema_version": '"3.0.0"', "airprompts_migrate_pending": "1"}, True),
]


def test_migration_may_be_needed_decides_from_localstorage_in_microseconds(app):
    app.seed({})
    results = app.page.evaluate(
        f"""async (cases) => {{
            window.airpromptsOptions = {{ lazy: true }};
            const loader = await import('{LOADER}');
            const out = [];
            for (const [local] of cases) {{
                localStorage.clear();
                for (const [k, v] of Object.entries(local)) localStorage.setItem(k, v);
                out.push(loader.migrationMayBeNeeded());
            }}
            for (let i = 0; i < 20; i++) localStorage.setItem('unrelated-' + i, 'x');
            const start = performance.now();
            for (let i = 0; i < 1000; i++) loader.migrationMayBeNeeded();
            return {{ out, perCallMs: (performance.now() - start) / 1000 }};
        }}""",
        MAY_BE_NEEDED,
    )
    assert results["out"] == [expected for _, expected in MAY_BE_NEEDED]
    assert results["perCallMs"] < 0.1
    assert python_requests(app) == []


def test_the_worker_reads_pyscript_toml_with_tomllib(app):
    app.seed({"airprompts_schema_version": '"1.0.0"', "airprompts_templates": WORKED_INPUT})
    app.page.goto(app.base_url + HOST + "?autostart=0")
    app.wait_ready()
    worker = next(w for w in app.page.workers if w.url.endswith("/static/js/worker.js"))
    config = worker.evaluate("() => globalThis.airpromptsConfig")
    expected = tomllib.loads((ROOT / "pyscript.toml").read_text())
    base = app.base_url + "/"
    assert config["interpreter"] == base + expected["interpreter"].removeprefix("./")
    assert config["packages"] == [base + p.removeprefix("./") for p in expected["packages"]]
    assert config["files"] == {base + k.removeprefix("./"): v for k, v in expected["files"].items()}
    assert {k: v for k, v in config.items() if k not in ("interpreter", "packages", "files")} == {
        k: v for k, v in expected.items() if k not in ("interpreter", "packages", "files")
    }
    assert app.page.evaluate(f"async () => 'parseToml' in (await import('{LOADER}'))") is False


def test_an_old_store_loads_python_and_lists_the_3_0_0_shape(app, pw_config):
    app.seed({"airprompts_schema_version": '"1.0.0"', "airprompts_templates": WORKED_INPUT})
    app.requests.clear()
    app.page.goto(app.base_url + HOST + "?autostart=0")
    app.wait_ready()
    app.page.wait_for_selector("#templates[data-source='api']", state="attached", timeout=pw_config.READY_TIMEOUT_MS)
    assert listed(app.page) == [("Summary", "Sum up:\n  {text}")]
    assert app.call("api.compatibilityLayer.get('templates')") == [WORKED_OUTPUT]
    assert app.page.evaluate(f"async () => (await import('{LOADER}')).migrationMayBeNeeded()") is True
    assert any("/static/vendor/pyodide/" in u for u in app.requests)
    # Reading transformed nothing in storage (autostart is off).
    assert app.local()["airprompts_templates"] == WORKED_INPUT
    assert app.local()["airprompts_schema_version"] == '"1.0.0"'
    assert app.console_errors == []


def test_add_template_saves_through_the_layer(app, pw_config):
    app.seed({"airprompts_schema_version": '"3.0.0"', "airprompts_templates": json.dumps(CURRENT[1:])})
    app.page.goto(app.base_url + HOST)
    app.page.wait_for_selector("html[data-host-state='direct']", state="attached")
    assert python_requests(app) == []
    app.page.fill("#new-name", "Added")
    app.page.fill("#new-content", "Line 1\n  line <2>")
    app.page.click("#add")  # the first API call loads the migration app
    app.page.wait_for_selector(
        "#templates[data-count='2'][data-source='api']", state="attached", timeout=pw_config.READY_TIMEOUT_MS
    )
    assert listed(app.page)[-1] == ("Added", "Line 1\n  line <2>")
    stored = app.json_local("airprompts_templates")
    assert [r["name"] for r in stored] == ["Second", "Added"]
    assert stored[1]["metadata"]["schemaVersion"] == "3.0.0" and stored[1]["contextEnabled"] is False
    assert app.page.inner_text("#save-result") == "Saved 2 templates."
    assert app.console_errors == []


def test_autostart_migrates_while_the_page_responds(app, pw_config):
    records = json.loads(WORKED_INPUT) * 1 + [
        {"id": i, "name": f"T{i}", "content": "x" * 50, "created_at": "2024-01-01T00:00:00.000Z"}
        for i in range(1000, 3000)
    ]
    app.seed({"airprompts_schema_version": '"1.0.0"', "airprompts_templates": json.dumps(records)})
    app.page.goto(app.base_url + HOST)
    app.wait_ready()
    clicks = 0
    for _ in range(5):
        app.page.click("#counter", timeout=2000)
        clicks += 1
    assert app.page.inner_text("#counter") == f"Clicked {clicks} times"
    app.page.wait_for_function(
        "() => localStorage.getItem('airprompts_schema_version') === '\"3.0.0\"'", timeout=pw_config.READY_TIMEOUT_MS
    )
    app.page.wait_for_selector("#templates[data-source='api']", state="attached")
    assert app.call("api.compatibilityLayer.isMigrated('templates')") is True
    assert app.call("api.compatibilityLayer.get('templates')")[0] == WORKED_OUTPUT
    assert app.page.locator("#progress-box").is_visible()
