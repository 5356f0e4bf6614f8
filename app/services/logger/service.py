"""``MigrationLogger``, the facade of the audit trail: log, bind, flush, query and export."""

from __future__ import annotations

import time
from typing import Any, Callable

from app.core.errors import InvalidInput
from app.core.events import EventBus
from app.services.logger.entry import LEVELS, RANK, normalize_level
from app.services.logger.query import export_format, export_text, query_entries
from app.services.logger.trail import Sink, Trail
from app.storage.base import Storage


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
        self._trail = Trail(storage, clock, max_entries, events, sink, normalize_level(level), flush_every)
        self._context: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<MigrationLogger level={self.level} buffered={self.buffered} context={self._context!r}>"

    @property
    def level(self) -> str:
        """Return the minimum level recorded."""
        return LEVELS[self._trail.rank]

    @property
    def buffered(self) -> int:
        """Return how many entries wait for the next flush."""
        return len(self._trail.buffer)

    def set_log_level(self, level: str) -> None:
        """Record entries at ``level`` and above only, for this logger and every bound one."""
        self._trail.rank = RANK[normalize_level(level)]

    def bind(self, **context: Any) -> MigrationLogger:
        """Return a logger writing to the same trail that adds ``context`` (``runId``...) to every entry."""
        child = object.__new__(MigrationLogger)
        child._trail = self._trail
        child._context = {**self._context, **context}
        return child

    def log(self, level: str, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at ``level``; return the entry, or None below the current level."""
        return self._trail.record(normalize_level(level), message, {**self._context, **context})

    def debug(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at DEBUG."""
        return self._trail.record("DEBUG", message, {**self._context, **context})

    def info(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at INFO."""
        return self._trail.record("INFO", message, {**self._context, **context})

    def warn(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at WARN."""
        return self._trail.record("WARN", message, {**self._context, **context})

    def error(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at ERROR."""
        return self._trail.record("ERROR", message, {**self._context, **context})

    def critical(self, message: str, /, **context: Any) -> dict[str, Any] | None:
        """Record ``message`` at CRITICAL."""
        return self._trail.record("CRITICAL", message, {**self._context, **context})

    async def flush(self) -> None:
        """Persist the buffered entries in one own write, dropping the oldest stored beyond ``max_entries``."""
        await self._trail.flush()

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
        return await query_entries(
            self._trail, level=level, text=text, since=since, until=until, limit=limit, run_id=run_id
        )

    async def export_logs(self, fmt: str = "json", **query: Any) -> str:
        """Return the matching entries, oldest first, as a JSON array or CSV text (``limit`` defaults to all)."""
        kind = export_format(fmt)
        query.setdefault("limit", None)
        entries = list(reversed(await self.query_logs(**query)))
        return export_text(entries, kind)
