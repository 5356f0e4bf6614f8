"""Creating backups: full and incremental, chunk by chunk, the metadata written last."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from app.core import jsonstream, timestamps
from app.core.errors import BackupCorrupted, BackupNotFound, InvalidInput, NothingChanged
from app.services.backup import chunks, metadata
from app.services.backup.chunks import AREAS, CHUNKS_PER_WRITE, Changes, State
from app.services.backup.cipher import KeyRing, seal
from app.services.backup.reader import BackupReader
from app.services.backup.retention import Retention
from app.services.backup.snapshot import snapshot
from app.services.backup.store import BackupStore
from app.services.crypto import Crypto
from app.storage.base import char_len


class BackupWriter:
    """Write new backups to the store; apply retention after each."""

    def __init__(
        self,
        store: BackupStore,
        reader: BackupReader,
        retention: Retention,
        crypto: Crypto,
        clock: Callable[[], float],
        log: logging.Logger,
        *,
        chunk_chars: int,
        iterations: int,
        count_array: jsonstream.ArrayCounter = jsonstream.count_array,
    ) -> None:
        self.store = store
        self.reader = reader
        self.retention = retention
        self.crypto = crypto
        self.clock = clock
        self.log = log
        self.chunk_chars = chunk_chars
        self.iterations = iterations
        self.count_array = count_array

    async def create_full(
        self,
        description: str,
        passphrase: str | None,
        kind: str,
        migration_id: str | None,
        schema_version: str | None,
        protect: Iterable[str],
        state: State | None = None,
    ) -> dict:
        """Back up the whole app state (``state`` when the caller has just read it); return the metadata."""
        if kind not in metadata.KINDS:
            raise InvalidInput(f"Unknown backup kind {kind!r}; use one of {', '.join(metadata.KINDS)}")
        current = await snapshot(self.store.storage) if state is None else chunks.everything(state)
        keys = KeyRing(self.crypto, passphrase) if passphrase is not None else None
        return await self._write(
            chunks.everything(current),
            current,
            backup_type="full",
            description=description,
            kind=kind,
            keys=keys,
            base_id=None,
            migration_id=migration_id,
            schema_version=schema_version,
            protect=protect,
        )

    async def create_incremental(self, description: str, passphrase: str | None, base_id: str | None) -> dict:
        """Back up what changed since ``base_id`` (the newest backup by default); return the metadata."""
        if base_id is None:
            backups = await self.store.list_backups()
            if not backups:
                raise BackupNotFound("There is no backup yet to base an incremental backup on; make a full one")
            base_id = backups[0]["id"]
        keys = KeyRing(self.crypto, passphrase)
        base_state, report = await self.reader.load_state(base_id, keys)
        if not report.ok:
            raise BackupCorrupted(
                f"Base backup {base_id!r} failed verification: {'; '.join(report.errors)}",
                backup_id=base_id,
                errors=report.errors,
            )
        current = await snapshot(self.store.storage)
        changes = chunks.changes_since(base_state, current)
        if not any(changes.values()):
            raise NothingChanged(
                f"Nothing changed since backup {base_id}; no incremental backup was made", base_id=base_id
            )
        return await self._write(
            changes,
            current,
            backup_type="incremental",
            description=description,
            kind="manual",
            keys=keys if passphrase is not None else None,
            base_id=base_id,
            migration_id=None,
            schema_version=None,
            protect=(),
        )

    async def _write(
        self,
        changes: Changes,
        current: State,
        *,
        backup_type: str,
        description: str,
        kind: str,
        keys: KeyRing | None,
        base_id: str | None,
        migration_id: str | None,
        schema_version: str | None,
        protect: Iterable[str],
    ) -> dict:
        if not isinstance(description, str):
            raise InvalidInput("The backup description must be a string")
        size_bytes = sum(chunks.utf8_len(v) for area in AREAS for v in changes[area].values() if v is not None)
        key_bytes = sum(chunks.utf8_len(k) for area in AREAS for k in changes[area])
        await self.store.check_quota(size_bytes + key_bytes, encrypted=keys is not None)
        kdf, handle = (None, None) if keys is None else await keys.for_new_backup(self.iterations)

        existing = await self.store.list_backups()
        # Strictly after the newest backup, so "newest" never depends on a tie.
        created_ms = int(self.clock() * 1000)
        if existing:
            created_ms = max(created_ms, int(existing[0].get("createdAtMs") or 0) + 1)
        backup_id = await self.store.new_id(created_ms)

        chunk_infos: list[dict] = []
        pending: list[tuple[int, str]] = []
        try:
            for index, plain in enumerate(chunks.chunk_texts(changes, self.chunk_chars)):
                iv, stored = await seal(self.crypto, handle, plain)
                info: dict[str, Any] = {
                    "index": index,
                    "sha256": await self.crypto.sha256_hex(stored),
                    "size": char_len(stored),  # characters
                }
                if iv is not None:
                    info["iv"] = iv
                chunk_infos.append(info)
                pending.append((index, stored))
                if len(pending) >= CHUNKS_PER_WRITE:
                    await self.store.put_chunks(backup_id, pending)
                    pending = []
            if pending:
                await self.store.put_chunks(backup_id, pending)
                pending = []

            meta = {
                "id": backup_id,
                "type": backup_type,
                "kind": kind,
                "createdAt": timestamps.from_epoch_seconds(created_ms / 1000),
                "createdAtMs": created_ms,
                "description": description,
                "schemaVersion": schema_version if schema_version is not None else metadata.schema_version(current),
                "keys": {"local": list(current["local"]), "app": list(current["app"])},
                "itemCount": metadata.item_count(current, self.count_array),
                "sizeBytes": size_bytes,
                "changed": {area: sum(v is not None for v in changes[area].values()) for area in AREAS},
                "deleted": {area: [k for k, v in changes[area].items() if v is None] for area in AREAS},
                "chunkCount": len(chunk_infos),
                "chunks": chunk_infos,
                "sha256": await self.crypto.sha256_hex("".join(c["sha256"] for c in chunk_infos)),
                "encrypted": kdf is not None,
                "kdf": kdf,
                "baseId": base_id,
                "migrationId": migration_id,
                "persisted": await self.store.persist(),
                "complete": True,
            }
            meta["metaSha256"] = await self.crypto.sha256_hex(metadata.signed(meta))
            await self.store.put_meta(meta, jsonstream.dumps(meta))
        except BaseException:
            await self.store.discard_chunks(backup_id)
            raise
        self.log.info(
            "created %s backup %s (%s, %d chunks, %d bytes%s)",
            backup_type,
            backup_id,
            kind,
            len(chunk_infos),
            size_bytes,
            ", encrypted" if kdf else "",
        )
        await self.retention.after(backup_id, protect)
        return meta
