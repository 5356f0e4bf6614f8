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

One noun a module: ``entry`` (levels, JSON-compatible context), ``trail`` (the
buffer and the store every bound logger shares), ``query`` (queries and the
JSON/CSV export), ``service`` (``MigrationLogger``, the facade), ``bridge``
(the ``logging`` handler).
"""

from app.services.logger.bridge import LoggingHandler, bridge_logging
from app.services.logger.entry import LEVELS, jsonable, normalize_level
from app.services.logger.query import EXPORT_FORMATS
from app.services.logger.service import MigrationLogger
from app.services.logger.trail import STORE, Sink

__all__ = [
    "EXPORT_FORMATS",
    "LEVELS",
    "STORE",
    "LoggingHandler",
    "MigrationLogger",
    "Sink",
    "bridge_logging",
    "jsonable",
    "normalize_level",
]
