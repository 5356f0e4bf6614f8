"""Export and import: a full backup as one self-contained JSON envelope, every hash checked on the way in.

``export`` writes full backups only; exporting an incremental is refused with
InvalidInput (create a full backup to export), so that an export file is always
self-contained and imports as one backup.
"""

from __future__ import annotations

import json
import logging
from typing import Callable

from app.core import jsonstream, timestamps
from app.core.errors import BackupCorrupted, InvalidInput
from app.services.backup import chunks
from app.services.backup.chunks import CHUNKS_PER_WRITE
from app.services.backup.metadata import signed
from app.services.backup.retention import Retention
from app.services.backup.store import BackupStore
from app.services.crypto import Crypto

EXPORT_FORMAT = "airprompts-migrate-backup"
EXPORT_VERSION = 1


class BackupTransfer:
    """Write a backup out as an export file and take one in."""

    def __init__(
        self, store: BackupStore, retention: Retention, crypto: Crypto, clock: Callable[[], float], log: logging.Logger
    ) -> None:
        self.store = store
        self.retention = retention
        self.crypto = crypto
        self.clock = clock
        self.log = log

    async def export(self, backup_id: str) -> str:
        """Return ``backup_id`` as a self-contained JSON envelope (full backups only)."""
        meta = await self.store.get_backup(backup_id)
        if meta.get("type") != "full":
            raise InvalidInput(
                f"Backup {backup_id} is incremental and needs its base backups; create a full backup and export that",
                backup_id=backup_id,
            )
        infos = meta.get("chunks") or []
        stored = await self.store.read_chunks(backup_id, [c["index"] for c in infos])
        out = []
        for info in infos:
            text = stored[info["index"]]
            if text is None or await self.crypto.sha256_hex(text) != info.get("sha256"):
                raise BackupCorrupted(
                    f"Backup {backup_id} chunk {info['index']} is missing or damaged; not exported", backup_id=backup_id
                )
            chunk = {"index": info["index"], "sha256": info["sha256"], "data": text}
            if "iv" in info:
                chunk["iv"] = info["iv"]
            out.append(chunk)
        return jsonstream.dumps({"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "meta": meta, "chunks": out})

    async def import_(self, text: str) -> dict:
        """Check every hash of an exported envelope, then store it as a backup; return its metadata."""
        meta, chunk_list = await self.parse(text)
        original_id = meta["id"]
        was_imported = meta.get("kind") == "imported"
        # An imported backup exported again keeps the id and kind it was made with.
        first_id = meta.get("originalId", original_id) if was_imported else original_id
        for existing in await self.store.list_backups():
            same_backup = bool({original_id, first_id} & {existing.get("id"), existing.get("originalId")})
            if same_backup and existing.get("sha256") == meta.get("sha256"):
                self.log.info("backup file %s is already stored as %s; not imported again", original_id, existing["id"])
                return {**existing, "alreadyImported": True}
        payload = sum(len(c["data"]) for c in chunk_list)
        await self.store.check_quota(payload, encrypted=False)
        backup_id = original_id if await self.store.is_free(original_id) else None
        if backup_id is None:
            backup_id = await self.store.new_id(int(self.clock() * 1000))
        infos = [
            {
                "index": c["index"],
                "sha256": c["sha256"],
                "size": len(c["data"]),
                **({"iv": c["iv"]} if "iv" in c else {}),
            }
            for c in chunk_list
        ]
        new_meta = {
            **meta,
            "id": backup_id,
            "kind": "imported",
            "originalId": first_id,
            "originalKind": meta.get("originalKind") if was_imported else meta.get("kind"),
            "importedAt": timestamps.from_epoch_seconds(self.clock()),
            "chunks": infos,
            "chunkCount": len(infos),
            "baseId": None,
            "complete": True,
        }
        if "metaSha256" not in meta:
            # A file exported before metadata checksums: its data is checked, its description and date are not.
            new_meta["metaVerified"] = False
            self.log.warning("backup file %s has no metadata checksum (an earlier export)", original_id)
        try:
            for start in range(0, len(chunk_list), CHUNKS_PER_WRITE):
                batch = chunk_list[start : start + CHUNKS_PER_WRITE]
                await self.store.put_chunks(backup_id, [(c["index"], c["data"]) for c in batch])
            await self.store.put_meta(new_meta, jsonstream.dumps(new_meta))
        except BaseException:
            await self.store.discard_chunks(backup_id)
            raise
        self.log.info("imported backup %s as %s", original_id, backup_id)
        await self.retention.after(backup_id, what="import")
        return new_meta

    async def parse(self, text: str) -> tuple[dict, list[dict]]:
        """Return the metadata and chunks of an export file after checking every hash; raise on any fault."""
        if not isinstance(text, str):
            raise InvalidInput("A backup file must be JSON text")
        try:
            envelope = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"This is not a backup file: it is not valid JSON ({exc})") from exc
        if not isinstance(envelope, dict) or envelope.get("format") != EXPORT_FORMAT:
            raise InvalidInput(f"This is not a backup file: its format is not {EXPORT_FORMAT!r}")
        if envelope.get("version") != EXPORT_VERSION:
            raise InvalidInput(
                f"Unsupported backup file version {envelope.get('version')!r}; this app reads version {EXPORT_VERSION}"
            )
        meta, chunk_list = envelope.get("meta"), envelope.get("chunks")
        if not isinstance(meta, dict) or not isinstance(chunk_list, list) or not isinstance(meta.get("id"), str):
            raise InvalidInput("The backup file lacks its metadata or chunks")
        if meta.get("type") != "full":
            raise InvalidInput("The backup file holds an incremental backup; only full backups can be imported")
        if (
            not isinstance(meta.get("chunks"), list)
            or len(meta["chunks"]) != len(chunk_list)
            or meta.get("chunkCount") != len(chunk_list)
        ):
            raise BackupCorrupted("The backup file's chunk count does not match its metadata")
        if meta.get("encrypted") and not isinstance((meta.get("kdf") or {}).get("salt"), str):
            raise InvalidInput("The backup file is encrypted but lacks its key derivation settings")
        for position, (chunk, info) in enumerate(zip(chunk_list, meta["chunks"], strict=True)):
            if (
                not isinstance(chunk, dict)
                or not isinstance(info, dict)
                or chunk.get("index") != position
                or info.get("index") != position
                or not isinstance(chunk.get("data"), str)
                or not isinstance(chunk.get("sha256"), str)
            ):
                raise InvalidInput(f"The backup file's chunk {position} is malformed")
            if meta.get("encrypted") and not isinstance(chunk.get("iv"), str):
                raise InvalidInput(f"The backup file's chunk {position} is encrypted but has no IV")
            digest = await self.crypto.sha256_hex(chunk["data"])
            if digest != chunk["sha256"] or digest != info.get("sha256"):
                raise BackupCorrupted(
                    f"The backup file's chunk {position} fails its checksum: the file was changed or damaged"
                )
            if not meta.get("encrypted"):
                try:
                    chunks.check_entries(json.loads(chunk["data"]))
                except (ValueError, BackupCorrupted) as exc:
                    raise BackupCorrupted(f"The backup file's chunk {position} does not hold backup entries") from exc
        if await self.crypto.sha256_hex("".join(c["sha256"] for c in chunk_list)) != meta.get("sha256"):
            raise BackupCorrupted("The backup file fails its whole-backup checksum: the file was changed or damaged")
        if "metaSha256" in meta and await self.crypto.sha256_hex(signed(meta)) != meta["metaSha256"]:
            raise BackupCorrupted(
                "The backup file's description, date, version or other metadata were changed after it was exported "
                "(its metadata checksum does not match); it was not imported"
            )
        return meta, chunk_list
