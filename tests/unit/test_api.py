"""The camelCase API table matches static/js/api.js, and dispatch answers plain JSON, errors included."""

import asyncio
import json
import re
from pathlib import Path

import pytest

from app.api import Api
from app.services.crypto import PythonCrypto
from app.storage.memory import MemoryLock, MemoryStorage
from app.wiring import build

ROOT = Path(__file__).resolve().parents[2]


def js_methods() -> set[tuple[str, str]]:
    text = (ROOT / "static" / "js" / "api.js").read_text()
    block = text[text.index("export const METHODS = {") : text.index("};", text.index("export const METHODS"))]
    methods = set()
    for service, body in re.findall(r"(\w+): \[([^\]]*)\]", block, flags=re.S):
        for name in re.findall(r'"(\w+)"', body):
            methods.add((service, name))
    return methods


def make_api() -> Api:
    return Api(build(MemoryStorage(), PythonCrypto(), MemoryLock(registry=set())))


def test_python_table_and_js_methods_are_the_same():
    assert set(make_api().table) == js_methods()
    assert ("dataMigrationService", "checkMigrationStatus") in js_methods()


async def test_dispatch_returns_plain_json_results():
    api = make_api()
    answer = json.loads(await api.dispatch("dataMigrationService", "checkMigrationStatus", "[]"))
    assert answer["result"]["targetVersion"] == "3.0.0" and answer["result"]["needed"] is False


async def test_dispatch_maps_errors_to_named_errors():
    api = make_api()
    missing = json.loads(await api.dispatch("backupService", "restoreBackup", '["nope"]'))
    assert missing["error"]["name"] == "BackupNotFound"
    unknown = json.loads(await api.dispatch("backupService", "fly", "[]"))
    assert unknown["error"]["name"] == "InvalidInput" and "does not exist" in unknown["error"]["message"]
    bad_options = json.loads(await api.dispatch("dataMigrationService", "runPendingMigrations", '[{"batchSize": 0}]'))
    assert bad_options["error"]["name"] == "InvalidInput"
    too_many = json.loads(await api.dispatch("performanceMonitor", "getMetrics", "[1, 2, 3]"))
    assert too_many["error"]["name"] == "InvalidInput"


# ---------------------------------------------------------------------- wrong arguments

