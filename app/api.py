"""The camelCase ``window.airprompts`` API over the snake_case services.

The JavaScript side (static/js/api.js) sends ``(service, method, JSON args)``
to ``Api.dispatch`` and gets back JSON text: ``{"result": ...}`` or
``{"error": {"name", "message", "details"}}``. This is the one place where
Python names become JavaScript names and Python errors become JS errors:

* every method's arguments are checked here, by name, before a service runs:
  a wrong one is ``InvalidInput`` naming the argument and what was expected
  (``details.argument``, ``details.expected``); unknown option fields are refused;
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
from dataclasses import dataclass
from typing import Any, Callable

from app.core import keys
from app.core.errors import InvalidInput, MigrateError, as_app_error, describe
from app.services.logger import LEVELS
from app.wiring import Services

log = logging.getLogger(__name__)

Handler = Callable[..., Any]

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


# ---------------------------------------------------------------------- argument checks


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _shown(value: Any) -> str:
    """Return ``value`` as JavaScript would print it, shortened: never a Python repr."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        text = _js_type(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{_js_type(value)} {text}" if isinstance(value, (list, dict)) else text


class _Bad(Exception):
    """One argument is wrong: what was expected of it (of its ``member``, for an options object)."""

    def __init__(self, expected: str, *, member: str | None = None, got: Any = None, unknown: list[str] | None = None) -> None:
        super().__init__(expected)
        self.expected = expected
        self.member = member
        self.got = got
        self.unknown = unknown


Check = Callable[[Any], Any]


def text() -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise _Bad("a non-empty string")
        return value

    check.expected = "a non-empty string"  # type: ignore[attr-defined]
    return check


def string() -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise _Bad("a string")
        return value

    check.expected = "a string"  # type: ignore[attr-defined]
    return check


def boolean() -> Check:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _Bad("true or false")
        return value

    check.expected = "true or false"  # type: ignore[attr-defined]
    return check


def number(low: float, high: float | None = None, *, whole: bool = False, low_open: bool = False) -> Check:
    kind = "a whole number" if whole else "a number"
    bound = f"{'above' if low_open else 'from'} {low:g}" + (f" to {high:g}" if high is not None else "")
    if high is None and not low_open:
        bound = f">= {low:g}"
    expected = f"{kind} {bound}"

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _Bad(expected)
        if whole and value != int(value):
            raise _Bad(expected)
        if value < low or (low_open and value == low) or (high is not None and value > high):
            raise _Bad(expected)
        return int(value) if whole else value

    check.expected = expected  # type: ignore[attr-defined]
    return check


def one_of(*choices: str, fold: bool = True) -> Check:
    expected = "one of " + ", ".join(repr(c).replace("'", '"') for c in choices)

    def check(value: Any) -> str:
        if not isinstance(value, str) or (value.strip().upper() if fold else value) not in {
            c.upper() if fold else c for c in choices
        }:
            raise _Bad(expected)
        return value

    check.expected = expected  # type: ignore[attr-defined]
    return check


def anything() -> Check:
    def check(value: Any) -> Any:
        return value

    check.expected = "any JSON value"  # type: ignore[attr-defined]
    return check


def array_of_text() -> Check:
    def check(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise _Bad("an array of key names (strings)")
        return list(value)

    check.expected = "an array of key names (strings)"  # type: ignore[attr-defined]
    return check


def time_bound() -> Check:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise _Bad("epoch milliseconds or an ISO 8601 string")
        return value

    check.expected = "epoch milliseconds or an ISO 8601 string"  # type: ignore[attr-defined]
    return check


@dataclass(frozen=True)
class Field:
    """One member of an options object: its JavaScript name, its Python keyword, its check."""

    name: str
    keyword: str
    check: Check


def options(*fields: Field) -> Check:
    """Check an options object (null or omitted: none): known members only, each checked."""
    known = {f.name: f for f in fields}
    names = ", ".join(known) or "none"
    expected = f"an object with the members {names}"

    def check(value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _Bad(expected)
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise _Bad(expected, unknown=unknown)
        out = {}
        for name, item in value.items():
            if item is None:
                continue
            try:
                out[known[name].keyword] = known[name].check(item)
            except _Bad as bad:
                raise _Bad(bad.expected, member=name, got=item) from None
        return out

    check.expected = expected  # type: ignore[attr-defined]
    check.fields = known  # type: ignore[attr-defined]
    return check


@dataclass(frozen=True)
class Param:
    """One positional argument: its JavaScript name, the service keyword it becomes, its check."""

    name: str
    keyword: str
    check: Check
    required: bool = True


def arg(name: str, keyword: str, check: Check, *, required: bool = True) -> Param:
    return Param(name, keyword, check, required)


@dataclass(frozen=True)
class Method:
    """A method of ``window.airprompts``: its arguments and the service call they feed."""

    params: tuple[Param, ...]
    run: Handler

    def bind(self, where: str, args: list[Any]) -> dict[str, Any]:
        """Return the service keywords for ``args``; raise InvalidInput naming the first wrong argument."""
        names = ", ".join(p.name if p.required else p.name + "?" for p in self.params)
        if len(args) > len(self.params):
            raise InvalidInput(
                f"{where}({names}) takes at most {len(self.params)} argument(s), got {len(args)}",
                argument=None,
                expected=f"at most {len(self.params)} argument(s)",
                got=len(args),
            )
        kwargs: dict[str, Any] = {}
        for index, param in enumerate(self.params):
            present = index < len(args) and args[index] is not None
            if not present:
                if param.required:
                    expected = getattr(param.check, "expected", "a value")
                    raise InvalidInput(
                        f"{where}({names}): {param.name} is required ({expected})",
                        argument=param.name,
                        expected=expected,
                    )
                continue
            value = args[index]
            try:
                kwargs[param.keyword] = param.check(value)
            except _Bad as bad:
                if bad.unknown:
                    known = ", ".join(getattr(param.check, "fields", {})) or "none"
                    raise InvalidInput(
                        f"{where}({names}): {param.name} has unknown member(s) {', '.join(bad.unknown)}; "
                        f"the known ones are {known}",
                        argument=param.name,
                        expected=bad.expected,
                        unknown=bad.unknown,
                    ) from None
                if bad.member is not None:
                    raise InvalidInput(
                        f"{where}({names}): {param.name}.{bad.member} must be {bad.expected}, got {_shown(bad.got)}",
                        argument=f"{param.name}.{bad.member}",
                        expected=bad.expected,
                    ) from None
                raise InvalidInput(
                    f"{where}({names}): {param.name} must be {bad.expected}, got {_shown(value)}",
                    argument=param.name,
                    expected=bad.expected,
                ) from None
        return kwargs


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
            known = as_app_error(exc)  # a browser error that did not pass through the storage bridge
            if known is not None:
                log.warning("airprompts.%s.%s failed: %s: %s", service, method, known.name, exc)
                return json.dumps({"error": error_dict(known)}, ensure_ascii=False)
            log.exception("airprompts.%s.%s failed unexpectedly", service, method)
            error = {"name": "InternalError", "message": describe(exc), "details": {"type": type(exc).__name__}}
            return json.dumps({"error": error}, ensure_ascii=False)


def options_any() -> Check:
    """Check a free-form object (a log entry's context): any members."""

    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Bad("an object")
        return value

    check.expected = "an object"  # type: ignore[attr-defined]
    return check


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
