"""Restoring a backup over the app data, with its restore journal and the recovery of an interrupted one."""

from __future__ import annotations

import logging
from typing import Callable, Iterable

from app.core import jsonstream, timestamps
from app.core.errors import BackupCorrupted, BackupNotFound, InvalidInput, WrongPassphrase
from app.services.backup import names
from app.services.backup.chunks import AREAS, State
from app.services.backup.cipher import KeyRing
from app.services.backup.metadata import parse_object
from app.services.backup.reader import BackupReader
from app.services.backup.snapshot import snapshot
from app.services.backup.store import BackupStore
from app.services.backup.writer import BackupWriter
from app.services.crypto import Crypto
from app.storage.base import Delete, Put


def selection(keys: Iterable[str]) -> list[str]:
    """Return the key names a restore is limited to, each once; raise InvalidInput for anything else."""
    if isinstance(keys, str):
        raise InvalidInput("keys must be a list of key names, not one string")
    chosen = list(dict.fromkeys(keys))
    for key in chosen:
        if not isinstance(key, str):
            raise InvalidInput(f"Key names must be strings, got {key!r}")
    return chosen


def _deferred(text: str) -> bool:
    return parse_object(text).get("deferred") is True


class BackupRestorer:
    """Bring the app data back to a backup's state; finish or roll back a restore a closed page interrupted."""

    def __init__(
        self,
        store: BackupStore,
        reader: BackupReader,
        writer: BackupWriter,
        crypto: Crypto,
        clock: Callable[[], float],
        log: logging.Logger,
    ) -> None:
        self.store = store
        self.storage = store.storage
        self.reader = reader
        self.writer = writer
        self.crypto = crypto
        self.clock = clock
        self.log = log

    async def restore(
        self,
        backup_id: str,
        *,
        passphrase: str | None,
        keys: Iterable[str] | None,
        safety_backup: bool,
        deferred: bool,
    ) -> dict:
        """Restore ``backup_id`` (see BackupService.restore_backup); return what changed."""
        chosen = None if keys is None else selection(keys)
        meta = await self.store.get_backup(backup_id)
        state = await self.reader.verified_state(backup_id, KeyRing(self.crypto, passphrase))
        chain = await self.store.chain(backup_id)
        encrypted = any(m.get("encrypted") for m in chain)
        safety_id = None
        if safety_backup or encrypted:
            # Protect the chain: retention after the safety backup must not delete
            # what recover() may still need to finish this restore.
            chain_ids = [m["id"] for m in chain]
            safety = await self.writer.create_full(
                f"Before restoring {backup_id}", None, "safety", None, None, chain_ids
            )
            safety_id = safety["id"]
        journal = {
            "backupId": backup_id,
            "safetyBackupId": safety_id,
            "keys": chosen,
            "encrypted": encrypted,
            "startedAt": timestamps.from_epoch_seconds(self.clock()),
        }
        if deferred:
            journal["deferred"] = True
        await self.storage.own_write([Put(names.JOURNAL_STORE, names.JOURNAL_RESTORE, jsonstream.dumps(journal))])
        result = await self._apply(state, chosen, rollback=True)
        await self._close_journal()
        self.log.info(
            "restored backup %s (%s): %d set, %d removed, safety backup %s",
            backup_id,
            meta.get("type"),
            result["written"],
            len(result["removed"]),
            safety_id,
        )
        return {**result, "backupId": backup_id, "safetyBackupId": safety_id}

    # ------------------------------------------------------------------ crash recovery
    async def recover(self) -> dict | None:
        """Finish or clean up a backup or restore a closed page interrupted; say which, or None."""
        report = None
        orphans = await self.store.discard_orphans()
        if orphans:
            report = {"operation": "backup", "outcome": "discarded", "backupId": orphans[0], "backupIds": orphans}
        text = await self._journal_text()
        if text is not None and _deferred(text):
            report = {"operation": "restore", "outcome": "deferred", "backupId": parse_object(text).get("backupId")}
        elif text is not None:
            report = await self._recover(text)
        return report

    async def finish_deferred(self) -> dict | None:
        """Finish an interrupted restore that ``recover`` left to the migration service; None when there is none."""
        text = await self._journal_text()
        if text is None or not _deferred(text):
            return None
        return await self._recover(text)

    async def _journal_text(self) -> str | None:
        return (await self.storage.own_get(names.JOURNAL_STORE, [names.JOURNAL_RESTORE])).get(names.JOURNAL_RESTORE)

    async def _close_journal(self) -> None:
        await self.storage.own_write([Delete(names.JOURNAL_STORE, names.JOURNAL_RESTORE)])

    async def _recover(self, text: str) -> dict:
        journal = parse_object(text)
        backup_id = journal.get("backupId")
        safety_id = journal.get("safetyBackupId")
        chosen = journal.get("keys")
        # Re-running the restore is idempotent; an encrypted one cannot be re-run
        # without its passphrase, so fall back to the safety backup (the old state).
        if backup_id and not journal.get("encrypted"):
            try:
                state = await self.reader.verified_state(backup_id, KeyRing(self.crypto, None))
                await self._apply(state, chosen, rollback=False)
            except (BackupNotFound, BackupCorrupted, WrongPassphrase):
                self.log.error(
                    "cannot finish the interrupted restore of %s; trying its safety backup", backup_id, exc_info=True
                )
            else:
                await self._close_journal()
                self.log.warning("finished the interrupted restore of backup %s", backup_id)
                return {
                    "operation": "restore",
                    "outcome": "completed",
                    "backupId": backup_id,
                    "safetyBackupId": safety_id,
                }
        if safety_id:
            await self._apply(
                await self.reader.verified_state(safety_id, KeyRing(self.crypto, None)), chosen, rollback=False
            )
            await self._close_journal()
            self.log.warning("rolled the interrupted restore of %s back to safety backup %s", backup_id, safety_id)
            return {"operation": "restore", "outcome": "discarded", "backupId": backup_id, "safetyBackupId": safety_id}
        self.log.error("the interrupted restore of %s can neither finish nor roll back", backup_id)
        return {"operation": "restore", "outcome": "failed", "backupId": backup_id, "safetyBackupId": safety_id}

    # ------------------------------------------------------------------ writing the app data
    async def _apply(self, state: State, chosen: list[str] | None, *, rollback: bool) -> dict:
        """Write ``state`` over the app data (within ``chosen``), removing app keys it lacks."""
        before = await snapshot(self.storage, chosen)
        target: State = {
            area: {k: v for k, v in state[area].items() if chosen is None or k in chosen} for area in AREAS
        }
        local_set = {k: v for k, v in target["local"].items() if before["local"].get(k) != v}
        local_remove = [k for k in before["local"] if k not in target["local"]]
        app_put = {k: v for k, v in target["app"].items() if before["app"].get(k) != v}
        app_delete = [k for k in before["app"] if k not in target["app"]]
        try:
            # One call each: the browser bridge runs one local_write in one JS task
            # and one app_write in one transaction, so a reload cannot split either.
            if local_set or local_remove:
                await self.storage.local_write(local_set, local_remove)
            if app_put or app_delete:
                await self.storage.app_write(app_put, app_delete)
        except Exception as exc:
            if not rollback:
                raise
            await self._roll_back(before, target, exc)
            raise
        return {
            "restored": len(target["local"]) + len(target["app"]),
            "written": len(local_set) + len(app_put),
            "removed": local_remove + app_delete,
            "removedLocal": local_remove,
            "removedApp": app_delete,
        }

    async def _roll_back(self, before: State, target: State, exc: Exception) -> None:
        """Put ``before`` back after a failed restore; leave the journal to recover() if that fails too."""
        try:
            await self.storage.local_write(before["local"], [k for k in target["local"] if k not in before["local"]])
            await self.storage.app_write(before["app"], [k for k in target["app"] if k not in before["app"]])
            await self._close_journal()
        except Exception:
            self.log.error(
                "restore failed (%s) and so did its rollback; recover() finishes it on next load", exc, exc_info=True
            )
            return
        self.log.error("restore failed (%s); the previous data was put back", exc)