# Every method with calls a developer gets wrong: (arguments, the argument the error must name).
BAD_CALLS: dict[tuple[str, str], list[tuple[list, str | None]]] = {
    ("dataMigrationService", "checkMigrationStatus"): [([1], None)],
    ("dataMigrationService", "runPendingMigrations"): [
        ([{"batchsize": 5}], "options"),
        ([{"batchSize": "5"}], "options"),
        ([{"batchSize": 2.5}], "options"),
        ([{"batchDelayMs": -1}], "options"),
        (["fast"], "options"),
        ([{}, 1], None),
    ],
    ("dataMigrationService", "startProgressiveMigration"): [([{"batchSize": 0}], "options"), ([[100]], "options")],
    ("dataMigrationService", "getMigrationProgress"): [(["now"], None)],
    ("dataMigrationService", "getHistory"): [([10], None)],
    ("dataMigrationService", "dryRun"): [([{"batchDelayMs": 5}], "options"), ([True], "options")],
    ("dataMigrationService", "pauseMigration"): [([True], None)],
    ("dataMigrationService", "resumeMigration"): [([True], None)],
    ("dataMigrationService", "getLastReport"): [(["mig-1"], None)],
    ("dataMigrationService", "getQuarantine"): [([123], "runId"), ([""], "runId"), ([["mig-1"]], "runId")],
    ("dataMigrationService", "recover"): [([{}], None)],
    ("dataMigrationService", "waitUntilIdle"): [([5000], None)],
    ("compatibilityLayer", "get"): [([], "name"), ([7], "name"), ([{"name": "templates"}], "name")],
    ("compatibilityLayer", "save"): [([], "name"), (["templates"], "value"), ([42, []], "name")],
    ("compatibilityLayer", "isMigrated"): [([], "name"), ([False], "name")],
    ("compatibilityLayer", "getMigrationStats"): [(["templates"], None)],
    ("compatibilityLayer", "setDualReadMode"): [
        ([], "enabled"),
        (["yes"], "enabled"),
        ([1], "enabled"),
        ([True, "7 days"], "durationMs"),
        ([True, 0], "durationMs"),
    ],
    ("compatibilityLayer", "getDualReadMode"): [([True], None)],
    ("compatibilityLayer", "getStored"): [([], "name"), ([3], "name"), ([["templates"]], "name")],
    ("compatibilityLayer", "getStoredKeys"): [(["local"], None)],
    ("backupService", "createFullBackup"): [
        ([42], "description"),
        (["før flytning", {"password": "x"}], "options"),
        (["ok", {"passphrase": 1234}], "options"),
        (["ok", "secret"], "options"),
    ],
    ("backupService", "createIncrementalBackup"): [([None, {"baseId": 5}], "options"), ([None, {"base": "bk-1"}], "options")],
    ("backupService", "listBackups"): [([{}], None)],
    ("backupService", "verifyBackup"): [([], "id"), ([12], "id"), (["bk-1", {"pass": "x"}], "options")],
    ("backupService", "restoreBackup"): [
        ([], "id"),
        (["bk-1", {"keys": "airprompts_templates"}], "options"),
        (["bk-1", {"keys": [1, 2]}], "options"),
        (["bk-1", {"only": ["airprompts_templates"]}], "options"),
    ],
    ("backupService", "deleteBackup"): [([], "id"), ([None], "id")],
    ("backupService", "exportBackup"): [([], "id"), ([{"id": "bk-1"}], "id")],
    ("backupService", "importBackup"): [([], "text"), ([{"format": "airprompts-migrate-backup"}], "text")],
    ("migrationLogger", "setLogLevel"): [([], "level"), (["LOUD"], "level"), ([3], "level")],
    ("migrationLogger", "getLogLevel"): [(["INFO"], None)],
    ("migrationLogger", "queryLogs"): [
        ([{"lvl": "INFO"}], "query"),
        ([{"limit": -1}], "query"),
        ([{"limit": "10"}], "query"),
        ([{"level": "LOUD"}], "query"),
        ([{"since": True}], "query"),
        (["INFO"], "query"),
    ],
    ("migrationLogger", "exportLogs"): [(["xml"], "format"), (["csv", {"format": "csv"}], "query")],
    ("migrationLogger", "log"): [([], "level"), (["INFO"], "message"), (["INFO", 5], "message"), (["INFO", "hé", "ctx"], "context")],
    ("performanceMonitor", "getMetrics"): [([1, 2, 3], None)],
}
# Words of Python's own errors that must never reach a developer.
PYTHON_INTERNALS = re.compile(r"<locals>|positional argument|keyword argument|NoneType|unsupported operand|\bdict\b|\bint\b|\bstr\b|Traceback|'")


def test_every_method_has_bad_calls_in_the_walk():
    assert set(BAD_CALLS) == set(make_api().methods) == js_methods()


async def test_every_method_refuses_wrong_arguments_naming_the_argument():
    api = make_api()
    for (service, method), calls in BAD_CALLS.items():
        for args, argument in calls:
            answer = json.loads(await api.dispatch(service, method, json.dumps(args)))
            where = f"{service}.{method}({args})"
            assert "error" in answer, where
            error = answer["error"]
            assert error["name"] == "InvalidInput", (where, error)
            assert not PYTHON_INTERNALS.search(error["message"]), (where, error["message"])
            named = error["details"]["argument"]
            assert named == argument or (argument is not None and named.startswith(argument + ".")), (where, error)
            if argument is not None:
                assert named in error["message"], (where, error["message"])
            assert error["details"]["expected"], (where, error)


