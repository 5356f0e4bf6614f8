"""The migration logger: an audit trail kept in the own store ``logs``.

Logging is synchronous (an entry is buffered, passed to the sink and emitted
as a ``"log"`` event at once); ``flush`` persists the buffer in one own
transaction and keeps the store bounded. Records of ``logging.getLogger("app")``
and its children reach the trail through ``LoggingHandler``.

A stored entry is the JSON text of::

    {"id": "0001700000000000-00000001", "time": "2023-11-14T22:13:20.000Z",
     "ts": 1700000000000, "level": "INFO", "message": "...", "context": {...},
     "runId": "..."}          # runId only when the entry belongs to a run

Its key is its ``id``: epoch milliseconds then a sequence number, so keys sort
by time.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import math
import time
from datetime import UTC, date, datetime
from typing import Any, Callable, Iterable

from app.core import timestamps
from app.core.errors import InvalidInput, MigrateError
from app.core.events import EventBus
from app.storage.base import Delete, Op, Put, Storage

_log = logging.getLogger(__name__)

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")
_RANK = {name: rank for rank, name in enumerate(LEVELS)}
_ALIASES = {"WARNING": "WARN", "FATAL": "CRITICAL"}
STORE = "logs"
EXPORT_FORMATS = ("json", "csv")
# Spreadsheets run cells starting with these as formulas (OWASP adds tab and CR).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_RUN_ID_KEYS = ("runId", "run_id")
_MAX_DEPTH = 20

Sink = Callable[[dict[str, Any]], None]


def normalize_level(level: object) -> str:
    """Return the canonical name of ``level`` (case-insensitive; ``WARNING`` is ``WARN``)."""
    if isinstance(level, str):
        name = level.strip().upper()
        name = _ALIASES.get(name, name)
        if name in _RANK:
            return name
    raise InvalidInput(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}", level=level, levels=list(LEVELS))


def jsonable(value: Any, _depth: int = 0) -> Any:
    """Return ``value`` as JSON-compatible data (``repr`` for anything else)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        # NaN and infinities are not JSON: JavaScript's JSON.parse rejects them.
        return value if math.isfinite(value) else repr(value)
    if _depth >= _MAX_DEPTH:
        return repr(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item, _depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(item, _depth + 1) for item in value), key=repr)
    if isinstance(value, MigrateError):
        return value.to_dict()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return repr(value)


