"""The backup service: the facade the migration service, the API and the command line call."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, Iterable

from app.core import jsonstream
from app.core.errors import InvalidInput
from app.services.backup.chunks import State
from app.services.backup.cipher import MIN_ITERATIONS, KeyRing
from app.services.backup.reader import BackupReader
from app.services.backup.restore import BackupRestorer
from app.services.backup.retention import Retention
from app.services.backup.snapshot import snapshot
from app.services.backup.store import BackupStore
from app.services.backup.transfer import BackupTransfer
from app.services.backup.writer import BackupWriter
from app.services.crypto import Crypto
from app.storage.base import Storage

_log = logging.getLogger("app.services.backup")


class BackupService:
    """Make, verify, restore, export and prune backups of the AirPrompts data."""

    def __init__(
        self,
        storage: Storage,
        crypto: Crypto,
        *,
        clock: Callable[[], float] = time.time,
        log: logging.Logger | None = None,
        max_backups: int = 5,
        max_age_days: float = 7,
        chunk_chars: int = 256 * 1024,
        iterations: int = MIN_ITERATIONS,
        count_array: jsonstream.ArrayCounter = jsonstream.count_array,
    ) -> None:
        if chunk_chars < 64:
            raise InvalidInput(f"chunk_chars must be at least 64, got {chunk_chars}")
        self.storage = storage
        self.crypto = crypto
        self.clock = clock
        self.log = log or _log
        self.store = BackupStore(storage, crypto, self.log)
        self.retention = Retention(self.store, clock, self.log, max_backups=max_backups, max_age_days=max_age_days)
        self.reader = BackupReader(self.store, crypto, clock, self.log)
        self.writer = BackupWriter(
            self.store,
            self.reader,
            self.retention,
            crypto,
            clock,
            self.log,
            chunk_chars=chunk_chars,
            iterations=iterations,
            count_array=count_array,
        )
        self.restorer = BackupRestorer(self.store, self.reader, self.writer, crypto, clock, self.log)
        self.transfer = BackupTransfer(self.store, self.retention, crypto, clock, self.log)
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return (
            f"<BackupService keep={self.max_backups} maxAgeDays={self.max_age_days} protected={sorted(self.protected)}>"
        )

    @property
    def protected(self) -> set[str]:
        """Ids the automatic retention after each new backup must keep (the migration service adds to it)."""
        return self.retention.protected

    @property
    def max_backups(self) -> int:
        return self.retention.max_backups

    @property
    def max_age_days(self) -> float:
        return self.retention.max_age_days

    @property
    def iterations(self) -> int:
        """PBKDF2 iterations of a new encrypted backup."""
        return self.writer.iterations

    @property
    def chunk_chars(self) -> int:
        return self.writer.chunk_chars

    # ------------------------------------------------------------------ reading
    async def snapshot(self, keys: Iterable[str] | None = None) -> State:
        """Return every app-owned localStorage value and AirPromptsDB record, exactly as stored."""
        return await snapshot(self.storage, keys)

    async def list_backups(self) -> list[dict]:
        """Return the metadata of every complete backup, newest first."""
        return await self.store.list_backups()

    async def get_backup(self, backup_id: str) -> dict:
        """Return the metadata of ``backup_id``; raise BackupNotFound when there is none."""
        return await self.store.get_backup(backup_id)

    async def verify_backup(self, backup_id: str, *, passphrase: str | None = None) -> dict:
        """Recompute every hash of ``backup_id`` and its bases; report, never raise, on corruption."""
        return await self.reader.verify(backup_id, passphrase)

    async def state(self, backup_id: str, *, passphrase: str | None = None) -> State:
        """Return the verified state a backup holds: {"local": {key: text}, "app": {key: record text}}."""
        return await self.reader.verified_state(backup_id, KeyRing(self.crypto, passphrase))

    # ------------------------------------------------------------------ creating
    async def create_full_backup(
        self,
        description: str = "",
        *,
        passphrase: str | None = None,
        kind: str = "manual",
        migration_id: str | None = None,
        schema_version: str | None = None,
        state: State | None = None,
    ) -> dict:
        """Back up the whole app state; return the new backup's metadata.

        ``state`` is a snapshot the caller has just read (as ``snapshot()`` returns
        it), which saves reading several MB again: the migration backs up exactly the
        data it transforms.
        """
        async with self._lock:
            return await self.writer.create_full(description, passphrase, kind, migration_id, schema_version, (), state)

    async def create_incremental_backup(
        self, description: str = "", *, passphrase: str | None = None, base_id: str | None = None
    ) -> dict:
        """Back up what changed since ``base_id`` (the newest backup by default); return its metadata."""
        async with self._lock:
            return await self.writer.create_incremental(description, passphrase, base_id)

    # ------------------------------------------------------------------ restoring
    async def restore_backup(
        self,
        backup_id: str,
        *,
        passphrase: str | None = None,
        keys: Iterable[str] | None = None,
        safety_backup: bool = True,
        deferred: bool = False,
    ) -> dict:
        """Bring the app data back to exactly its state at ``backup_id``; return what changed.

        An encrypted backup always gets a safety backup, because ``recover`` after an
        interrupted restore has no passphrase and can only roll back to it. ``deferred``
        marks the restore of a migration's rollback: when a reload interrupts it, ``recover``
        leaves it to the migration service, which first looks for values written during
        the run (``finish_deferred_restore`` finishes it when nothing else will).
        """
        async with self._lock:
            return await self.restorer.restore(
                backup_id, passphrase=passphrase, keys=keys, safety_backup=safety_backup, deferred=deferred
            )

    async def recover(self) -> dict | None:
        """Finish or clean up a backup or restore a closed page interrupted; say which, or None."""
        async with self._lock:
            return await self.restorer.recover()

    async def finish_deferred_restore(self) -> dict | None:
        """Finish an interrupted restore that ``recover`` left to the migration service; None when there is none."""
        async with self._lock:
            return await self.restorer.finish_deferred()

    # ------------------------------------------------------------------ deleting and retention
    async def delete_backup(self, backup_id: str) -> None:
        """Delete ``backup_id``; refuse when a kept incremental backup needs it as its base."""
        async with self._lock:
            await self.store.get_backup(backup_id)
            dependents = [m["id"] for m in await self.store.list_backups() if m.get("baseId") == backup_id]
            if dependents:
                raise InvalidInput(
                    f"Backup {backup_id} is the base of incremental backup(s) {', '.join(dependents)}; delete those first",
                    backup_id=backup_id,
                    dependents=dependents,
                )
            await self.store.delete([backup_id])
            self.log.info("deleted backup %s", backup_id)

    async def apply_retention(self, protect: Iterable[str] = ()) -> list[str]:
        """Delete backups beyond ``max_backups`` or older than ``max_age_days``; return their ids."""
        async with self._lock:
            return await self.retention.apply(protect)

    # ------------------------------------------------------------------ export and import
    async def export_backup(self, backup_id: str) -> str:
        """Return ``backup_id`` as a self-contained JSON envelope (full backups only)."""
        return await self.transfer.export(backup_id)

    async def import_backup(self, text: str) -> dict:
        """Check every hash of an exported envelope, then store it as a backup; return its metadata."""
        async with self._lock:
            return await self.transfer.import_(text)