async def test_unknown_option_names_the_option_and_the_known_ones():
    api = make_api()
    error = json.loads(await api.dispatch("dataMigrationService", "runPendingMigrations", '[{"batchsize": 5}]'))["error"]
    assert "batchsize" in error["message"] and "batchSize" in error["message"] and "batchDelayMs" in error["message"]
    assert error["details"]["unknown"] == ["batchsize"]
    member = json.loads(await api.dispatch("migrationLogger", "queryLogs", '[{"limit": "10"}]'))["error"]
    assert member["details"]["argument"] == "query.limit"
    assert member["message"].endswith('query.limit must be a whole number >= 0, got "10"')
    # Nothing ran: no history entry, no backup.
    assert await api.call("dataMigrationService", "getHistory", []) == []
    assert await api.call("backupService", "listBackups", []) == []


async def test_good_arguments_still_work_and_null_means_omitted():
    api = make_api()
    assert await api.call("dataMigrationService", "getQuarantine", [None]) == []
    assert (await api.call("migrationLogger", "setLogLevel", ["warning"]))["level"] == "WARN"
    entry = await api.call("migrationLogger", "log", ["error", "Überprüfung „fertig“ 完了 ✅", {"user_field": 1}])
    assert entry["context"] == {"user_field": 1}  # the caller's own context is not renamed
    logs = await api.call("migrationLogger", "queryLogs", [{"level": "ERROR", "limit": 5, "text": "完了"}])
    assert [e["message"] for e in logs] == ["Überprüfung „fertig“ 完了 ✅"]
    meta = await api.call("backupService", "createFullBackup", [None, {"passphrase": ""}])
    assert meta["encrypted"] is False


# ---------------------------------------------------------------------- camelCase everywhere

SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def snake_members(value, path="$"):
    """Yield the paths of snake_case member names, not descending into the user's data."""
    from app.api import OPAQUE_MEMBERS, _data_name

    if isinstance(value, dict):
        for name, item in value.items():
            if SNAKE.match(name) and not _data_name(name):
                yield f"{path}.{name}"
            if name not in OPAQUE_MEMBERS:
                yield from snake_members(item, f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from snake_members(item, f"{path}[{index}]")


LEGACY_RECORD = {"id": "t-1", "name": "Résumé “court”", "content": "مرحبا\r\n{text}", "folder_id": "f", "updated_at": "2024-01-01T00:00:00.000Z"}
NEWER_RECORD = {"id": "t-1", "name": "Résumé “court” 2", "content": "要約\r\n{text} 🎉", "folderId": "f", "updatedAt": "2024-06-01T00:00:00.000Z"}


def mixed_store() -> MemoryStorage:
    """A 1.0.0 store with a legacy key holding a conflicting copy and a record that cannot be made valid."""
    return MemoryStorage(
        local={
            "airprompts_schema_version": '"1.0.0"',
            "airprompts_templates": json.dumps([NEWER_RECORD, {"id": "t-2", "name": 5, "content": "x", "is_favorite": True}]),
            "templates": json.dumps([LEGACY_RECORD]),
            "airprompts_folders": json.dumps([{"id": "f", "name": "Écriture", "parent_id": None, "sort_order": 1}]),
        }
    )


async def test_results_events_and_error_details_are_camel_case_and_user_data_is_untouched():
    services = build(mixed_store(), PythonCrypto(), MemoryLock(registry=set()))
    api = Api(services)
    events = []
    services.events.subscribe("*", lambda name, payload: events.append((name, json.loads(__import__("app.api").api.event_json(payload)))))

    status = await api.call("dataMigrationService", "checkMigrationStatus", [])
    assert {"fromVersion", "legacyKeys", "recordedVersion", "toVersion"} <= set(status["plan"])
    assert all("sourceKey" in c for c in status["plan"]["collections"])
    dry = await api.call("dataMigrationService", "dryRun", [])
    result = await api.call("dataMigrationService", "runPendingMigrations", [{"batchSize": 1}])
    report = await api.call("dataMigrationService", "getLastReport", [])
    quarantine = await api.call("dataMigrationService", "getQuarantine", [])
    answers = {
        "status": status,
        "dry": dry,
        "result": result,
        "report": report,
        "history": await api.call("dataMigrationService", "getHistory", []),
        "quarantine": quarantine,
        "progress": await api.call("dataMigrationService", "getMigrationProgress", []),
        "backups": await api.call("backupService", "listBackups", []),
        "verify": await api.call("backupService", "verifyBackup", [result["backupId"]]),
        "stats": await api.call("compatibilityLayer", "getMigrationStats", []),
        "dual": await api.call("compatibilityLayer", "getDualReadMode", []),
        "logs": await api.call("migrationLogger", "queryLogs", [{"limit": None}]),
        "metrics": await api.call("performanceMonitor", "getMetrics", []),
        "events": events,
    }
    for name, answer in answers.items():
        assert list(snake_members(answer)) == [], name

    # The report's legacy conflict: the envelope renamed, both copies of the record exactly as stored.
    conflict = report["legacy"]["conflicts"][0]
    assert {"targetKey", "keptFrom", "droppedFrom"} <= set(conflict)
    assert conflict["record"] == LEGACY_RECORD and conflict["kept"] == NEWER_RECORD
    # The quarantined record keeps its snake_case fields; its entry says sourceKey.
    [entry] = quarantine
    assert entry["sourceKey"] == "airprompts_templates" and "source_key" not in entry
    assert entry["record"] == {"id": "t-2", "name": 5, "content": "x", "is_favorite": True}
    # Storage keys stay storage keys.
    assert "airprompts_templates" in report["sources"]
    # compatibilityLayer.get answers the user's records as they are (legacyFields keeps snake names inside).
    templates = await api.call("compatibilityLayer", "get", ["templates"])
    assert [t["name"] for t in templates] == ["Résumé “court” 2"]

    # Error details: a missing backup names backupId.
    missing = json.loads(await api.dispatch("backupService", "restoreBackup", '["bk-nope"]'))["error"]
    assert missing["name"] == "BackupNotFound" and missing["details"] == {"backupId": "bk-nope"}


def test_camel_keys_renames_api_members_only():
    from app.api import camel_keys

    value = {
        "from_version": "1.0.0",
        "counts": {"recent_items": 2, "ui_preferences": 1},
        "sources": {"airprompts_templates": {"source_key": "AirPromptsDB:templates"}},
        "record": {"folder_id": "x"},
        "conflicts": [{"kept_from": "templates", "kept": {"created_at": "2024"}}],
    }
    assert camel_keys(value) == {
        "fromVersion": "1.0.0",
        "counts": {"recent_items": 2, "ui_preferences": 1},
        "sources": {"airprompts_templates": {"sourceKey": "AirPromptsDB:templates"}},
        "record": {"folder_id": "x"},
        "conflicts": [{"keptFrom": "templates", "kept": {"created_at": "2024"}}],
    }


async def test_a_full_storage_at_the_switch_rejects_as_quota_exceeded_and_says_it_was_rolled_back():
    from app.core.errors import from_browser_error
    from app.core.keys import SCHEMA_VERSION_KEY

    templates = [{"id": 7, "name": "Résumé “draft” 📝", "content": "Line one\r\nline two ✓", "created_at": "2024-03-01T10:00:00Z"}]
    local = {
        "airprompts_templates": json.dumps(templates, ensure_ascii=False),
        SCHEMA_VERSION_KEY: '"1.0.0"',
        "airprompts_todos": '["buy milk 🥛"]',
    }
    storage = MemoryStorage(local=dict(local))
    fired = []

    def full_at_the_switch(operation, detail):
        # The switch's first localStorage write of data (not the loader's flag); the restore then succeeds.
        if operation == "local_write" and not fired and "airprompts_templates" in detail["set"]:
            fired.append(detail)
            raise from_browser_error("QuotaExceededError", "Failed to execute 'setItem' on 'Storage'")

    storage.fault = full_at_the_switch
    api = Api(build(storage, PythonCrypto(), MemoryLock(registry=set())))
    error = json.loads(await api.dispatch("dataMigrationService", "runPendingMigrations", "[]"))["error"]
    assert error["name"] == "QuotaExceeded"
    assert error["details"]["rolledBack"] is True and error["details"]["cause"]["name"] == "QuotaExceeded"
    assert error["message"].startswith("The migration could not write the new data: Browser storage is full: ")
    assert "your data is as it was before" in error["message"]
    assert storage.local == local  # rolled back, byte for byte
    history = json.loads(await api.dispatch("dataMigrationService", "getHistory", "[]"))["result"]
    assert history[0]["rolledBack"] is True and history[0]["error"]["name"] == "QuotaExceeded"


async def test_stored_value_keys_and_log_level_are_read_without_upgrading_or_writing():
    api = make_api()
    storage = api.services.storage
    legacy_like = [{"id": 7, "name": "Résumé “court” 📝", "content": "Line 1\r\nLine 2", "folder_id": "écrits"}]
    await storage.local_write(
        {
            "airprompts_schema_version": '"1.0.0"',
            "airprompts_templates": json.dumps(legacy_like, ensure_ascii=False),
            "airprompts_todos": "[]",
            "someone_else": "x",
        }
    )
    before = dict(await storage.local_get(await storage.local_keys()))
    stored = await api.call("compatibilityLayer", "getStored", ["airprompts_templates"])
    assert stored == {
        "name": "templates",
        "location": "local",
        "sourceKey": "airprompts_templates",
        "sources": ["airprompts_templates"],
        "value": legacy_like,  # the user's data as stored: snake_case kept, numeric id kept
    }
    missing = await api.call("compatibilityLayer", "getStored", ["snippets"])
    assert missing["location"] is None and missing["value"] is None
    keys_now = await api.call("compatibilityLayer", "getStoredKeys", [])
    assert keys_now == {"local": ["airprompts_schema_version", "airprompts_templates", "airprompts_todos"], "app": []}
    assert dict(await storage.local_get(await storage.local_keys())) == before
    await api.call("migrationLogger", "setLogLevel", ["error"])
    assert await api.call("migrationLogger", "getLogLevel", []) == {"level": "ERROR"}


async def test_wait_until_idle_recovers_the_run_a_closed_tab_left():
    class TabClosed(BaseException):
        """The tab closed: nothing after this point runs."""

    templates = [{"id": i, "name": f"Modèle “{i}” ✍️", "content": f"Ligne {i}\r\n終わり", "created_at": "2024-01-01T00:00:00.000Z"}
                 for i in range(90)]
    storage = MemoryStorage(local={"airprompts_schema_version": '"1.0.0"', "airprompts_templates": json.dumps(templates)})
    registry: set[str] = set()
    first = Api(build(storage, PythonCrypto(), MemoryLock(registry=registry)))
    staged = 0

    def close_mid_run(operation, detail):
        nonlocal staged
        if operation == "own_write" and any(getattr(op, "store", "") == "staging" for op in detail):
            staged += 1
            if staged == 2:
                raise TabClosed()

    storage.fault = close_mid_run
    with pytest.raises(TabClosed):
        await first.call("dataMigrationService", "runPendingMigrations", [{"batchSize": 30}])
    storage.fault = None
    registry.add("airprompts-migration")  # the closed tab's lock, until its page is gone
    second = Api(build(storage, PythonCrypto(), MemoryLock(registry=registry)))
    assert (await second.call("dataMigrationService", "checkMigrationStatus", []))["running"] is True
    waiting = asyncio.ensure_future(second.call("dataMigrationService", "waitUntilIdle", []))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the other tab still holds the lock
    assert storage.local["airprompts_schema_version"] == '"1.0.0"'
    registry.discard("airprompts-migration")  # the tab is gone, its lock with it
    outcome = await asyncio.wait_for(waiting, 5)
    assert outcome["outcome"] == "completed"
    stored = json.loads(storage.local["airprompts_templates"])
    assert [t["id"] for t in stored] == [str(i) for i in range(90)]  # nothing lost, nothing twice
    assert stored[89]["content"] == "Ligne 89\r\n終わり"
    assert storage.local["airprompts_schema_version"] == '"3.0.0"'
    assert (await second.call("dataMigrationService", "checkMigrationStatus", []))["running"] is False
