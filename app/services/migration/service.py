"""The migration service (``dataMigrationService``): the facade the API calls.

It holds the lock around each run and answers the public methods; the parts of a
run are in this package: ``plan`` (what will change, as data), ``executor`` (runs
it: backup, transform into a sink, switch, verify, complete), ``transform`` and
``sinks`` (the batched transform, staged in the own stores or written nowhere for
a dry run), ``switch`` (the guarded switch, verify, undo), ``recovery`` (finishes
an interrupted run with the executor), ``report`` (what the user gets, apart from
the staged data). ``app.services.journal`` alone knows where a run is recorded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from typing import Any, Callable

from app.core import jsonstream, keys, revisions
from app.core.errors import DataChanged
from app.core.events import EventBus
from app.core.timestamps import from_epoch_seconds
from app.services import journal
from app.services.backup import BackupService
from app.services.logger import MigrationLogger
from app.services.migration import plan as planning
from app.services.migration.executor import Executor
from app.services.migration.plan import LOCAL_LIMIT
from app.services.migration.recovery import Recovery
from app.services.migration.report import Report
from app.services.migration.runtime import Runtime, gc_paused
from app.services.migration.sinks import DryRunSink
from app.services.migration.state import Run, options, read_fingerprint
from app.services.migration.switch import Switch
from app.services.migration.transform import Transform
from app.services.performance import PerformanceMonitor
from app.storage.base import char_len

_log = logging.getLogger(__name__)

DATA_CHANGED_ATTEMPTS = 3


class MigrationService:
    """Migrate the AirPrompts data to the target version: detect, back up, transform, switch, verify, complete."""

    def __init__(
        self,
        storage: Any,
        backups: BackupService,
        logger: MigrationLogger,
        monitor: PerformanceMonitor,
        events: EventBus,
        lock: Any,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
        retry_delays: tuple[float, ...] = (0.05, 0.2, 1.0),
        dual_read_days: float = 7,
        use_jsonschema_samples: int = 5,
        local_limit: int = LOCAL_LIMIT,
        count_array: jsonstream.ArrayCounter = jsonstream.count_array,
        turn_every: float = 0.0,
    ) -> None:
        self.storage = storage
        self.backups = backups
        self.logger = logger
        self.monitor = monitor
        self.events = events
        self.lock = lock
        self.clock = clock
        # Counts the records of a collection for the progress total (the browser's JSON.parse is faster).
        self.count_array = count_array
        self.rt = Runtime(
            storage,
            backups,
            logger,
            monitor,
            events,
            lock,
            clock=clock,
            sleep=sleep,
            retry_delays=retry_delays,
            turn_every=turn_every,
        )
        self.switch = Switch(self.rt)
        self.transform = Transform(self.rt, use_jsonschema_samples=use_jsonschema_samples)
        self.executor = Executor(
            self.rt, self.transform, self.switch, dual_read_days=dual_read_days, local_limit=local_limit
        )
        self.recovery = Recovery(self.rt, self.executor, self.switch, count_array=count_array)
        self._task: asyncio.Task[dict[str, Any]] | None = None

    def __repr__(self) -> str:
        progress = self.rt.progress
        return (
            f"<MigrationService running={self.rt.running} phase={progress.get('phase')!r} "
            f"processed={progress.get('processed')}/{progress.get('total')}>"
        )

    async def _plan(self, started_ms: int) -> tuple[Any, planning.RunPlan]:
        snapshot = await self.executor.read()
        plan = planning.read_plan(snapshot, started_ms=started_ms, count_array=self.count_array)
        await self.rt.sleep(0)
        return snapshot, plan

    async def check_migration_status(self) -> dict[str, Any]:
        """Return whether a migration is needed, from which version, and what the store holds."""
        _, run_plan = await self._plan(int(self.clock() * 1000))
        plan = run_plan.plan
        local_sources = {c["source_key"] for c in plan.collections}
        counts = {
            src.kind: src.count
            for src in run_plan.sources
            if src.location == "app" or keys.app_source(src.kind) not in local_sources
        }
        return {
            "needed": plan.needed,
            "currentVersion": plan.recorded_version or plan.from_version,
            "detectedVersion": plan.from_version,
            "targetVersion": revisions.target(),
            "legacyKeys": plan.legacy_keys,
            "counts": counts,
            "plan": plan.to_dict(),
            "pending": await journal.read_journal(self.storage) is not None,
            "running": self.rt.running or bool(await self.lock.held_elsewhere()),
        }

    async def dry_run(self, *, batch_size: int = 100) -> dict[str, Any]:
        """Return the report of the full transform, writing nothing."""
        checked = options(batch_size, 0)
        now = self.clock()
        snapshot, plan = await self._plan(int(now * 1000))
        run = Run(f"dry-{int(now * 1000):013d}", int(now * 1000), from_epoch_seconds(now), checked, plan.plan)
        report = Report(run, dry_run=True)
        if not plan.plan.needed:
            return {**report.to_dict(), "needed": False}
        run.sources = plan.sources
        run.total = plan.total
        staged = await self.transform.run(run, plan, DryRunSink(self.rt.sleep), report)
        await self.executor.targets(run, report, staged, snapshot)
        data = report.to_dict()
        data["needed"] = True
        data["targets"] = [{"area": t.area, "key": t.key, "chars": char_len(t.text)} for t in run.targets]
        data["remove"] = run.remove
        return data

    async def run_pending_migrations(self, *, batch_size: int = 100, batch_delay_ms: float = 0) -> dict[str, Any]:
        """Migrate the store to the target version if it needs it; return the run's result."""
        checked = options(batch_size, batch_delay_ms)
        await self.rt.acquire()
        try:
            with gc_paused():
                return await self._run_locked(self._new_run_id(), checked)
        finally:
            self.lock.release()

    async def start_progressive_migration(self, *, batch_size: int = 100, batch_delay_ms: float = 0) -> dict[str, Any]:
        """Start ``run_pending_migrations`` as a task; return ``{started, runId}`` once it holds the lock."""
        checked = options(batch_size, batch_delay_ms)
        await self.rt.acquire()
        run_id = self._new_run_id()

        async def body() -> dict[str, Any]:
            try:
                with gc_paused():
                    return await self._run_locked(run_id, checked)
            finally:
                self.lock.release()

        self._task = asyncio.get_running_loop().create_task(body())
        self._task.add_done_callback(_retrieve)
        self.rt.running = True
        return {"started": True, "runId": run_id}

    def get_migration_progress(self) -> dict[str, Any]:
        """Return the current run's phase, counts, throughput and ETA."""
        return {**self.rt.progress, "running": self.rt.running, "paused": not self.rt.resume_event.is_set()}

    async def get_history(self) -> list[dict[str, Any]]:
        """Return every finished run (success or failure), newest first."""
        return await journal.read_history(self.storage)

    async def get_last_report(self) -> dict[str, Any] | None:
        """Return the report of the newest finished run, or None."""
        for entry in await self.get_history():
            if entry.get("report") is not None:
                return entry["report"]
        return None

    async def get_quarantine(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Return the quarantined records (of ``run_id``, or of every run), each with its store key."""
        return await journal.read_quarantine(self.storage, run_id)

    def pause(self) -> None:
        """Hold the run before its next batch."""
        self.rt.resume_event.clear()
        self.rt.progress = {**self.rt.progress, "paused": True}

    def resume(self) -> None:
        """Let a paused run go on."""
        self.rt.resume_event.set()
        self.rt.progress = {**self.rt.progress, "paused": False}

    async def recover(self) -> dict[str, Any] | None:
        """Finish or undo a run a closed page interrupted; say what happened, or None when there was none."""
        await self._load_protection()
        text = await journal.read_journal(self.storage)
        if text is None:
            if not self.rt.running and not await self.lock.held_elsewhere():
                # A restore of a rollback whose run is gone, and a page closed between the journal's
                # removal and the flag's: nobody else finishes them.
                await self.backups.finish_deferred_restore()
                await self.rt.clear_pending()
            return None
        if not await self.lock.acquire():
            return {"resumed": None, "outcome": "locked"}
        try:
            with gc_paused():
                return await self.recovery.recover(text)
        finally:
            self.rt.running = False
            self.lock.release()

    async def cleanup_legacy(self) -> list[str]:
        """Remove the legacy keys once the dual-read period is over; return the keys removed."""
        text, mode_text = await journal.read_dual_read(self.storage)
        if text is None:
            return []
        try:
            dual = json.loads(text)
            until_ms = float(dual["until"])
        except (ValueError, KeyError, TypeError):
            _log.warning("dual-read setting is unreadable; legacy keys stay")
            return []
        now_ms = self.clock() * 1000
        if now_ms < until_ms:
            return []
        if journal.active(journal.load_setting(mode_text), now_ms):
            return []  # the user extended dual-read mode in the compatibility layer
        await self.rt.acquire()
        try:
            present = [k for k in await self.storage.local_keys() if keys.legacy_target(k) is not None]
            # The pre-migration backup keeps them; make sure it still exists first.
            backup_id = dual.get("backupId")
            if present and backup_id:
                await self.backups.get_backup(backup_id)
            if present:
                await self.rt.retry(self.storage.local_write, {}, present)
            await self.rt.write([journal.drop_dual_read_op()])
            self.backups.protected.discard(backup_id)
            self.logger.bind(runId=dual.get("runId")).info("removed legacy keys after dual-read", keys=present)
            await self.rt.flush_log()
            return present
        finally:
            self.lock.release()

    # ------------------------------------------------------------------ the run
    def _new_run_id(self) -> str:
        return f"mig-{int(self.clock() * 1000):013d}-{secrets.token_hex(4)}"

    async def _run_locked(self, run_id: str, checked: dict[str, Any]) -> dict[str, Any]:
        # Another writer (an old app version in another tab) changed the data under the run:
        # the run was undone with that writer's changes kept; start again from the new data.
        for attempt in range(DATA_CHANGED_ATTEMPTS):
            try:
                return await self._attempt(run_id, checked)
            except DataChanged:
                if attempt == DATA_CHANGED_ATTEMPTS - 1:
                    raise
                _log.warning("the data changed during run %s; starting again", run_id)
                run_id = self._new_run_id()
        raise AssertionError("unreachable")

    async def _attempt(self, run_id: str, checked: dict[str, Any]) -> dict[str, Any]:
        self.rt.running = True
        try:
            text = await journal.read_journal(self.storage)
            if text is not None:
                # An interrupted run comes first: finish (or undo) it, then see what is left.
                outcome = await self.recovery.recover(text)
                _log.info("finished the interrupted run before a new one: %s", outcome)
            now = self.clock()
            snapshot, plan = await self._plan(int(now * 1000))
            if not plan.plan.needed:
                return {
                    "success": True,
                    "fromVersion": plan.plan.from_version,
                    "toVersion": revisions.target(),
                    "migrated": 0,
                    "quarantined": 0,
                    "warnings": 0,
                    "backupId": None,
                    "durationMs": 0,
                    "runId": None,
                    "report": None,
                }
            run = Run(run_id, int(now * 1000), from_epoch_seconds(now), checked, plan.plan, clock_start=now)
            run.fingerprint = await read_fingerprint(self.storage, snapshot)
            return await self.executor.execute(run, plan, snapshot)
        finally:
            self.rt.running = False

    async def _load_protection(self) -> None:
        text, _ = await journal.read_dual_read(self.storage)
        dual = journal.load_setting(text)
        if dual is not None and dual.get("backupId") and self.clock() * 1000 < float(dual.get("until") or 0):
            self.backups.protected.add(dual["backupId"])


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Consume a progressive run's outcome: its failure is already logged, evented and in the history."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        _log.info("progressive migration ended with %s", exc)
