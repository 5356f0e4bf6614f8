"""The ``migrate`` command: options, the run over the browser's services in memory, the report, the exit code."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TextIO

from app.api import camel_keys, plain
from app.cli.files import write_files
from app.cli.forms import Store, Unusable, app_record, dump_file, output_text, read_input
from app.cli.progress import ProgressBar
from app.core.errors import BackupCorrupted, MigrateError, PlanError, WrongPassphrase
from app.services.crypto import PythonCrypto
from app.storage.memory import MemoryLock, MemoryStorage
from app.wiring import build

PROG = "airprompts-migrate"
EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


@dataclass
class Outcome:
    """What one CLI run produced."""

    code: int
    report: dict[str, Any] | None = None
    output: str | None = None
    message: str = ""


async def migrate(
    store: Store,
    *,
    dry_run: bool = False,
    passphrase: str | None = None,
    batch_size: int = 100,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
) -> Outcome:
    """Run the browser's migration over ``store`` in memory; return the report and OUTPUT's text."""
    if store.form == "backup":
        storage = MemoryStorage()
    else:
        storage = MemoryStorage(local=store.local, app={k: app_record(k, v) for k, v in store.app.items()})
    crypto = PythonCrypto()
    services = build(storage, crypto, MemoryLock(registry=set()))
    if on_event is not None:
        services.events.subscribe("*", on_event)
    try:
        if store.form == "backup":
            await _load_backup(services, storage, store, passphrase)
        try:
            status = await services.migration.check_migration_status()
            if dry_run:
                dry = await services.migration.dry_run(batch_size=batch_size)
                report = _report(store, dry, status, dry_run=True, quarantine=[])
                return Outcome(EXIT_OK, report, None, _summary(report))
            result = await services.migration.run_pending_migrations(batch_size=batch_size)
        except PlanError as exc:
            raise Unusable(exc.message) from None
        except MigrateError as exc:
            return Outcome(EXIT_FAILED, None, None, f"the migration failed, nothing was written: {exc.name}: {exc.message}")
        quarantine = await services.migration.get_quarantine(result.get("runId")) if result.get("runId") else []
        report = _report(store, {**result, **(result.get("report") or {})}, status, dry_run=False, quarantine=quarantine)
        backup_text = None
        if store.form == "backup":
            meta = await services.backups.create_full_backup(
                "Migrated to 3.0.0 by airprompts-migrate", **({"passphrase": passphrase} if passphrase else {})
            )
            backup_text = await services.backups.export_backup(meta["id"])
        return Outcome(EXIT_OK, report, output_text(store, storage, backup_text), _summary(report))
    finally:
        services.detach_logging()


async def _load_backup(services: Any, storage: MemoryStorage, store: Store, passphrase: str | None) -> None:
    """Put the state a backup file holds into ``storage``, as a restore would."""
    assert store.envelope is not None
    try:
        meta = await services.backups.import_backup(store.envelope)
        if meta.get("encrypted") and not passphrase:
            raise Unusable("the backup file is encrypted: pass its passphrase with --passphrase-file")
        state = await services.backups.state(meta["id"], **({"passphrase": passphrase} if passphrase else {}))
    except WrongPassphrase:
        raise Unusable("the passphrase does not open this backup file") from None
    except (BackupCorrupted, MigrateError) as exc:
        raise Unusable(f"unusable backup file: {exc.message}") from None
    storage.local.update(state["local"])
    storage.app.update(state["app"])


def _report(store: Store, data: dict[str, Any], status: dict[str, Any], *, dry_run: bool, quarantine: list) -> dict[str, Any]:
    """Return the report: counts, warnings, repairs and the quarantined records, whole."""
    records = {entry.get("key"): entry for entry in quarantine}
    quarantined = []
    for entry in data.get("quarantined") or []:
        if not isinstance(entry, dict):
            continue
        stored = records.get(entry.get("quarantineKey"))
        quarantined.append({**entry, **({"record": stored.get("record")} if stored else {})})
    report = {
        "tool": PROG,
        "form": store.form,
        "dryRun": dry_run,
        "needed": bool(status.get("needed")),
        "success": bool(data.get("success", True)),
        "fromVersion": data.get("fromVersion") or status.get("detectedVersion"),
        "toVersion": data.get("toVersion") or status.get("targetVersion"),
        "migrated": data.get("migrated", 0) if isinstance(data.get("migrated"), int) else 0,
        "counts": data.get("counts") or {},
        "repairs": data.get("repairs") or [],
        "warnings": data.get("warnings") if isinstance(data.get("warnings"), list) else [],
        "quarantined": quarantined,
        "legacy": data.get("legacy") or {"moves": [], "conflicts": []},
        "movedToIndexedDB": data.get("movedToIndexedDB") or [],
        "plan": data.get("plan") or status.get("plan"),
        "runId": data.get("runId"),
    }
    return camel_keys(plain(report))


def _summary(report: dict[str, Any]) -> str:
    if not report["needed"]:
        return f"nothing to migrate: the data is already at {report['toVersion']}"
    verb = "would migrate" if report["dryRun"] else "migrated"
    return (
        f"{verb} {report['migrated']} records from {report['fromVersion']} to {report['toVersion']}: "
        f"{len(report['quarantined'])} quarantined, {len(report['warnings'])} warnings, {len(report['repairs'])} repairs"
    )


# ---------------------------------------------------------------------- entry point


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Migrate exported AirPrompts data to schema 3.0.0, exactly as the browser does."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="migrate")
    run = commands.add_parser("migrate", help="migrate INPUT into OUTPUT (INPUT is never changed)")
    run.add_argument("input", metavar="INPUT", type=Path, help="localStorage JSON, the app's export, or a console backup file")
    run.add_argument("-o", "--output", metavar="OUTPUT", type=Path, help="where the migrated data goes (same form as INPUT)")
    run.add_argument("--dry-run", action="store_true", help="report what would change; write no OUTPUT")
    run.add_argument("--report", metavar="REPORT.json", help="write the report (counts, warnings, repairs, quarantined) here; - for stdout")
    run.add_argument("--passphrase-file", metavar="FILE", type=Path, help="the passphrase of an encrypted backup file")
    run.add_argument("--batch-size", type=int, default=100, metavar="N", help="records per batch (default 100)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary line")
    run.add_argument("-v", "--verbose", action="store_true", help="print the audit trail's warnings on stderr")
    return parser


def _passphrase(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise Unusable(f"cannot read the passphrase file {path}: {exc}") from None
    # One trailing line break is the editor's, not the passphrase's.
    passphrase = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    if not passphrase:
        raise Unusable(f"the passphrase file {path} is empty")
    return passphrase


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def run(argv: list[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command line with ``argv``; return the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    # The services log to the audit trail (in the report's run); the terminal gets warnings with -v only.
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING if args.verbose else logging.CRITICAL + 1)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        return _run(args, out, err)
    finally:
        root.removeHandler(handler)


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        if args.output is None and not args.dry_run:
            raise Unusable("-o OUTPUT is required (or --dry-run)")
        if args.batch_size < 1:
            raise Unusable(f"--batch-size must be at least 1, got {args.batch_size}")
        if args.output is not None and _same_file(args.input, args.output):
            raise Unusable("OUTPUT must not be INPUT: the input file is never changed")
        passphrase = _passphrase(args.passphrase_file)
        store = read_input(args.input)
        bar = ProgressBar(err)
        try:
            outcome = asyncio.run(
                migrate(
                    store,
                    dry_run=args.dry_run,
                    passphrase=passphrase,
                    batch_size=args.batch_size,
                    on_event=None if args.quiet else bar,
                )
            )
        finally:
            bar.close()
    except Unusable as exc:
        err.write(f"{PROG}: unusable input: {exc}\n")
        return EXIT_UNUSABLE
    if outcome.code != EXIT_OK:
        err.write(f"{PROG}: {outcome.message}\n")
        return outcome.code
    outputs: list[tuple[Path, str]] = []
    if outcome.output is not None and args.output is not None and not args.dry_run:
        outputs.append((args.output, outcome.output))
    if args.report and args.report != "-":
        outputs.append((Path(args.report), dump_file(outcome.report, True)))
    try:
        write_files(outputs)
    except OSError as exc:
        err.write(f"{PROG}: the migration ran but its files could not be written, nothing was written: {exc}\n")
        return EXIT_FAILED
    if args.report == "-":
        out.write(dump_file(outcome.report, True))
    if not args.quiet:
        where = f"; wrote {args.output}" if outcome.output is not None and not args.dry_run else ""
        err.write(f"{PROG}: {outcome.message}{where}\n")
    return EXIT_OK


def main() -> None:
    """Console-script entry point: ``airprompts-migrate migrate INPUT -o OUTPUT``."""
    sys.exit(run())
