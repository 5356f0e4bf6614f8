"""The store of backups: metadata, chunks and verification verdicts in the own database."""

from __future__ import annotations

import json
import logging
from typing import Iterable

from app.core.errors import BackupCorrupted, BackupNotFound, QuotaExceeded
from app.services.backup import names
from app.services.backup.metadata import order, parse_object
from app.services.crypto import Crypto
from app.storage.base import Delete, DeletePrefix, Put, Storage, Text


class BackupStore:
    """Read and write backups, their chunks and their verdicts; know nothing of their content."""

    def __init__(self, storage: Storage, crypto: Crypto, log: logging.Logger) -> None:
        self.storage = storage
        self.crypto = crypto
        self.log = log
        self._persisted: bool | None = None

    # ------------------------------------------------------------------ metadata
    async def list_backups(self) -> list[dict]:
        """Return the metadata of every complete backup, newest first, with its last verdict."""
        metas = []
        for backup_id, text in await self.storage.own_scan(names.BACKUPS_STORE):
            try:
                meta = json.loads(text)
            except ValueError:
                self.log.warning("backup %s has unreadable metadata; skipped", backup_id)
                continue
            if isinstance(meta, dict) and meta.get("complete") is True:
                metas.append(meta)
        metas.sort(key=order, reverse=True)
        verdicts = dict(await self.storage.own_scan(names.SETTINGS_STORE, names.VERIFIED_PREFIX))
        for meta in metas:
            text = verdicts.get(names.verified_key(str(meta.get("id"))))
            verdict = parse_object(text) if text is not None else None
            if verdict:
                meta["verified"] = verdict
        return metas

    async def get_backup(self, backup_id: str) -> dict:
        """Return the metadata of ``backup_id``; raise BackupNotFound when there is none."""
        text = (await self.storage.own_get(names.BACKUPS_STORE, [backup_id])).get(backup_id)
        if text is None:
            raise BackupNotFound(f"No backup has the id {backup_id!r}", backup_id=backup_id)
        try:
            meta = json.loads(text)
        except ValueError as exc:
            raise BackupCorrupted(f"The metadata of backup {backup_id!r} is not JSON", backup_id=backup_id) from exc
        if not isinstance(meta, dict):
            raise BackupCorrupted(f"The metadata of backup {backup_id!r} is not an object", backup_id=backup_id)
        return meta

    async def chain(self, backup_id: str) -> list[dict]:
        """Return the metadata of ``backup_id`` and its bases, oldest (the full one) first."""
        chain = [await self.get_backup(backup_id)]
        seen = {backup_id}
        while chain[0].get("type") == "incremental":
            base_id = chain[0].get("baseId")
            if not isinstance(base_id, str) or base_id in seen:
                raise BackupCorrupted(
                    f"Backup {chain[0].get('id')!r} has an invalid base {base_id!r}", backup_id=backup_id
                )
            try:
                base = await self.get_backup(base_id)
            except BackupNotFound as exc:
                raise BackupCorrupted(
                    f"Base backup {base_id!r} of {chain[0].get('id')!r} is missing",
                    backup_id=backup_id,
                    base_id=base_id,
                ) from exc
            seen.add(base_id)
            chain.insert(0, base)
        return chain

    async def new_id(self, now_ms: int) -> str:
        """Return an id no stored backup has, made of the time and random hex."""
        while True:
            backup_id = f"bk-{now_ms:013d}-{self.crypto.random_bytes(4).hex()}"
            if (await self.storage.own_get(names.BACKUPS_STORE, [backup_id])).get(backup_id) is None:
                return backup_id

    async def is_free(self, backup_id: str) -> bool:
        """Return whether neither metadata nor chunks are stored under ``backup_id``."""
        taken = (await self.storage.own_get(names.BACKUPS_STORE, [backup_id])).get(backup_id) is not None
        return not taken and not await self.storage.own_keys(names.CHUNKS_STORE, names.chunk_prefix(backup_id))

    async def put_meta(self, meta: dict, text: str) -> None:
        """Store the metadata text of ``meta``: the write that makes a backup complete."""
        await self.storage.own_write([Put(names.BACKUPS_STORE, meta["id"], text)])

    # ------------------------------------------------------------------ chunks
    async def read_chunks(self, backup_id: str, indexes: Iterable[int]) -> dict[int, str | None]:
        """Return the stored text of each chunk of ``indexes``, None for a missing one."""
        wanted = list(indexes)
        stored = await self.storage.own_get(names.CHUNKS_STORE, [names.chunk_key(backup_id, i) for i in wanted])
        return {i: stored.get(names.chunk_key(backup_id, i)) for i in wanted}

    async def put_chunks(self, backup_id: str, chunks: Iterable[tuple[int, Text]]) -> None:
        """Store chunk texts (or their UTF-8 bytes) of ``backup_id`` in one write."""
        await self.storage.own_write(
            [Put(names.CHUNKS_STORE, names.chunk_key(backup_id, index), text) for index, text in chunks]
        )

    async def discard_chunks(self, backup_id: str) -> None:
        """Remove the chunks of a backup that failed before its metadata; log a failure."""
        try:
            await self.storage.own_write([DeletePrefix(names.CHUNKS_STORE, names.chunk_prefix(backup_id))])
        except Exception:
            # recover() removes them on the next load.
            self.log.warning("could not remove the chunks of the failed backup %s", backup_id, exc_info=True)

    async def discard_orphans(self) -> list[str]:
        """Remove chunks no complete backup owns (an interrupted backup); return their backup ids."""
        complete = {m["id"] for m in await self.list_backups()}
        orphans = sorted({names.backup_of_chunk(k) for k in await self.storage.own_keys(names.CHUNKS_STORE)} - complete)
        if orphans:
            await self.storage.own_write([DeletePrefix(names.CHUNKS_STORE, names.chunk_prefix(o)) for o in orphans])
            self.log.warning("discarded the chunks of interrupted backup(s) %s", ", ".join(orphans))
        return orphans

    async def delete(self, backup_ids: Iterable[str]) -> None:
        """Delete backups with their chunks and verdicts, in one write."""
        ops: list = []
        for backup_id in backup_ids:
            ops += [
                Delete(names.BACKUPS_STORE, backup_id),
                DeletePrefix(names.CHUNKS_STORE, names.chunk_prefix(backup_id)),
                Delete(names.SETTINGS_STORE, names.verified_key(backup_id)),
            ]
        await self.storage.own_write(ops)

    async def remember_verdict(self, backup_id: str, text: str) -> None:
        """Keep a verification verdict for the backup list; a failure only forgets it."""
        try:
            await self.storage.own_write([Put(names.SETTINGS_STORE, names.verified_key(backup_id), text)])
        except Exception:
            self.log.warning("could not remember the verification of backup %s", backup_id, exc_info=True)

    # ------------------------------------------------------------------ the browser's storage
    async def check_quota(self, payload_bytes: int, *, encrypted: bool) -> None:
        """Raise QuotaExceeded when the browser lacks room for a backup of ``payload_bytes``."""
        # JSON escaping adds a little; base64 adds a third; plus the metadata.
        factor = 1.5 if encrypted else 1.2
        needed = int(payload_bytes * factor) + 16 * 1024
        estimate = await self.storage.estimate()
        quota, usage = estimate.get("quota"), estimate.get("usage")
        if quota is None or usage is None:
            return
        available = max(0, int(quota) - int(usage))
        if available < needed:
            raise QuotaExceeded(
                f"Not enough browser storage for the backup: about {needed} bytes needed, {available} available. "
                "Delete old backups or free space, then try again.",
                needed=needed,
                available=available,
            )

    async def persist(self) -> bool:
        """Ask once for persistent storage; return whether the browser granted it."""
        if self._persisted is None:
            try:
                self._persisted = bool(await self.storage.persist())
            except Exception:
                self.log.warning("persistent storage request failed", exc_info=True)
                self._persisted = False
        return self._persisted
