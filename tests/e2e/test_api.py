"""Every window.airprompts method, called from JavaScript in Chromium, errors included."""

import json

from tests.worked_example import INPUT as WORKED_INPUT
from tests.worked_example import OUTPUT as WORKED_OUTPUT


def seed_v1(app):
    app.seed({"airprompts_templates": json.dumps([WORKED_INPUT]), "airprompts_schema_version": '"1.0.0"'})
    app.open()


def test_status_dry_run_and_migration_through_the_api(app):
    seed_v1(app)
    status = app.call("api.dataMigrationService.checkMigrationStatus()")
    assert status["needed"] is True and status["currentVersion"] == "1.0.0" and status["targetVersion"] == "3.0.0"
    assert status["counts"]["templates"] == 1
    before = app.local()
    dry = app.call("api.dataMigrationService.dryRun()")
    assert json.dumps(dry)  # plain JSON
    assert app.local() == before  # a dry run writes nothing

    # The compatibility layer already serves the 3.0.0 shape, without writing.
    assert app.call("api.compatibilityLayer.get('templates')") == [WORKED_OUTPUT]
    assert app.call("api.compatibilityLayer.isMigrated('templates')") is False
    assert app.local() == before

    result = app.call("api.dataMigrationService.runPendingMigrations({batchSize: 10})")
    assert result["success"] is True
    assert result["fromVersion"] == "1.0.0" and result["toVersion"] == "3.0.0"
    assert result["migrated"] == 1 and result["quarantined"] == 0
    assert result["backupId"]
    assert json.loads(app.local()["airprompts_templates"]) == [WORKED_OUTPUT]
    assert app.local()["airprompts_schema_version"] == '"3.0.0"'
    assert app.call("api.compatibilityLayer.isMigrated('templates')") is True

    progress = app.call("api.dataMigrationService.getMigrationProgress()")
    assert progress["running"] is False and progress["processed"] == progress["total"]
    history = app.call("api.dataMigrationService.getHistory()")
    assert history and history[0]["success"] is True
    assert app.call("api.dataMigrationService.checkMigrationStatus()")["needed"] is False
    backups = app.call("api.backupService.listBackups()")
    assert result["backupId"] in [b["id"] for b in backups]

    metrics = app.call("api.performanceMonitor.getMetrics()")
    assert metrics["batches"]["count"] >= 1
    logs = app.call("api.migrationLogger.queryLogs({level: 'INFO', limit: 500})")
    assert any("migrat" in entry["message"].lower() for entry in logs)
    csv = app.call("api.migrationLogger.exportLogs('csv')")
    assert csv.splitlines()[0].startswith("time,level,message")


def test_progressive_migration_emits_dom_events(app):
    records = [dict(WORKED_INPUT, id=i, name=f"T{i}") for i in range(450)]
    app.seed({"airprompts_templates": json.dumps(records), "airprompts_schema_version": '"1.0.0"'})
    app.open()
    app.page.evaluate(
        """() => { window.__events = []; for (const n of ['progress', 'phase', 'complete', 'failed'])
            window.addEventListener('airprompts:' + n, (e) => window.__events.push([n, e.detail])); }"""
    )
    started = app.call("api.dataMigrationService.startProgressiveMigration({batchSize: 50})")
    assert started["started"] is True
    busy = app.call_error("api.dataMigrationService.runPendingMigrations()")
    assert busy["name"] == "MigrationInProgress" and busy["isError"]
    app.page.wait_for_function("() => window.__events.some(([n]) => n === 'complete' || n === 'failed')")
    events = app.page.evaluate("() => window.__events")
    names = [n for n, _ in events]
    assert "complete" in names and "failed" not in names
    processed = [d["processed"] for n, d in events if n == "progress"]
    assert len(processed) >= 5 and processed == sorted(processed)
    assert processed[-1] == 450
    migrated = app.json_local("airprompts_templates")
    assert [t["id"] for t in migrated] == [str(i) for i in range(450)]
    assert all(t["metadata"]["migratedFrom"] == "1.0.0" for t in migrated)


def test_errors_reject_with_named_errors(app):
    app.seed({})
    app.open()
    cases = {
        "api.backupService.restoreBackup('no-such-backup')": "BackupNotFound",
        "api.backupService.verifyBackup('no-such-backup')": "BackupNotFound",
        "api.backupService.deleteBackup('')": "InvalidInput",
        "api.migrationLogger.setLogLevel('LOUD')": "InvalidInput",
        "api.migrationLogger.exportLogs('xml')": "InvalidInput",
        "api.dataMigrationService.runPendingMigrations({batchSize: -1})": "InvalidInput",
        "api.compatibilityLayer.save('templates', [{name: 5}])": "ValidationFailed",
        "api.backupService.importBackup('not a backup')": "InvalidInput",
    }
    for expression, name in cases.items():
        error = app.call_error(expression)
        assert error["isError"], expression
        assert error["name"] == name, (expression, error)
        assert error["message"] and "Traceback" not in error["message"]


def test_compatibility_layer_save_and_dual_read_mode(app):
    app.seed({"airprompts_schema_version": '"3.0.0"', "airprompts_templates": "[]"})
    app.open()
    saved = app.call("api.compatibilityLayer.save('templates', arg)", [dict(WORKED_OUTPUT)])
    assert saved["saved"] == 1
    assert app.json_local("airprompts_templates") == [WORKED_OUTPUT]
    assert app.call("api.compatibilityLayer.get('templates')") == [WORKED_OUTPUT]
    mode = app.call("api.compatibilityLayer.setDualReadMode(true, 60000)")
    assert mode["enabled"] is True
    assert app.call("api.compatibilityLayer.getDualReadMode()")["enabled"] is True
    stats = app.call("api.compatibilityLayer.getMigrationStats()")
    assert stats["storedVersion"] == "3.0.0"
    app.call("api.compatibilityLayer.setDualReadMode(false)")
    assert app.call("api.compatibilityLayer.getDualReadMode()")["enabled"] is False


