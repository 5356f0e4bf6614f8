"""The camelCase ``window.airprompts`` API over the snake_case services.

The JavaScript side (static/js/api.js) sends ``(service, method, JSON args)``
to ``Api.dispatch`` and gets back JSON text: ``{"result": ...}`` or
``{"error": {"name", "message", "details"}}``. This is the one place where
Python names become JavaScript names and Python errors become JS errors:

* every method's arguments are checked here, by name, before a service runs
  (the checks are ``app.arguments``): a wrong one is ``InvalidInput`` naming the
  argument and what was expected (``details.argument``, ``details.expected``);
  unknown option fields are refused;
* every result, event payload and error ``details`` leaves through
  ``camel_keys``, which renames the API's own snake_case members and never
  touches the user's data (records, stored values, log context).
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import re
from typing import Any

from app.arguments import (
    Field,
    Method,
    Param,
    anything,
    arg,
    array_of_text,
    boolean,
    number,
    one_of,
    options,
    options_any,
    string,
    text,
    time_bound,
)
from app.core import keys
from app.core.errors import InvalidInput, MigrateError, error_payload
from app.services.logger import LEVELS
from app.wiring import Services

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------- camelCase results

_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
# Members whose value is the user's own data, passed through untouched: a quarantined or
# conflicting record, a stored value, the context a caller logged.
OPAQUE_MEMBERS = frozenset({"record", "kept", "raw", "value", "context"})
# Methods whose whole result is the user's data.
RAW_RESULTS = frozenset({("compatibilityLayer", "get")})


def camel_name(name: str) -> str:
    """Return the camelCase spelling of the snake_case ``name``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _data_name(name: str) -> bool:
    """Return whether a member name is a storage key or a data name (``recent_items``), not an API field."""
    return keys.is_app_key(name) or name in keys.VALUES or name.startswith(keys.APP_SOURCE_PREFIX)


def camel_keys(value: Any) -> Any:
    """Return ``value`` with the API's snake_case member names in camelCase, the user's data untouched."""
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            name = str(name)
            renamed = camel_name(name) if _SNAKE.fullmatch(name) and not _data_name(name) else name
            out[renamed] = item if name in OPAQUE_MEMBERS else camel_keys(item)
        return out
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    return value


def error_dict(exc: MigrateError) -> dict[str, Any]:
    """Return the JS error payload of ``exc``, its details in camelCase."""
    return camel_keys(exc.to_dict())


def event_json(payload: dict[str, Any]) -> str:
    """Return an event payload as the JSON text of its CustomEvent ``detail``."""
    return json.dumps(camel_keys(plain(payload)), ensure_ascii=False, default=str)


RUN_OPTIONS = (
    Field("batchSize", "batch_size", number(1, 100_000, whole=True)),
    Field("batchDelayMs", "batch_delay_ms", number(0)),
)
PASSPHRASE = Field("passphrase", "passphrase", string())
LOG_QUERY = options(
    Field("level", "level", one_of(*LEVELS, "WARNING")),
    Field("text", "text", string()),
    Field("since", "since", time_bound()),
    Field("until", "until", time_bound()),
    Field("limit", "limit", number(0, whole=True)),
    Field("runId", "run_id", text()),
)


def _no_empty_passphrase(kwargs: dict[str, Any]) -> dict[str, Any]:
    # An empty passphrase field in a form means "no encryption", as it always has.
    if kwargs.get("passphrase") == "":
        del kwargs["passphrase"]
    return kwargs