def _to_ms(value: float | str | datetime | None, argument: str) -> int | None:
    """Return epoch milliseconds for a query bound: a number is epoch ms (like ``ts``), a string is ISO 8601."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(
            f"{argument} must be epoch milliseconds or an ISO 8601 string, got {value!r}", argument=argument
        )
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise InvalidInput(f"{argument} must be a finite number, got {value!r}", argument=argument)
        return math.floor(value) if argument == "since" else math.ceil(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidInput(f"{argument} is not an ISO 8601 date: {value!r}", argument=argument) from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return round(value.timestamp() * 1000)
    raise InvalidInput(f"{argument} must be epoch milliseconds or an ISO 8601 string, got {value!r}", argument=argument)


def _csv_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class _Journal:
    """Hold the state every view of one audit trail shares: buffer, level, storage."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], float],
        max_entries: int,
        events: EventBus | None,
        sink: Sink | None,
        level: str,
        flush_every: int,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.max_entries = max_entries
        self.events = events
        self.sink = sink
        self.rank = _RANK[level]
        self.flush_every = flush_every
        # (sequence, entry) in logging order; the sequence survives trimming, unlike an index.
        self.buffer: list[tuple[int, dict[str, Any]]] = []
        self.sequence = 0
        self.lock = asyncio.Lock()
        self.dispatching = False
        self.flush_task: asyncio.Task[None] | None = None
        self.next_auto_flush = flush_every

    def record(self, level: str, message: str, context: dict[str, Any]) -> dict[str, Any] | None:
        if _RANK[level] < self.rank:
            return None
        context = jsonable(context)
        run_id = None
        for key in _RUN_ID_KEYS:
            if key in context:
                run_id = context.pop(key)
        ts = round(self.clock() * 1000)
        self.sequence += 1
        entry: dict[str, Any] = {
            "id": f"{ts:015d}-{self.sequence:08d}",
            "time": timestamps.from_epoch_ms(ts),
            "ts": ts,
            "level": level,
            "message": message if isinstance(message, str) else str(message),
            "context": context,
        }
        if run_id is not None:
            entry["runId"] = run_id if isinstance(run_id, str) else str(run_id)
        self.buffer.append((self.sequence, entry))
        if len(self.buffer) > self.max_entries:
            # The store keeps only the newest max_entries, so older buffered entries could never survive a flush.
            del self.buffer[: len(self.buffer) - self.max_entries]
        self._dispatch(entry)
        self._maybe_auto_flush()
        return entry

    def _dispatch(self, entry: dict[str, Any]) -> None:
        if self.dispatching:
            # A sink or "log" subscriber failed and its error was logged back here: keep it, but do
            # not dispatch it to the same failing listener again.
            return
        self.dispatching = True
        try:
            if self.sink is not None:
                try:
                    self.sink(entry)
                except Exception:
                    _log.exception("log sink %r failed", self.sink)
            if self.events is not None:
                self.events.emit("log", entry)
        finally:
            self.dispatching = False

    def _maybe_auto_flush(self) -> None:
        if self.flush_every <= 0 or len(self.buffer) < self.next_auto_flush:
            return
        if self.flush_task is not None and not self.flush_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # Called outside any event loop: the next explicit flush persists the buffer.
        self.flush_task = loop.create_task(self._auto_flush())

    async def _auto_flush(self) -> None:
        try:
            await self.flush()
        except Exception as exc:
            # Nobody awaits this task: report the failure and back off until flush_every more entries arrive.
            self.next_auto_flush = len(self.buffer) + self.flush_every
            _log.warning("audit log flush failed, %d entries kept for the next flush: %s", len(self.buffer), exc)

    async def flush(self) -> None:
        async with self.lock:
            if not self.buffer:
                return
            batch = list(self.buffer)
            existing = await self.storage.own_keys(STORE)
            new_keys = {entry["id"] for _, entry in batch}
            keys = sorted({*existing, *new_keys})
            dropped = set(keys[: max(0, len(keys) - self.max_entries)])
            ops: list[Op] = [Delete(STORE, key) for key in existing if key in dropped]
            ops += [
                Put(STORE, entry["id"], json.dumps(entry, ensure_ascii=False))
                for _, entry in batch
                if entry["id"] not in dropped
            ]
            # On failure the buffer is untouched, so the next flush writes these entries again.
            await self.storage.own_write(ops)
            last = batch[-1][0]
            self.buffer = [(sequence, entry) for sequence, entry in self.buffer if sequence > last]
            self.next_auto_flush = self.flush_every

    async def entries(self, since_ms: int | None, until_ms: int | None) -> Iterable[dict[str, Any]]:
        """Return stored and buffered entries within the bounds, newest first."""
        found: dict[str, dict[str, Any]] = {}
        for key, text in await self.storage.own_scan(STORE):
            if not _key_in_range(key, since_ms, until_ms):
                continue
            try:
                entry = json.loads(text)
            except ValueError:
                continue  # A truncated or hand-edited record must not hide the rest of the trail.
            if isinstance(entry, dict):
                found[key] = entry
        for _, entry in self.buffer:
            if _key_in_range(entry["id"], since_ms, until_ms):
                found[entry["id"]] = entry
        return (found[key] for key in sorted(found, reverse=True))


def _key_in_range(key: str, since_ms: int | None, until_ms: int | None) -> bool:
    try:
        ts = int(key.split("-", 1)[0])
    except ValueError:
        return False
    return (since_ms is None or ts >= since_ms) and (until_ms is None or ts <= until_ms)