def test_logger_level_and_debug_switch(app):
    app.seed({})
    app.open()
    assert app.call("api.migrationLogger.setLogLevel('warn')") == {"level": "WARN"}
    app.call("api.migrationLogger.log('INFO', 'hidden entry')")
    app.call("api.migrationLogger.log('ERROR', 'shown entry', {code: 7})")
    messages = [e["message"] for e in app.call("api.migrationLogger.queryLogs({limit: 50})")]
    assert "shown entry" in messages and "hidden entry" not in messages
    consoles = []
    app.page.on("console", lambda m: consoles.append(m.text))
    app.page.evaluate("() => { window.airprompts.debug = true; }")
    app.page.wait_for_function("() => true")
    app.call("api.migrationLogger.log('DEBUG', 'debug entry')")
    assert any(t.startswith("[airprompts] DEBUG debug entry") for t in consoles)
    exported = json.loads(app.call("api.migrationLogger.exportLogs('json')"))
    assert any(e["message"] == "debug entry" for e in exported)


def test_second_tab_gets_migration_in_progress_and_watches(app, pw_config):
    records = [dict(WORKED_INPUT, id=i, name=f"T{i}") for i in range(400)]
    app.seed({"airprompts_templates": json.dumps(records), "airprompts_schema_version": '"1.0.0"'})
    app.open()
    other = app.page.context.new_page()
    other.goto(app.base_url + "/?autostart=0")
    other.wait_for_selector(pw_config.READY_SELECTOR, state="attached", timeout=pw_config.READY_TIMEOUT_MS)
    other.evaluate(
        "() => { window.__seen = []; addEventListener('airprompts:progress', (e) => window.__seen.push(e.detail)); }"
    )
    app.page.evaluate(
        "() => { window.__done = false; addEventListener('airprompts:complete', () => { window.__done = true; }); }"
    )
    app.call("api.dataMigrationService.startProgressiveMigration({batchSize: 20, batchDelayMs: 40})")
    refused = other.evaluate(
        "async () => { try { await window.airprompts.dataMigrationService.runPendingMigrations(); return null; }"
        " catch (e) { return [e.name, e.message]; } }"
    )
    assert refused is not None and refused[0] == "MigrationInProgress"
    other.wait_for_function("() => window.__seen.length >= 2")
    watched = other.evaluate("() => window.airprompts.dataMigrationService.getMigrationProgress()")
    assert watched["running"] is True and watched["remote"] is True and watched["total"] == 400
    assert all(d["remote"] for d in other.evaluate("() => window.__seen"))
    app.page.wait_for_function("() => window.__done")
    other.close()
    assert app.local()["airprompts_schema_version"] == '"3.0.0"'
    migrated = app.json_local("airprompts_templates")
    assert len(migrated) == 400 and all(t["metadata"]["schemaVersion"] == "3.0.0" for t in migrated)


def test_wrong_arguments_and_camel_case_answers_in_the_browser(app):
    app.seed(
        {
            "airprompts_schema_version": '"1.0.0"',
            "airprompts_templates": json.dumps([WORKED_INPUT, {"id": "bad", "name": 7, "content": "ça “va” 🎉", "folder_id": "x"}]),
        }
    )
    app.open()
    cases = {
        "api.dataMigrationService.getQuarantine(123)": "runId",
        "api.compatibilityLayer.get()": "name",
        "api.dataMigrationService.runPendingMigrations({batchsize: 5})": "options",
        "api.migrationLogger.queryLogs({limit: '10'})": "query.limit",
        "api.compatibilityLayer.setDualReadMode('yes')": "enabled",
    }
    for expression, argument in cases.items():
        error = app.page.evaluate(
            f"""async () => {{ const api = window.airprompts; await api.ready;
                try {{ await {expression}; return null; }}
                catch (e) {{ return {{name: e.name, message: e.message, details: e.details}}; }} }}"""
        )
        assert error is not None, expression
        assert error["name"] == "InvalidInput" and error["details"]["argument"] == argument, (expression, error)
        assert "<locals>" not in error["message"] and "TypeError" not in error["message"]
    assert app.call("api.dataMigrationService.getHistory()") == []  # the refused run did not start

    plan = app.call("api.dataMigrationService.checkMigrationStatus()")["plan"]
    assert plan["fromVersion"] == "1.0.0" and plan["recordedVersion"] == "1.0.0" and plan["legacyKeys"] == []
    assert plan["collections"][0]["sourceKey"] == "airprompts_templates"
    app.page.evaluate("() => { airprompts.on('complete', (d) => window.__done = d); }")
    app.call("api.dataMigrationService.runPendingMigrations()")
    app.page.wait_for_function("() => window.__done")
    assert "source_key" not in json.dumps(app.page.evaluate("() => window.__done"))
    [entry] = app.call("api.dataMigrationService.getQuarantine()")
    assert entry["sourceKey"] == "airprompts_templates" and "source_key" not in entry
    # The quarantined record itself is the user's, byte for byte: its snake_case field stays.
    assert entry["record"] == {"id": "bad", "name": 7, "content": "ça “va” 🎉", "folder_id": "x"}
    missing = app.page.evaluate(
        "async () => { try { await airprompts.backupService.restoreBackup('bk-none'); } catch (e) { return e.details; } }"
    )
    assert missing == {"backupId": "bk-none"}
