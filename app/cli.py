"""The command line: migrate exported AirPrompts data to 3.0.0 outside the browser.

    python -m app migrate INPUT -o OUTPUT [--dry-run] [--report REPORT.json] [--passphrase-file FILE]

INPUT is one of three forms, and OUTPUT has the same form:

* ``localStorage``: a JSON object of localStorage key to stored text (what
  ``JSON.stringify(localStorage)`` gives in devtools), optionally with an
  ``AirPromptsDB`` member mapping each ``AirPromptsDB``/``storage`` key to its value;
* ``export``: the AirPrompts app's own export, key to parsed value (a key's stored
  text is then ``JSON.stringify`` of its value, as the app stores it), optionally
  with the same ``AirPromptsDB`` member;
* ``backup``: a backup file exported by the console (``--passphrase-file`` for an
  encrypted one; the output backup is encrypted with the same passphrase).

The data runs through the browser's own code: the services of ``app.wiring`` over
the in-memory storage, which has the browser's quotas and all-or-nothing writes, so
a collection too large for localStorage moves to ``AirPromptsDB`` as it would in
Chromium. Exit 0 on success (quarantined records are in the report, whole), 1 when
the run fails (nothing written), 2 on unusable input (one line on stderr). INPUT is
only read; OUTPUT is written to a temporary file beside it, then renamed over it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from app.api import camel_keys, plain
from app.core import jsonstream, keys
from app.core.errors import BackupCorrupted, MigrateError, PlanError, WrongPassphrase
from app.services.backup import EXPORT_FORMAT
from app.services.crypto import PythonCrypto
from app.storage.memory import MemoryLock, MemoryStorage
from app.wiring import build

_log = logging.getLogger(__name__)

PROG = "airprompts-migrate"
APP_MEMBER = keys.APP_DB  # "AirPromptsDB"
FORMS = ("localStorage", "export", "backup")
# Draw the progress bar from this many records on: smaller runs take well under a second.
PROGRESS_FROM = 2000
BAR_WIDTH = 30

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


class Unusable(Exception):
    """The input (or an option) cannot be used: the one-line reason."""


@dataclass
class Store:
    """What an input file holds, as the browser would store it."""

    form: str
    local: dict[str, str] = field(default_factory=dict)
    app: dict[str, Any] = field(default_factory=dict)  # AirPromptsDB key -> value
    has_app_member: bool = False
    envelope: str | None = None  # the backup file's text
    pretty: bool = False


# ---------------------------------------------------------------------- reading


def _number(text: str) -> float | int | jsonstream.RawNumber:
    """Parse a JSON fraction as JSON.parse + JSON.stringify keep it (1.0 is 1); a number no double holds stays text."""
    number = float(text)
    if not math.isfinite(number):
        return jsonstream.RawNumber(text)
    if number.is_integer() and abs(number) < 1e21:
        return int(number)
    return number


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_float=_number, parse_constant=_refuse_constant)
_big_decoder = json.JSONDecoder(
    parse_float=_number, parse_int=lambda t: jsonstream.RawNumber(t), parse_constant=_refuse_constant
)


def parse(text: str) -> Any:
    """Return the value of JSON ``text`` as the browser would store it; raise ValueError where JSON.parse throws."""
    try:
        return _decoder.decode(text)
    except json.JSONDecodeError:
        raise
    except RecursionError as exc:
        raise ValueError("nested too deeply to read here") from exc
    except ValueError:
        # An integer of more digits than int() converts: kept as its text, as the migration keeps it.
        return _big_decoder.decode(text)


def js_text(value: Any) -> str:
    """Return ``value`` as ``JSON.stringify`` writes it: the text the app stores for a parsed value."""
    return jsonstream.dumps(value)


def read_input(path: Path) -> Store:
    """Return the store ``path`` holds; raise Unusable with the reason when it holds none."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise Unusable(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unusable(f"{path} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = parse(text)
    except ValueError as exc:
        raise Unusable(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Unusable(f"{path} holds a JSON {type(data).__name__}, not an object of storage keys")
    pretty = "\n" in text.strip()
    if data.get("format") == EXPORT_FORMAT:
        return Store("backup", envelope=text, pretty=pretty)
    app: dict[str, Any] = {}
    has_app_member = APP_MEMBER in data
    if has_app_member:
        member = data.pop(APP_MEMBER)
        if not isinstance(member, dict):
            raise Unusable(f"{path}: the {APP_MEMBER} member must be an object of key to value")
        app = member
    if not data and not app:
        raise Unusable(f"{path} holds no storage keys")
    if all(isinstance(value, str) for value in data.values()):
        return Store("localStorage", local=dict(data), app=app, has_app_member=has_app_member, pretty=pretty)
    return Store(
        "export",
        local={key: js_text(value) for key, value in data.items()},
        app=app,
        has_app_member=has_app_member,
        pretty=pretty,
    )


def _app_record(key: str, value: Any) -> str:
    return js_text({"key": key, "value": value, "timestamp": 0})


# ---------------------------------------------------------------------- writing


def _dump_file(data: Any, pretty: bool) -> str:
    kwargs: dict[str, Any] = {"indent": 2} if pretty else {"separators": (",", ":")}
    # A number no double holds (a RawNumber) is written as its own digits.
    text = jsonstream.write(data, ensure_ascii=False, allow_nan=False, **kwargs)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone UTF-16 surrogate (JavaScript strings may hold one) has no UTF-8 form: escape everything.
        text = jsonstream.write(data, ensure_ascii=True, allow_nan=False, **kwargs)
    return text + ("\n" if pretty else "")


def stage(path: Path, text: str) -> Path:
    """Write ``text`` to a new temporary file beside ``path``, flushed to disk; return its path."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private; give it the mode a plain open() would (or the replaced file's).
        os.chmod(temp, _mode(path))
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        discard(Path(temp))
        raise
    return Path(temp)


def _mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def discard(temp: Path) -> None:
    """Remove a staged file that will not be renamed."""
    try:
        temp.unlink()
    except FileNotFoundError:
        pass


def write_files(files: list[tuple[Path, str]]) -> None:
    """Write every ``(path, text)``: stage them all (a failure there writes none), then rename each over its path."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in files:
            staged.append((stage(path, text), path))
        for temp, path in staged:
            os.replace(temp, path)
    finally:
        for temp, _ in staged:
            discard(temp)


def output_text(store: Store, storage: MemoryStorage, backup_text: str | None) -> str:
    """Return OUTPUT's text: the migrated store in the input's form."""
    if store.form == "backup":
        assert backup_text is not None
        return backup_text
    app = {key: parse(text)["value"] for key, text in sorted(storage.app.items())}
    if store.form == "localStorage":
        data: dict[str, Any] = dict(storage.local)
    else:
        data = {key: _parsed_or_text(text) for key, text in storage.local.items()}
    if app or store.has_app_member:
        data[APP_MEMBER] = app
    return _dump_file(data, store.pretty)


def _parsed_or_text(text: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        return text  # a raw legacy string, kept as the string it is


# ---------------------------------------------------------------------- progress


class ProgressBar:
    """Draw the run's progress on stderr for large inputs: one line redrawn on a terminal, else a line per tenth."""

    def __init__(self, stream: TextIO, *, threshold: int = PROGRESS_FROM) -> None:
        self.stream = stream
        self.threshold = threshold
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last_tenth = -1
        self.drawn = False

    def __call__(self, name: str, payload: dict[str, Any]) -> None:
        total = int(payload.get("total") or 0)
        if name != "progress" or total < self.threshold:
            return
        processed = min(int(payload.get("processed") or 0), total)
        fraction = processed / total
        filled = int(fraction * BAR_WIDTH)
        line = f"{payload.get('phase', '')[:9]:<9} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {processed}/{total} {fraction:4.0%}"
        if self.tty:
            self.stream.write("\r" + line)
        else:
            tenth = int(fraction * 10)
            if tenth == self.last_tenth:
                return
            self.last_tenth = tenth
            self.stream.write(line + "\n")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn and self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------- the run


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
        storage = MemoryStorage(local=store.local, app={k: _app_record(k, v) for k, v in store.app.items()})
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
    files: list[tuple[Path, str]] = []
    if outcome.output is not None and args.output is not None and not args.dry_run:
        files.append((args.output, outcome.output))
    if args.report and args.report != "-":
        files.append((Path(args.report), _dump_file(outcome.report, True)))
    try:
        write_files(files)
    except OSError as exc:
        err.write(f"{PROG}: the migration ran but its files could not be written, nothing was written: {exc}\n")
        return EXIT_FAILED
    if args.report == "-":
        out.write(_dump_file(outcome.report, True))
    if not args.quiet:
        where = f"; wrote {args.output}" if outcome.output is not None and not args.dry_run else ""
        err.write(f"{PROG}: {outcome.message}{where}\n")
    return EXIT_OK


def main() -> None:
    """Console-script entry point: ``airprompts-migrate migrate INPUT -o OUTPUT``."""
    sys.exit(run())