class MigrationLogger:
    """Record the audit trail of migrations: buffer, mirror, persist, query and export entries."""

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Callable[[], float] = time.time,
        max_entries: int = 5000,
        events: EventBus | None = None,
        sink: Sink | None = None,
        level: str = "INFO",
        flush_every: int = 50,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise InvalidInput(f"max_entries must be a positive integer, got {max_entries!r}", max_entries=max_entries)
        if isinstance(flush_every, bool) or not isinstance(flush_every, int) or flush_every < 0:
            raise InvalidInput(
                f"flush_every must be a non-negative integer (0 turns automatic flushes off), got {flush_every!r}",
                flush_every=flush_every,
            )
        self._journal = _Journal(storage, clock, max_entries, events, sink, normalize_level(level), flush_every)
        self._context: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<MigrationLogger level={self.level} buffered={self.buffered} context={self._context!r}>"

    @property
    def level(self) -> str:
        """Return the minimum level recorded."""
        return LEVELS[self._journal.rank]

    @property
    def buffered(self) -> int:
        """Return how many entries wait for the next flush."""
        return len(self._journal.buffer)

    def set_log_level(self, level: str) -> None:
        """Record entries at ``level`` and above only, for this logger and every bound one."""
        self._journal.rank = _RANK[normalize_level(level)]

    def bind(self, **context: Any) -> MigrationLogger:
        """Return a logger writing to the same trail that adds ``context`` (``runId``...) to every entry."""
        child = object.__new__(MigrationLogger)
        child._journal = self._journal
        child._context = {**self._context, **context}
        return child

    def log(self, level: str, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at ``level``; return the entry, or None below the current level."""
        return self._journal.record(normalize_level(level), message, {**self._context, **context})

    def debug(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at DEBUG."""
        return self._journal.record("DEBUG", message, {**self._context, **context})

    def info(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at INFO."""
        return self._journal.record("INFO", message, {**self._context, **context})

    def warn(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at WARN."""
        return self._journal.record("WARN", message, {**self._context, **context})

    def error(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at ERROR."""
        return self._journal.record("ERROR", message, {**self._context, **context})

    def critical(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at CRITICAL."""
        return self._journal.record("CRITICAL", message, {**self._context, **context})

    async def flush(self) -> None:
        """Persist the buffered entries in one own write, dropping the oldest stored beyond ``max_entries``."""
        await self._journal.flush()

    async def query_logs(
        self,
        *,
        level: str | None = None,
        text: str | None = None,
        since: float | str | None = None,
        until: float | str | None = None,
        limit: int | None = 100,
        run_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return stored and buffered entries matching every filter, newest first.

        ``level`` is a minimum; ``text`` a case-insensitive substring of the message or the context;
        ``since``/``until`` inclusive bounds as epoch milliseconds or ISO 8601 strings; ``limit=None``
        returns every match.
        """
        rank = _RANK[normalize_level(level)] if level is not None else 0
        if text is not None and not isinstance(text, str):
            raise InvalidInput(f"text must be a string, got {type(text).__name__}", argument="text")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise InvalidInput(f"limit must be a non-negative integer, got {limit!r}", argument="limit")
        needle = text.lower() if text else None
        since_ms, until_ms = _to_ms(since, "since"), _to_ms(until, "until")
        matches: list[dict[str, Any]] = []
        if limit == 0:
            return matches
        for entry in await self._journal.entries(since_ms, until_ms):
            if _RANK.get(entry.get("level"), 0) < rank:
                continue
            if run_id is not None and entry.get("runId") != run_id:
                continue
            if needle is not None and needle not in str(entry.get("message", "")).lower():
                context = json.dumps(entry.get("context", {}), ensure_ascii=False).lower()
                if needle not in context:
                    continue
            matches.append(entry)
            if limit is not None and len(matches) >= limit:
                break
        return matches

    async def export_logs(self, fmt: str = "json", **query: Any) -> str:
        """Return the matching entries, oldest first, as a JSON array or CSV text (``limit`` defaults to all)."""
        kind = fmt.strip().lower() if isinstance(fmt, str) else fmt
        if kind not in EXPORT_FORMATS:
            raise InvalidInput(f"unknown export format {fmt!r}; use 'json' or 'csv'", format=fmt)
        query.setdefault("limit", None)
        entries = list(reversed(await self.query_logs(**query)))
        if kind == "json":
            return json.dumps(entries, ensure_ascii=False)
        out = io.StringIO()
        # RFC 4180: CRLF line ends; quote fields holding commas, quotes or line breaks.
        writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["time", "level", "message", "context"])
        for entry in entries:
            context = dict(entry.get("context") or {})
            if "runId" in entry:
                context = {"runId": entry["runId"], **context}
            cells = [
                entry.get("time", ""),
                entry.get("level", ""),
                entry.get("message", ""),
                json.dumps(context, ensure_ascii=False),
            ]
            writer.writerow([_csv_cell(str(cell)) for cell in cells])
        return out.getvalue()


def _level_of(levelno: int) -> str:
    if levelno >= logging.CRITICAL:
        return "CRITICAL"
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARN"
    if levelno >= logging.INFO:
        return "INFO"
    return "DEBUG"


class LoggingHandler(logging.Handler):
    """Forward ``logging`` records into a MigrationLogger (WARNING becomes WARN).

    A record's ``extra={"context": {...}}`` is merged into the entry's context.
    """

    def __init__(self, migration_logger: MigrationLogger, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.migration_logger = migration_logger
        self._exception_formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            context: dict[str, Any] = {"logger": record.name}
            extra = getattr(record, "context", None)
            if isinstance(extra, dict):
                context.update(extra)
            if record.exc_info:
                context["exception"] = self._exception_formatter.formatException(record.exc_info)
            self.migration_logger.log(_level_of(record.levelno), record.getMessage(), **context)
        except Exception:
            self.handleError(record)


def bridge_logging(migration_logger: MigrationLogger, logger_name: str = "app") -> Callable[[], None]:
    """Send records of ``logger_name`` and its children into ``migration_logger``; return the detacher."""
    target = logging.getLogger(logger_name)
    handler = LoggingHandler(migration_logger)
    target.addHandler(handler)
    previous_level = target.level
    if previous_level == logging.NOTSET:
        # Otherwise the root's WARNING level would stop DEBUG/INFO records before the handler;
        # the migration logger applies its own level.
        target.setLevel(logging.DEBUG)

    def detach() -> None:
        target.removeHandler(handler)
        if previous_level == logging.NOTSET:
            target.setLevel(logging.NOTSET)

    return detach
