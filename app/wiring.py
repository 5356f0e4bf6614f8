"""Build the services from their parts: the one place that knows every constructor."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from app.core import jsonstream
from app.core.events import EventBus
from app.services.backup import BackupService
from app.services.compatibility import CompatibilityLayer
from app.services.logger import MigrationLogger, bridge_logging
from app.services.migration import MigrationService
from app.services.performance import PerformanceMonitor


@dataclass
class Services:
    """Every service of the migration guide, wired to one storage."""

    storage: Any
    events: EventBus
    logger: MigrationLogger
    monitor: PerformanceMonitor
    backups: BackupService
    migration: MigrationService
    compatibility: CompatibilityLayer
    detach_logging: Callable[[], None]
    lock: Any = None  # the migration's cross-tab lock (the API waits on it for another tab's run)

    def __repr__(self) -> str:
        return f"<Services storage={self.storage!r} level={self.logger.level}>"


def build(
    storage: Any,
    crypto: Any,
    lock: Any,
    *,
    compat_lock: Any | None = None,
    clock: Callable[[], float] = time.time,
    perf_clock: Callable[[], float] = time.perf_counter,
    memory_probe: Callable[[], dict] | None = None,
    sink: Callable[[dict], None] | None = None,
    sleep: Any = None,
    **migration_options: Any,
) -> Services:
    """Return the services wired to ``storage``, ``crypto`` and the migration ``lock``."""
    events = EventBus()
    logger = MigrationLogger(storage, clock=clock, events=events, sink=sink)
    detach = bridge_logging(logger)
    monitor = PerformanceMonitor(clock=perf_clock, memory_probe=memory_probe)
    count_array = migration_options.get("count_array", jsonstream.count_array)
    backups = BackupService(storage, crypto, clock=clock, count_array=count_array)
    extra = {"sleep": sleep} if sleep is not None else {}
    migration = MigrationService(storage, backups, logger, monitor, events, lock, clock=clock, **extra, **migration_options)
    compatibility = CompatibilityLayer(storage, compat_lock if compat_lock is not None else lock, logger, clock=clock)
    return Services(storage, events, logger, monitor, backups, migration, compatibility, detach, lock)
