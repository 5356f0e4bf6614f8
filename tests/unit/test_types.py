"""The TypeScript declarations: a host's usage example type-checks, and they declare every method and event."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from app.core.events import EVENTS
from tests.unit.test_api import js_methods

ROOT = Path(__file__).resolve().parents[2]
DECLARATIONS = ROOT / "static" / "js" / "airprompts.d.ts"
TSC = ROOT / "node_modules" / ".bin" / "tsc"
SERVICES = {
    "DataMigrationService": "dataMigrationService",
    "CompatibilityLayer": "compatibilityLayer",
    "BackupService": "backupService",
    "MigrationLogger": "migrationLogger",
    "PerformanceMonitor": "performanceMonitor",
}


def interface_body(text: str, name: str) -> str:
    start = text.index(f"export interface {name} {{")
    return text[start : text.index("\n}\n", start)]


def test_the_usage_example_type_checks_with_tsc():
    assert TSC.exists(), "run make setup: it installs the npm typescript package"
    done = subprocess.run(
        [str(TSC), "--noEmit", "-p", str(ROOT / "tests" / "types")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The example's @ts-expect-error lines are mistakes tsc must catch; with loose types they would fail the run.
    assert (ROOT / "tests" / "types" / "usage.ts").read_text().count("@ts-expect-error") >= 10


def test_every_api_method_and_event_is_declared():
    text = DECLARATIONS.read_text()
    declared = set()
    for interface, service in SERVICES.items():
        for method in re.findall(r"^  (\w+)(?:<[^>]*>)?\(", interface_body(text, interface), flags=re.M):
            declared.add((service, method))
    assert declared == js_methods()
    api = interface_body(text, "AirpromptsApi")
    assert set(re.findall(r"readonly (\w+): \w+;", api)) >= set(SERVICES.values())
    events = set(re.findall(r"^  (\w+): ", interface_body(text, "AirpromptsEventMap"), flags=re.M))
    assert events == set(EVENTS)
    names = set(re.findall(r'\| "(\w+)"', text[text.index("export type ErrorName") : text.index("export interface ErrorDetails")]))
    from app.core import errors

    python_names = {cls.name for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.MigrateError)}
    assert python_names | {"InternalError"} == names


def js_exports(path: Path) -> set[str]:
    text = path.read_text()
    names = set(re.findall(r"^export (?:async )?(?:function|const|let|class) (\w+)", text, flags=re.M))
    for group in re.findall(r"^export \{([^}]*)\}", text, flags=re.M):
        names |= {name.split(" as ")[-1].strip() for name in group.split(",") if name.strip()}
    return names


def declared_exports(path: Path) -> set[str]:
    text = path.read_text()
    return set(re.findall(r"^export declare (?:function|const) (\w+)", text, flags=re.M))


def test_each_module_declaration_names_exactly_its_exports():
    for module in ("loader", "api", "react"):
        js = ROOT / "static" / "js" / f"{module}.js"
        assert declared_exports(js.with_suffix(".d.ts")) == js_exports(js), module
