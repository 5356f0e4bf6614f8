"""The executor: run a plan from its phase to the end, against the own stores and the live data.

detect -> backup -> transform -> switch -> verify -> complete. Nothing live is written
before the switch; a failure from the switch on restores the pre-migration backup
(``RolledBack``, or ``QuotaExceeded`` when the browser's storage was full). Recovery
calls this executor to finish an interrupted run; the executor never calls recovery.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from app.core import jsonstream, keys, revisions
from app.core.errors import (
    DataChanged,
    MigrationError,
    QuotaExceeded,
    QuotaRolledBack,
    RolledBack,
    WriteConflict,
    as_app_error,
    describe,
    error_payload,
)
from app.core.timestamps import from_epoch_seconds
from app.services import journal
from app.services.logger import MigrationLogger
from app.services.migration import plan as planning
from app.services.migration.plan import RunPlan
from app.services.migration.report import Report, Staged
from app.services.migration.runtime import Runtime
from app.services.migration.sinks import StorageSink
from app.services.migration.state import Run, Snapshot
from app.services.migration.switch import Switch, originals
from app.services.migration.transform import Transform
from app.storage.base import Put

_log = logging.getLogger(__name__)

# Backup + staging + the written result, each about the size of the data.
QUOTA_FACTOR = 3


class Executor:
    """Drive a run through its phases; restore the backup when it fails after the switch began."""

    def __init__(
        self, runtime: Runtime, transform: Transform, switch: Switch, *, dual_read_days: float, local_limit: int
    ) -> None:
        self.rt = runtime
        self.transform = transform
        self.switch = switch
        self.dual_read_days = dual_read_days
        self.local_limit = local_limit

    async def read(self) -> Snapshot:
        """Return the app's keys and AirPromptsDB records as stored now."""
        storage = self.rt.storage
        local_keys = [k for k in await storage.local_keys() if keys.is_app_key(k)]
        local = {k: v for k, v in (await storage.local_get(local_keys)).items() if v is not None}
        app_keys = list(await storage.app_keys())
        app = {k: v for k, v in (await storage.app_get(app_keys)).items() if v is not None}
        return Snapshot(local, app)

    async def live_local(self, snapshot: Snapshot) -> dict[str, str]:
        """Return localStorage as the switch will find it: the app's keys as the run read them (it holds
        the lock), the origin's other keys as they are now."""
        storage = self.rt.storage
        others = [k for k in await storage.local_keys() if not keys.is_app_key(k)]
        local = {k: v for k, v in (await storage.local_get(others)).items() if v is not None}
        local.update(snapshot.local)
        return local

    async def targets(self, run: Run, report: Report, staged: Staged, snapshot: Snapshot) -> None:
        """Set the run's switch targets from what was staged; the report says which collections moved."""
        migrated = {src_id: entry["migrated"] for src_id, entry in report.sources.items()}
        switch = planning.build_targets(
            run.run_id,
            run.started_ms,
            run.sources,
            staged,
            migrated,
            await self.live_local(snapshot),
            local_limit=self.local_limit,
        )
        for target in switch.moved:
            assert target.kind is not None
            report.note_moved(target.kind, target.key)
        run.targets, run.remove = switch.targets, switch.remove
        # Each journal write of the switch names every target's SHA-256: hashed once, here, by the
        # crypto service (crypto.subtle in the browser; hashlib in WebAssembly is several times slower).
        for target in run.targets:
            target.set_sha256(await self.rt.backups.crypto.sha256_hex(target.text))

    async def execute(self, run: Run, plan: RunPlan | None, snapshot: Snapshot | None) -> dict[str, Any]:
        """Drive ``run`` from its phase to the end (``plan`` and ``snapshot`` are None for a resumed switch)."""
        rt = self.rt
        log = rt.logger.bind(runId=run.run_id)
        rt.running = True
        run.clock_start = run.clock_start or rt.clock()
        switched = run.phase in ("switch",)
        try:
            if not switched:
                assert snapshot is not None and plan is not None
                if not run.sources:
                    run.sources = plan.sources
                run.total = sum(src.count for src in run.sources)
                rt.start(run)
                rt.phase(run, "detect", log, fromVersion=run.plan.from_version, records=run.total)
                if run.phase == "backup":
                    await self.backup(run, snapshot, log)
                elif run.backup_id:
                    rt.backups.protected.add(run.backup_id)
                rt.phase(run, "transform", log)
                report = Report(run, dry_run=False)
                staged = await self.transform.run(run, plan, StorageSink(rt), report)
                await self.targets(run, report, staged, snapshot)
                del staged  # the batch texts, joined into the targets: not held through the switch
                run.originals = originals(run, snapshot.local, snapshot.app)
                run.report = report.to_dict()
                rt.phase(run, "switch", log, targets=len(run.targets))
                run.phase = "switch"
                report_text = jsonstream.dumps(run.report)
                await rt.write_journal(run, Put(journal.STAGING_STORE, journal.report_key(run.run_id), report_text))
                switched = True
            else:
                run.total = sum(t.records or 0 for t in run.targets)
                rt.start(run)
                rt.phase(run, "switch", log, targets=len(run.targets), resumed=True)
                if run.backup_id is None:
                    raise MigrationError("the interrupted switch has no pre-migration backup")
                before = await rt.backups.state(run.backup_id)
                run.originals = originals(run, before["local"], before["app"])
            await self.switch.write(run)
            rt.phase(run, "verify", log)
            await self.switch.verify(run)
            rt.phase(run, "complete", log)
            return await self.complete(run, log)
        except Exception as exc:
            if switched and isinstance(exc, WriteConflict):
                await self.switch.undo(run, log)
                await self.record_failure(run, exc, rolled_back=True)
                raise DataChanged(
                    "The data changed while it was being migrated (another tab or an older version of the app "
                    "wrote to it). The migration was undone and those changes were kept.",
                    run_id=run.run_id,
                    cause=error_payload(exc),
                ) from exc
            if switched:
                await self.roll_back(run, exc, log)
            await self.fail(run, exc, log)
            raise

    # ------------------------------------------------------------------ backup
    async def backup(self, run: Run, snapshot: Snapshot, log: MigrationLogger) -> None:
        rt = self.rt
        rt.phase(run, "backup", log)
        if not run.resumed:
            size = sum(len(k) + len(v) for k, v in snapshot.local.items())
            size += sum(len(k) + len(v) for k, v in snapshot.app.items())
            needed = QUOTA_FACTOR * size * 2
            estimate = await rt.storage.estimate()
            quota, usage = estimate.get("quota"), estimate.get("usage")
            if quota is not None and usage is not None:
                available = max(0, int(quota) - int(usage))
                if available < needed:
                    raise QuotaExceeded(
                        f"Not enough browser storage to migrate safely: about {needed} bytes needed "
                        f"(backup, staging and result), {available} available. Free space or delete old backups.",
                        needed=needed,
                        available=available,
                    )
            # Before the journal exists, so a later visit loads Python to finish the run. Best effort:
            # without the flag the run is as safe, only a page whose stored version already reads
            # the target would not load the app to finish it.
            if not await journal.set_pending(rt.storage, run.run_id, rt.best_effort):
                log.warn(f"could not set {journal.PENDING_FLAG}; the run goes on without it")
            await rt.write_journal(run)
        if run.backup_id is None:
            # A page killed after the backup's metadata was written but before the journal
            # got its id: that backup is complete, use it.
            run.backup_id = await self.find_backup(run.run_id)
        if run.backup_id is None:
            meta = await rt.retry(
                rt.backups.create_full_backup,
                f"Before migrating to {revisions.target()} (run {run.run_id})",
                kind="pre-migration",
                migration_id=run.run_id,
                # The version detected, also where nothing records it (legacy keys, data_version only).
                schema_version=run.plan.from_version,
                state={"local": snapshot.local, "app": snapshot.app},
            )
            run.backup_id = meta["id"]
        rt.backups.protected.add(run.backup_id)
        run.phase = "transform"
        await rt.write_journal(run)
        log.info("pre-migration backup ready", backupId=run.backup_id)

    async def find_backup(self, run_id: str) -> str | None:
        """Return the id of run ``run_id``'s pre-migration backup, if one was made."""
        for meta in await self.rt.backups.list_backups():
            if meta.get("migrationId") == run_id and meta.get("kind") == "pre-migration":
                return str(meta["id"])
        return None

    # ------------------------------------------------------------------ complete
    async def complete(self, run: Run, log: MigrationLogger) -> dict[str, Any]:
        rt = self.rt
        report = dict(run.report or {})
        report["backupId"] = run.backup_id
        finished = rt.clock()
        summary = rt.monitor.end_run(run.processed)
        report["durations"] = summary.get("phases", {})
        result = {
            "success": True,
            "fromVersion": run.plan.from_version,
            "toVersion": revisions.target(),
            "migrated": report.get("migrated", 0),
            "quarantined": report.get("quarantinedCount", 0),
            "warnings": len(report.get("warnings", [])),
            "backupId": run.backup_id,
            "durationMs": round((finished - run.clock_start) * 1000, 1),
            "runId": run.run_id,
            "report": report,
        }
        until = run.started_ms / 1000 + self.dual_read_days * 86400
        # "until" in epoch ms, as the compatibility layer reads it.
        dual = {
            "until": int(until * 1000),
            "untilIso": from_epoch_seconds(until),
            "backupId": run.backup_id,
            "runId": run.run_id,
            "legacyKeys": run.plan.legacy_keys,
        }
        entry = history_entry(run, result, finished)
        history_key = journal.history_key(finished, run.run_id)
        # The data is written and verified: from here on nothing may undo the run. A clean-up that
        # cannot be written is left to the next load (recover() finishes it, journal phase "complete").
        cleaned, _ = await rt.best_effort(rt.storage.own_write, journal.cleanup_ops(run.run_id, history_key, entry, dual))
        if cleaned:
            await rt.clear_pending()
        else:
            run.phase = "complete"
            marker = run.record()
            marker.history_key = history_key
            marker.entry = {k: v for k, v in entry.items() if k != "report"}
            marker.dual = dual
            await rt.best_effort(rt.storage.own_write, [journal.journal_op(marker)])
            log.warn(
                "the migrated data is in place and verified, but the run's clean-up could not be written; "
                "it is finished on the next load"
            )
        if run.backup_id:
            rt.backups.protected.add(run.backup_id)
        rt.progress = {**rt.progress, "phase": "done", "percent": 100.0, "etaMs": 0, "running": False}
        log.info(
            "migration complete",
            migrated=result["migrated"],
            quarantined=result["quarantined"],
            warnings=result["warnings"],
            backupId=run.backup_id,
        )
        rt.events.emit("phase", {"phase": "done", "runId": run.run_id})
        rt.events.emit("complete", result)
        await rt.flush_log()
        return result

    # ------------------------------------------------------------------ failure
    async def fail(self, run: Run, exc: Exception, log: MigrationLogger) -> None:
        """Clean up a run that failed before the switch: the live data was never touched."""
        log.error(f"migration failed before the switch: {describe(exc)}", error=error_payload(exc), phase=run.phase)
        await self.record_failure(run, exc, rolled_back=False)

    async def restore(self, backup_id: str | None, what: str = "the run") -> None:
        """Restore the pre-migration backup ``backup_id`` (retried); raise MigrationError when there is none."""
        if backup_id is None:
            raise MigrationError(f"{what} has no pre-migration backup")
        await self.rt.retry(self.rt.backups.restore_backup, backup_id, safety_backup=False, deferred=True)

    async def roll_back(self, run: Run, exc: Exception, log: MigrationLogger) -> NoReturn:
        """Restore the pre-migration backup after a failure from the switch on, then raise RolledBack."""
        rt = self.rt
        log.error(f"migration failed after the switch began, restoring backup {run.backup_id}: {describe(exc)}")
        run.phase = "rollback"
        try:
            await rt.write_journal(run)
        except Exception:
            _log.warning("could not mark the journal for rollback", exc_info=True)
        run.displaced = await self.switch.displaced(run, log)
        if run.displaced:
            # Kept before the restore erases them, so a reload from here on cannot lose them.
            try:
                await rt.write_journal(run)
            except Exception:
                _log.warning("could not keep the displaced values in the journal", exc_info=True)
        try:
            await self.restore(run.backup_id)
        except Exception as restore_exc:
            log.critical(
                f"restoring backup {run.backup_id} failed too; recover() retries it on the next load: {describe(restore_exc)}"
            )
            rt.end_monitor(run)
            rt.events.emit("failed", {"runId": run.run_id, "error": error_payload(exc), "restored": False})
            await rt.flush_log()
            raise MigrationError(
                f"The migration failed: {describe(exc)} Restoring backup {run.backup_id} failed too: "
                f"{describe(restore_exc)} Reload the page: the restore is retried on load.",
                run_id=run.run_id,
                backup_id=run.backup_id,
                cause=error_payload(exc),
                restore_error=error_payload(restore_exc),
            ) from exc
        await self.record_failure(run, exc, rolled_back=True)
        message = (
            f"The migration could not write the new data: {describe(exc)} It was undone: every key was restored "
            f"from backup {run.backup_id}, so your data is as it was before."
        )
        displaced = [f"{area}:{key}" for area, key, _ in run.displaced]
        if displaced:
            message += (
                f" {', '.join(displaced)} held a value written during the run by something else (another tab, "
                "or the storage itself); it is kept in the history entry of this run, under \"displaced\"."
            )
        # Storage that is full is what the user must act on: the error is named for it (QuotaExceeded).
        rolled_back = QuotaRolledBack if isinstance(as_app_error(exc), QuotaExceeded) else RolledBack
        raise rolled_back(
            message,
            run_id=run.run_id,
            backup_id=run.backup_id,
            cause=error_payload(exc),
            displaced=displaced,
            rolled_back=True,
        ) from exc

    async def record_failure(self, run: Run, exc: Exception, *, rolled_back: bool) -> None:
        rt = self.rt
        finished = rt.clock()
        rt.end_monitor(run)
        result = {
            "success": False,
            "fromVersion": run.plan.from_version,
            "toVersion": revisions.target(),
            "migrated": 0,
            "quarantined": 0,
            "warnings": 0,
            "backupId": run.backup_id,
            "durationMs": round((finished - (run.clock_start or finished)) * 1000, 1),
            "runId": run.run_id,
            "rolledBack": rolled_back,
            "error": error_payload(exc),
            "report": run.report,
        }
        if run.displaced:
            result["displaced"] = [{"area": area, "key": key, "value": value} for area, key, value in run.displaced]
        entry = history_entry(run, result, finished)
        try:
            await rt.write(journal.failure_ops(run.run_id, journal.history_key(finished, run.run_id), entry))
        except Exception:
            _log.warning(
                "could not clean up failed run %s; recover() does it on the next load", run.run_id, exc_info=True
            )
            read, left = await rt.best_effort(journal.read_journal, rt.storage)
            if read and left is None:
                await rt.clear_pending()  # no journal was ever written: nothing for the loader to finish
        else:
            await rt.clear_pending()
        if run.backup_id:
            rt.backups.protected.discard(run.backup_id)
        rt.progress = {**rt.progress, "phase": "failed", "running": False}
        rt.events.emit("failed", {"runId": run.run_id, "error": error_payload(exc), "restored": rolled_back})
        await rt.flush_log()

    async def discard(self, run_id: str) -> None:
        """Forget run ``run_id``: its staging, its quarantine, the journal and the loader's flag."""
        await self.rt.write(journal.discard_ops(run_id))
        await self.rt.clear_pending()


def history_entry(run: Run, result: dict[str, Any], finished: float) -> dict[str, Any]:
    return {
        **{k: v for k, v in result.items() if k != "report"},
        "startedAt": run.started_at,
        "finishedAt": from_epoch_seconds(finished),
        "report": result.get("report"),
    }
