"""What every part of a run shares: its collaborators, the retry policy, the lock, progress and events."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from typing import Any, Callable, Iterator

from app.core.errors import MigrationInProgress
from app.core.events import EventBus
from app.services import journal
from app.services.backup import BackupService
from app.services.locking import take_lock
from app.services.logger import MigrationLogger
from app.services.migration.state import Run
from app.services.performance import PerformanceMonitor
from app.storage.base import Op

_log = logging.getLogger(__name__)

# A compatibility-layer save holds the lock for a few milliseconds: give it a moment
# before telling the caller another migration runs.
LOCK_DELAYS = (0.02, 0.05, 0.1, 0.2)


_gc_holds = 0


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a run holds the lock.

    A run allocates millions of small dicts and lists of JSON data, which hold no
    cycles, and each allocation burst triggers a collection that walks every live
    container: about a sixth of a 4 000-record run in Pyodide. Reference counting
    still frees everything; the collector runs again as soon as the last run ends.
    Nested and concurrent holders are counted, so the first to leave does not
    restart it under the others.
    """
    global _gc_holds
    if _gc_holds == 0 and not gc.isenabled():
        yield  # somebody else turned it off: leave it as it is
        return
    _gc_holds += 1
    gc.disable()
    try:
        yield
    finally:
        _gc_holds -= 1
        if _gc_holds == 0:
            gc.enable()


@contextlib.contextmanager
def gc_allowed() -> Iterator[None]:
    """Let the collector run inside a ``gc_paused`` block (while a run waits to be resumed)."""
    if _gc_holds == 0 or gc.isenabled():
        yield
        return
    gc.enable()
    try:
        yield
    finally:
        if _gc_holds > 0:
            gc.disable()


def idle_progress() -> dict[str, Any]:
    return {
        "phase": "idle",
        "processed": 0,
        "total": 0,
        "percent": 0.0,
        "throughput": 0.0,
        "etaMs": None,
        "running": False,
        "paused": False,
        "runId": None,
    }


class Runtime:
    """The collaborators of a run and the policies every part of it follows."""

    def __init__(
        self,
        storage: Any,
        backups: BackupService,
        logger: MigrationLogger,
        monitor: PerformanceMonitor,
        events: EventBus,
        lock: Any,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Any],
        retry_delays: tuple[float, ...],
        turn_every: float = 0.0,
        perf_clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.storage = storage
        self.backups = backups
        self.logger = logger
        self.monitor = monitor
        self.events = events
        self.lock = lock
        self.clock = clock
        self.sleep = sleep
        self.retry_delays = tuple(retry_delays)
        # The page's turn (a yield to the event loop) comes after every batch, or with turn_every > 0
        # once that many seconds of batches have run (perf_clock) since the last. Progress events
        # go out after every batch either way.
        self.turn_every = float(turn_every)
        self.perf_clock = perf_clock
        self._turn_at = perf_clock()
        self.resume_event = asyncio.Event()
        self.resume_event.set()
        self.running = False
        self.progress: dict[str, Any] = idle_progress()

    # ------------------------------------------------------------------ the lock
    async def acquire(self) -> None:
        """Hold the migration lock, or raise MigrationInProgress."""
        if not await take_lock(self.lock, self.sleep, LOCK_DELAYS, busy=lambda: self.running):
            raise MigrationInProgress(
                "A migration is already running (in this or another tab); watch its progress or try again later"
            )

    # ------------------------------------------------------------------ retries
    async def retry(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Await ``func``; retry a retryable error after each of ``retry_delays``."""
        attempt = 0
        while True:
            try:
                return await func(*args, **kwargs)
            except Exception as exc:
                if not getattr(exc, "retryable", False) or attempt >= len(self.retry_delays):
                    raise
                delay = self.retry_delays[attempt]
                attempt += 1
                _log.warning("%s failed (%s); retry %d in %ss", getattr(func, "__name__", func), exc, attempt, delay)
                await self.sleep(delay)

    async def best_effort(self, func: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
        """Await ``func`` (retried as any write, then once more whatever the error); return (done, result)."""
        for attempt in range(2):
            try:
                return True, await self.retry(func, *args)
            except Exception:
                _log.warning("%s failed (attempt %d)", getattr(func, "__name__", func), attempt + 1, exc_info=True)
        return False, None

    async def write(self, ops: list[Op]) -> None:
        """Write ``ops`` to the own stores in one transaction, retried."""
        await self.retry(self.storage.own_write, ops)

    async def write_journal(self, run: Run, *ops: Op) -> None:
        """Write ``ops`` with the run's journal as it stands, in one transaction."""
        await self.write([*ops, journal.journal_op(run.record())])

    async def clear_pending(self) -> None:
        await journal.clear_pending(self.storage, self.best_effort)

    async def flush_log(self) -> None:
        try:
            await self.logger.flush()
        except Exception:
            _log.warning("audit log flush failed", exc_info=True)

    # ------------------------------------------------------------------ progress and events
    def start(self, run: Run) -> None:
        self.monitor.start_run(run.run_id, run.total)
        self._turn_at = self.perf_clock()
        self.progress = {
            **idle_progress(),
            "runId": run.run_id,
            "phase": run.phase,
            "processed": run.processed,
            "total": run.total,
        }

    def phase(self, run: Run, name: str, log: MigrationLogger, **context: Any) -> None:
        current = self.monitor.current_phase
        if current is not None:
            self.monitor.end_phase(current)
        self.monitor.start_phase(name)
        self.progress = {**self.progress, "phase": name}
        log.info(f"migration phase {name}", phase=name, **context)
        self.events.emit("phase", {"phase": name, "runId": run.run_id, **context})

    def emit_progress(self, run: Run) -> None:
        figures = self.monitor.progress(run.processed, max(run.total, run.processed))
        self.progress = {
            **self.progress,
            **figures,
            "runId": run.run_id,
            "running": True,
            "paused": not self.resume_event.is_set(),
        }
        self.events.emit("progress", dict(self.progress))

    def turn_due(self, run: Run) -> bool:
        """Whether the batch just run ends with the page's turn: always with a batch delay, a pause
        asked or the last record done; else when ``turn_every`` seconds have passed since the last turn."""
        if not self.turn_every or run.options["batchDelayMs"] or not self.resume_event.is_set():
            return True
        return run.processed >= run.total or self.perf_clock() - self._turn_at >= self.turn_every

    async def between_batches(self, run: Run) -> None:
        await self.sleep(run.options["batchDelayMs"] / 1000)
        self._turn_at = self.perf_clock()
        if not self.resume_event.is_set():
            self.emit_progress(run)
            # A pause may last hours: the page's other work gets the collector back meanwhile.
            with gc_allowed():
                await self.resume_event.wait()

    def end_monitor(self, run: Run) -> None:
        if self.monitor.running and self.monitor.run_id == run.run_id:
            self.monitor.end_run(run.processed)