class Api:
    """Dispatch calls from ``window.airprompts`` to the services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.methods: dict[tuple[str, str], Method] = self._methods(services)
        self.table = self.methods

    def __repr__(self) -> str:
        return f"<Api methods={len(self.methods)}>"

    def _methods(self, s: Services) -> dict[tuple[str, str], Method]:
        m, c, b, lg, pm = s.migration, s.compatibility, s.backups, s.logger, s.monitor

        def dual_read(enabled: bool, duration_ms: float | None = None) -> Any:
            return c.set_dual_read_mode(enabled, duration_ms)

        def full_backup(description: str = "", opts: dict | None = None) -> Any:
            return b.create_full_backup(description, **_no_empty_passphrase(dict(opts or {})))

        def incremental(description: str = "", opts: dict | None = None) -> Any:
            return b.create_incremental_backup(description, **_no_empty_passphrase(dict(opts or {})))

        def verify(backup_id: str, opts: dict | None = None) -> Any:
            return b.verify_backup(backup_id, **_no_empty_passphrase(dict(opts or {})))

        def restore(backup_id: str, opts: dict | None = None) -> Any:
            kwargs = _no_empty_passphrase(dict(opts or {}))
            if kwargs.get("keys") == []:
                del kwargs["keys"]  # no selection: the whole backup, as before
            return b.restore_backup(backup_id, **kwargs)

        def set_level(level: str) -> dict[str, Any]:
            lg.set_log_level(level)
            return {"level": lg.level}

        async def write_log(level: str, message: str, context: dict | None = None) -> Any:
            entry = lg.log(level.upper(), message, **(context or {}))
            await lg.flush()
            return entry

        async def wait_until_idle() -> Any:
            # Another tab's run ends, or its tab closes (its lock goes with it): then recover what it
            # left in the journal, as a reload of this page would (resume or roll back).
            await s.lock.wait_released()
            return await m.recover()

        run_opts = options(*RUN_OPTIONS)
        none: tuple[Param, ...] = ()
        return {
            ("dataMigrationService", "checkMigrationStatus"): Method(none, m.check_migration_status),
            ("dataMigrationService", "runPendingMigrations"): Method(
                (arg("options", "opts", run_opts, required=False),),
                lambda opts=None: m.run_pending_migrations(**(opts or {})),
            ),
            ("dataMigrationService", "startProgressiveMigration"): Method(
                (arg("options", "opts", run_opts, required=False),),
                lambda opts=None: m.start_progressive_migration(**(opts or {})),
            ),
            ("dataMigrationService", "getMigrationProgress"): Method(none, m.get_migration_progress),
            ("dataMigrationService", "getHistory"): Method(none, m.get_history),
            ("dataMigrationService", "dryRun"): Method(
                (arg("options", "opts", options(RUN_OPTIONS[0]), required=False),),
                lambda opts=None: m.dry_run(**(opts or {})),
            ),
            ("dataMigrationService", "pauseMigration"): Method(none, m.pause),
            ("dataMigrationService", "resumeMigration"): Method(none, m.resume),
            ("dataMigrationService", "getLastReport"): Method(none, m.get_last_report),
            ("dataMigrationService", "getQuarantine"): Method(
                (arg("runId", "run_id", text(), required=False),), lambda run_id=None: m.get_quarantine(run_id)
            ),
            ("dataMigrationService", "recover"): Method(none, m.recover),
            ("dataMigrationService", "waitUntilIdle"): Method(none, wait_until_idle),
            ("compatibilityLayer", "get"): Method((arg("name", "name", text()),), c.get),
            # value null is a value (the service decides whether it may be saved); omitted is not.
            ("compatibilityLayer", "save"): Method((arg("name", "name", text()), arg("value", "value", anything())), c.save),
            ("compatibilityLayer", "isMigrated"): Method((arg("name", "name", text()),), c.is_migrated),
            ("compatibilityLayer", "getMigrationStats"): Method(none, c.get_migration_stats),
            ("compatibilityLayer", "setDualReadMode"): Method(
                (
                    arg("enabled", "enabled", boolean()),
                    arg("durationMs", "duration_ms", number(0, low_open=True), required=False),
                ),
                dual_read,
            ),
            ("compatibilityLayer", "getDualReadMode"): Method(none, c.get_dual_read_mode),
            ("compatibilityLayer", "getStored"): Method((arg("name", "name", text()),), c.get_stored),
            ("compatibilityLayer", "getStoredKeys"): Method(none, c.get_stored_keys),
            ("backupService", "createFullBackup"): Method(
                (
                    arg("description", "description", string(), required=False),
                    arg("options", "opts", options(PASSPHRASE), required=False),
                ),
                full_backup,
            ),
            ("backupService", "createIncrementalBackup"): Method(
                (
                    arg("description", "description", string(), required=False),
                    arg("options", "opts", options(PASSPHRASE, Field("baseId", "base_id", text())), required=False),
                ),
                incremental,
            ),
            ("backupService", "listBackups"): Method(none, b.list_backups),
            ("backupService", "verifyBackup"): Method(
                (arg("id", "backup_id", text()), arg("options", "opts", options(PASSPHRASE), required=False)), verify
            ),
            ("backupService", "restoreBackup"): Method(
                (
                    arg("id", "backup_id", text()),
                    arg("options", "opts", options(PASSPHRASE, Field("keys", "keys", array_of_text())), required=False),
                ),
                restore,
            ),
            ("backupService", "deleteBackup"): Method((arg("id", "backup_id", text()),), b.delete_backup),
            ("backupService", "exportBackup"): Method((arg("id", "backup_id", text()),), b.export_backup),
            ("backupService", "importBackup"): Method((arg("text", "text", text()),), b.import_backup),
            ("migrationLogger", "setLogLevel"): Method((arg("level", "level", one_of(*LEVELS, "WARNING")),), set_level),
            ("migrationLogger", "getLogLevel"): Method(none, lambda: {"level": lg.level}),
            ("migrationLogger", "queryLogs"): Method(
                (arg("query", "query", LOG_QUERY, required=False),), lambda query=None: lg.query_logs(**(query or {}))
            ),
            ("migrationLogger", "exportLogs"): Method(
                (
                    arg("format", "fmt", one_of("json", "csv"), required=False),
                    arg("query", "query", LOG_QUERY, required=False),
                ),
                lambda fmt="json", query=None: lg.export_logs(fmt, **(query or {})),
            ),
            ("migrationLogger", "log"): Method(
                (
                    arg("level", "level", one_of(*LEVELS, "WARNING")),
                    arg("message", "message", string()),
                    arg("context", "context", options_any(), required=False),
                ),
                write_log,
            ),
            ("performanceMonitor", "getMetrics"): Method(none, pm.get_metrics),
        }

    async def call(self, service: str, method: str, args: list) -> Any:
        """Run ``service.method(*args)`` and return its plain, camelCase result."""
        spec = self.methods.get((service, method))
        if spec is None:
            raise InvalidInput(f"airprompts.{service}.{method} does not exist", service=service, method=method)
        kwargs = spec.bind(f"airprompts.{service}.{method}", args)
        result = spec.run(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        result = plain(result)
        return result if (service, method) in RAW_RESULTS else camel_keys(result)

    async def dispatch(self, service: str, method: str, args_json: str) -> str:
        """Answer one JavaScript call with JSON text, errors included."""
        try:
            try:
                args = json.loads(args_json) if args_json else []
            except ValueError as exc:
                raise InvalidInput(f"arguments must be a JSON array ({exc})") from exc
            if not isinstance(args, list):
                raise InvalidInput("arguments must be a JSON array")
            result = await self.call(service, method, args)
            return json.dumps({"result": result}, ensure_ascii=False, allow_nan=False)
        except MigrateError as exc:
            log.warning("airprompts.%s.%s failed: %s: %s", service, method, exc.name, exc.message)
            return json.dumps({"error": error_dict(exc)}, ensure_ascii=False)
        except Exception as exc:  # every failure must reach the caller as an Error
            # A browser error that did not pass through the storage bridge, or an internal one.
            error = error_payload(exc)
            if error["name"] == "InternalError":
                log.exception("airprompts.%s.%s failed unexpectedly", service, method)
            else:
                log.warning("airprompts.%s.%s failed: %s: %s", service, method, error["name"], exc)
            return json.dumps({"error": camel_keys(error)}, ensure_ascii=False)


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
