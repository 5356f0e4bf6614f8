"""Recovery: finish or undo a run that a closed page interrupted, from its journal.

A run interrupted before its switch goes on where it stopped (the executor takes its
staged batches back), unless the data changed since it began; a switch goes on from
the staged texts; a rollback finishes, keeping values another writer stored; a
verified run only gets its clean-up. Recovery calls the executor, never the reverse.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.errors import InvalidInput, MigrateError, MigrationError, RolledBack, describe, error_payload
from app.services import journal
from app.services.migration import plan as planning
from app.services.migration.executor import Executor
from app.services.migration.runtime import Runtime
from app.services.migration.state import Run, read_fingerprint
from app.services.migration.switch import Switch, originals


class Recovery:
    """Finish or undo the run a journal describes."""

    def __init__(self, runtime: Runtime, executor: Executor, switch: Switch, *, count_array: Any) -> None:
        self.rt = runtime
        self.executor = executor
        self.switch = switch
        self.count_array = count_array

    async def recover(self, text: str) -> dict[str, Any]:
        """Finish or undo the run of journal ``text``; return what happened (the caller holds the lock)."""
        try:
            record = journal.JournalRecord.parse(text)
            run = Run.resumed_from(record)
        except (journal.UnusableJournal, ValueError, KeyError, TypeError, InvalidInput) as exc:
            return await self.unusable(str(exc))
        run_id, phase = run.run_id, run.phase
        log = self.rt.logger.bind(runId=run_id)
        log.warn(f"resuming interrupted migration at phase {phase}", phase=phase)
        if phase == "rollback":
            return await self.roll_back(run, "the run was rolling back", record)
        if phase == "complete":
            try:
                return await self.complete(run, record)
            except (ValueError, KeyError, TypeError) as exc:
                # The data was verified: never restore over it; only the bookkeeping is lost.
                await self.executor.discard(run.run_id)
                log.warn(f"the clean-up journal of the verified run is unusable ({exc}); its staging was removed")
                return {"resumed": run_id, "outcome": "completed", "reason": "clean-up journal unusable"}
        snapshot = plan = None
        if phase == "switch":
            try:
                await self.switch.rebuild(run, record)
            except journal.UnusableJournal as exc:
                return await self.roll_back(run, str(exc))
        elif phase in ("backup", "transform"):
            snapshot = await self.executor.read()
            plan = planning.read_plan(snapshot, started_ms=run.started_ms, count_array=self.count_array)
            await self.rt.sleep(0)
            changed = plan.plan.to_dict() != run.plan.to_dict()
            if changed or await read_fingerprint(self.rt.storage, snapshot, run.fingerprint) != run.fingerprint:
                # The data changed since the run began (nothing live was written): start over.
                await self.executor.discard(run_id)
                log.warn("the data changed since the interrupted run began; its staging was discarded")
                return {"resumed": run_id, "outcome": "discarded", "reason": "the data changed"}
        else:
            return await self.unusable(f"unknown phase {phase!r}")
        try:
            result = await self.executor.execute(run, plan, snapshot)
        except RolledBack as exc:
            return {"resumed": run_id, "outcome": "rolled-back", "error": exc.to_dict()}
        except MigrateError as exc:
            return {"resumed": run_id, "outcome": "failed", "error": exc.to_dict()}
        return {"resumed": run_id, "outcome": "completed", "result": {k: v for k, v in result.items() if k != "report"}}

    async def complete(self, run: Run, record: journal.JournalRecord) -> dict[str, Any]:
        """Finish the clean-up of a verified run whose page could not write it: the live data is not touched."""
        rt = self.rt
        if record.entry is None or record.dual is None or record.history_key is None:
            raise KeyError("entry")
        text = await journal.read_staged(rt.storage, journal.report_key(run.run_id))
        entry = {**record.entry, "report": None}
        if text is not None:
            report = json.loads(text)
            entry["report"] = {**report, "backupId": run.backup_id}
        await rt.write(journal.cleanup_ops(run.run_id, record.history_key, entry, record.dual))
        await rt.clear_pending()
        if run.backup_id:
            rt.backups.protected.add(run.backup_id)
        rt.logger.bind(runId=run.run_id).info("finished the clean-up of the verified run")
        await rt.flush_log()
        return {"resumed": run.run_id, "outcome": "completed", "result": record.entry}

    async def roll_back(self, run: Run, reason: str, record: journal.JournalRecord | None = None) -> dict[str, Any]:
        """Restore the pre-migration backup of an interrupted run, keeping values another writer stored."""
        log = self.rt.logger.bind(runId=run.run_id)
        if record is not None:
            # Found by the page that began the rollback, before a reload stopped it.
            run.displaced = list(record.displaced)
        if record is not None and run.backup_id is not None:
            # Before the restore erases them: values another writer stored during the run.
            try:
                await self.switch.rebuild(run, record)
                before = await self.rt.backups.state(run.backup_id)
                run.originals = originals(run, before["local"], before["app"])
            except Exception as exc:
                log.warn(f"cannot look for values written during the interrupted run: {describe(exc)}")
            else:
                await self.switch.keep_displaced(run, log, known={item[:2] for item in run.displaced})
        try:
            if run.backup_id is None:
                raise MigrationError("the interrupted run has no backup id")
            await self.executor.restore(run.backup_id)
        except Exception as exc:
            log.critical(f"cannot roll back the interrupted run: {describe(exc)}")
            return {"resumed": run.run_id, "outcome": "failed", "error": error_payload(exc)}
        failure = MigrationError(f"interrupted run rolled back: {reason}")
        await self.executor.record_failure(run, failure, rolled_back=True)
        return {"resumed": run.run_id, "outcome": "rolled-back", "reason": reason}

    async def unusable(self, reason: str) -> dict[str, Any]:
        """Handle a journal that cannot be read: restore when the switch had begun, else clean up."""
        run_ids, switched = await journal.staged_run_ids(self.rt.storage)
        if switched:
            run_id = switched[-1]
            backup_id = await self.executor.find_backup(run_id)
            if backup_id is None:
                return {"resumed": run_id, "outcome": "failed", "reason": f"journal unusable ({reason}), no backup"}
            await self.executor.restore(backup_id)
            for r in run_ids:
                await self.executor.discard(r)
            return {"resumed": run_id, "outcome": "rolled-back", "reason": f"journal unusable ({reason})"}
        for r in run_ids:
            await self.executor.discard(r)
        await self.rt.write([journal.drop_journal_op()])
        return {"resumed": run_ids[-1] if run_ids else None, "outcome": "discarded", "reason": reason}


