"""The camelCase API table matches static/js/api.js, and dispatch answers plain JSON, errors included."""

import json
import re
from pathlib import Path

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
