"""The camelCase ``window.airprompts`` API over the snake_case services.

The JavaScript side (static/js/api.js) sends ``(service, method, JSON args)``
to ``Api.dispatch`` and gets back JSON text: ``{"result": ...}`` or
``{"error": {"name", "message", "details"}}``. This is the one place where
Python names become JavaScript names and Python errors become JS errors.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
from typing import Any, Callable

from app.core.errors import InvalidInput, MigrateError, as_app_error, describe
from app.wiring import Services

log = logging.getLogger(__name__)

Handler = Callable[..., Any]


def _options(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"options must be an object, got {type(value).__name__}")
    return value


def _run_options(options: Any) -> dict:
    opts = _options(options)
    kwargs: dict[str, Any] = {}
    if opts.get("batchSize") is not None:
        size = opts["batchSize"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1 or size > 100_000:
            raise InvalidInput(f"batchSize must be a whole number from 1 to 100000, got {size!r}")
        kwargs["batch_size"] = size
    if opts.get("batchDelayMs") is not None:
        delay = opts["batchDelayMs"]
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0 or not math.isfinite(delay):
            raise InvalidInput(f"batchDelayMs must be a number of milliseconds >= 0, got {delay!r}")
        kwargs["batch_delay_ms"] = delay
    return kwargs


def _passphrase(options: dict) -> dict:
    passphrase = options.get("passphrase")
    if passphrase is None or passphrase == "":
        return {}
    if not isinstance(passphrase, str):
        raise InvalidInput("passphrase must be a string")
    return {"passphrase": passphrase}


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string, got {value!r}")
    return value


class Api:
    """Dispatch calls from ``window.airprompts`` to the services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.table: dict[tuple[str, str], Handler] = self._table(services)

    def __repr__(self) -> str:
        return f"<Api methods={len(self.table)}>"

    def _table(self, s: Services) -> dict[tuple[str, str], Handler]:
        m, c, b, lg, pm = s.migration, s.compatibility, s.backups, s.logger, s.monitor
        return {
            ("dataMigrationService", "checkMigrationStatus"): lambda: m.check_migration_status(),
            ("dataMigrationService", "runPendingMigrations"): lambda options=None: m.run_pending_migrations(
                **_run_options(options)
            ),
            ("dataMigrationService", "startProgressiveMigration"): lambda options=None: m.start_progressive_migration(
                **_run_options(options)
            ),
            ("dataMigrationService", "getMigrationProgress"): lambda: m.get_migration_progress(),
            ("dataMigrationService", "getHistory"): lambda: m.get_history(),
            ("dataMigrationService", "dryRun"): lambda options=None: m.dry_run(
                **{k: v for k, v in _run_options(options).items() if k == "batch_size"}
            ),
            ("dataMigrationService", "pauseMigration"): lambda: m.pause(),
            ("dataMigrationService", "resumeMigration"): lambda: m.resume(),
            ("dataMigrationService", "getLastReport"): lambda: m.get_last_report(),
            ("dataMigrationService", "getQuarantine"): lambda run_id=None: m.get_quarantine(run_id),
            ("dataMigrationService", "recover"): lambda: m.recover(),
            ("compatibilityLayer", "get"): lambda name: c.get(_text(name, "name")),
            ("compatibilityLayer", "save"): lambda name, value: c.save(_text(name, "name"), value),
            ("compatibilityLayer", "isMigrated"): lambda name: c.is_migrated(_text(name, "name")),
            ("compatibilityLayer", "getMigrationStats"): lambda: c.get_migration_stats(),
            ("compatibilityLayer", "setDualReadMode"): lambda enabled, duration_ms=None: c.set_dual_read_mode(
                bool(enabled), duration_ms
            ),
            ("compatibilityLayer", "getDualReadMode"): lambda: c.get_dual_read_mode(),
            ("backupService", "createFullBackup"): lambda description="", options=None: b.create_full_backup(
                description or "", **_passphrase(_options(options))
            ),
            ("backupService", "createIncrementalBackup"): lambda description="", options=None: b.create_incremental_backup(
                description or "",
                **_passphrase(_options(options)),
                **({"base_id": _options(options)["baseId"]} if _options(options).get("baseId") else {}),
            ),
            ("backupService", "listBackups"): lambda: b.list_backups(),
            ("backupService", "verifyBackup"): lambda backup_id, options=None: b.verify_backup(
                _text(backup_id, "backup id"), **_passphrase(_options(options))
            ),
            ("backupService", "restoreBackup"): lambda backup_id, options=None: b.restore_backup(
                _text(backup_id, "backup id"),
                **_passphrase(_options(options)),
                **({"keys": list(_options(options)["keys"])} if _options(options).get("keys") else {}),
            ),
            ("backupService", "deleteBackup"): lambda backup_id: b.delete_backup(_text(backup_id, "backup id")),
            ("backupService", "exportBackup"): lambda backup_id: b.export_backup(_text(backup_id, "backup id")),
            ("backupService", "importBackup"): lambda text: b.import_backup(_text(text, "backup file text")),
            ("migrationLogger", "setLogLevel"): lambda level: lg.set_log_level(_text(level, "level")),
            ("migrationLogger", "queryLogs"): lambda query=None: lg.query_logs(**_log_query(query)),
            ("migrationLogger", "exportLogs"): lambda fmt="json", query=None: lg.export_logs(fmt or "json", **_log_query(query)),
            ("migrationLogger", "log"): lambda level, message, context=None: lg.log(
                _text(level, "level").upper(), str(message), **_options(context)
            ),
            ("performanceMonitor", "getMetrics"): lambda: pm.get_metrics(),
        }

    async def call(self, service: str, method: str, args: list) -> Any:
        """Run ``service.method(*args)`` and return its plain result."""
        handler = self.table.get((service, method))
        if handler is None:
            raise InvalidInput(f"airprompts.{service}.{method} does not exist")
        try:
            result = handler(*args)
        except TypeError as exc:
            raise InvalidInput(f"airprompts.{service}.{method}: {exc}") from exc
        if inspect.isawaitable(result):
            result = await result
        if service == "migrationLogger" and method == "setLogLevel":
            return {"level": self.services.logger.level}
        if service == "migrationLogger" and method == "log":
            await self.services.logger.flush()
        return plain(result)

    async def dispatch(self, service: str, method: str, args_json: str) -> str:
        """Answer one JavaScript call with JSON text, errors included."""
        try:
            args = json.loads(args_json) if args_json else []
            if not isinstance(args, list):
                raise InvalidInput("arguments must be a JSON array")
            result = await self.call(service, method, args)
            return json.dumps({"result": result}, ensure_ascii=False, allow_nan=False)
        except MigrateError as exc:
            log.warning("airprompts.%s.%s failed: %s: %s", service, method, exc.name, exc.message)
            return json.dumps({"error": exc.to_dict()}, ensure_ascii=False)
        except Exception as exc:  # every failure must reach the caller as an Error
            known = as_app_error(exc)  # a browser error that did not pass through the storage bridge
            if known is not None:
                log.warning("airprompts.%s.%s failed: %s: %s", service, method, known.name, exc)
                return json.dumps({"error": known.to_dict()}, ensure_ascii=False)
            log.exception("airprompts.%s.%s failed unexpectedly", service, method)
            error = {"name": "InternalError", "message": describe(exc), "details": {"type": type(exc).__name__}}
            return json.dumps({"error": error}, ensure_ascii=False)


def _log_query(query: Any) -> dict:
    q = _options(query)
    names = {"level": "level", "text": "text", "since": "since", "until": "until", "limit": "limit", "runId": "run_id"}
    unknown = sorted(set(q) - set(names))
    if unknown:
        raise InvalidInput(f"unknown log query fields: {', '.join(unknown)}")
    return {names[k]: v for k, v in q.items() if v is not None}


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-compatible data (dataclasses and models become dicts)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return plain(to_dict())
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return plain(model_dump())
    return str(value)
