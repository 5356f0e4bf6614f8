"""The console boots offline from its own origin, with no errors."""

from tests.e2e.conftest import off_origin


def test_console_boots_offline_with_ready_signals(app):
    app.seed({})
    app.open("")
    assert app.page.evaluate("() => document.documentElement.dataset.migrationReady") == "true"
    assert app.call("api.ready.then(() => 'resolved')") == "resolved"
    # Every request, Pyodide and the wheels included, stays on the app's origin.
    assert app.requests, "no request was recorded"
    assert [u for u in app.requests if off_origin(u, app.base_url)] == []
    assert any("/static/vendor/pyodide/pyodide.asm.wasm" in u for u in app.requests)
    assert any("pydantic_core-2.50.4" in u for u in app.requests)
    assert any("msgspec-0.23.0" in u for u in app.requests)
    assert app.failed_responses == []
    assert app.console_errors == []


def test_python_runs_the_pinned_validators(app):
    app.seed({})
    app.open()
    status = app.call("api.dataMigrationService.checkMigrationStatus()")
    assert status["targetVersion"] == "3.0.0"
    assert status["needed"] is False
    assert app.console_errors == []
