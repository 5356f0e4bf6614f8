"""The ``logging`` bridge: records of ``logging.getLogger("app")`` and its children reach the trail."""

from __future__ import annotations

import logging
from typing import Any, Callable

from app.services.logger.service import MigrationLogger


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
