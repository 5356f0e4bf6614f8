"""The backup service: full and incremental backups of the AirPrompts data, and restores.

What a backup holds: every app-owned localStorage key and every record of
``AirPromptsDB``/``storage``, each exactly as stored (strings, never reformatted).

Layout in the own database ``AirPromptsMigrate``:

* ``backups``: key = backup id, value = JSON metadata (``id``, ``type`` full or
  incremental, ``kind`` manual/pre-migration/safety/imported, ``createdAt`` ISO,
  ``createdAtMs``, ``description``, ``schemaVersion``, ``keys`` {"local": [...],
  "app": [...]} = the whole state at backup time, ``itemCount``, ``sizeBytes`` =
  UTF-8 bytes of the values this backup stores, ``chunkCount``, ``chunks``
  [{index, sha256, size, iv?}], ``sha256``, ``encrypted``, ``kdf``, ``baseId``,
  ``migrationId``, ``persisted``, ``complete``: true). Written LAST, after every
  chunk: chunks without metadata are an interrupted backup that ``recover``
  discards.
* ``chunks``: key = ``f"{backup_id}/{index:06d}"``, value = the stored chunk text.
  Plain chunk text is a JSON array of entries ``{"area": "local"|"app", "key",
  "value": str | None}`` (None: deleted since the base, incrementals only); a value
  longer than ``chunk_chars`` is split into pieces carrying ``"part"`` and
  ``"parts"``, so no chunk is much larger than ``chunk_chars``. An encrypted chunk
  stores the base64 AES-GCM ciphertext of ``sha256(plain) + "\\n" + plain`` (the
  IV is in the metadata's chunk entry); the inner hash proves the decryption.
* ``journal``: key ``"restore"`` while a restore runs (``recover`` finishes it).

Hashes: each chunk's ``sha256`` is the SHA-256 of the stored text (ciphertext
when encrypted); the backup's ``sha256`` is the SHA-256 of the chunk hashes
concatenated in index order.

Export: ``export_backup`` writes full backups only; exporting an incremental is
refused with InvalidInput (create a full backup to export), so that an export file
is always self-contained and imports as one backup.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any, Callable, Iterable, Iterator

from app.core import jsonstream
from app.core.errors import (
    BackupCorrupted,
    BackupNotFound,
    InvalidInput,
    NothingChanged,
    QuotaExceeded,
    WrongPassphrase,
)
from app.core.keys import is_app_key
from app.services.crypto import Crypto
from app.storage.base import Delete, DeletePrefix, Put, Storage

AREAS = ("local", "app")
KINDS = ("manual", "pre-migration", "safety", "imported")
EXPORT_FORMAT = "airprompts-migrate-backup"
EXPORT_VERSION = 1
JOURNAL_RESTORE = "restore"
CHUNKS_PER_WRITE = 4
SALT_BYTES = 16
MIN_ITERATIONS = 600_000
COLLECTIONS = ("templates", "workflows", "snippets", "folders")

State = dict[str, dict[str, str]]
Changes = dict[str, dict[str, "str | None"]]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _order(meta: dict) -> tuple[float, str]:
    return (float(meta.get("createdAtMs") or 0), str(meta.get("id")))


def _chunk_key(backup_id: str, index: int) -> str:
    return f"{backup_id}/{index:06d}"


# The metadata fields ``metaSha256`` covers: everything that describes the backup. Not covered:
# what an import or this browser sets (``kind`` imported, ``originalId``, ``importedAt``,
# ``persisted``, ``complete``); an import keeps the original id and kind to check against.
SIGNED_FIELDS = (
    "id", "type", "kind", "createdAt", "createdAtMs", "description", "schemaVersion", "keys", "itemCount",
    "sizeBytes", "changed", "deleted", "chunkCount", "chunks", "sha256", "encrypted", "kdf", "baseId", "migrationId",
)  # fmt: skip
VERIFIED_PREFIX = "verified/"  # own store "settings": the last verification of each backup


def _signed(meta: dict) -> str:
    """Return the canonical text of the metadata fields ``metaSha256`` covers."""
    fields = {name: meta.get(name) for name in SIGNED_FIELDS}
    if meta.get("kind") == "imported" and "originalId" in meta:
        fields["id"], fields["kind"] = meta.get("originalId"), meta.get("originalKind")
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class _Keys:
    """Cache the keys derived during one operation (PBKDF2 at 600k iterations is slow)."""

    def __init__(self, crypto: Crypto, passphrase: str | None) -> None:
        self.crypto = crypto
        self.passphrase = passphrase
        self.cache: dict[tuple[str, int], object] = {}
        # ids of keys that decrypted a chunk: a later failure with one is damage, not a wrong passphrase.
        self.proven: set[int] = set()

    async def get(self, salt_b64: str, iterations: int) -> object:
        if self.passphrase is None:
            raise WrongPassphrase("This backup is encrypted: pass its passphrase")
        handle = self.cache.get((salt_b64, iterations))
        if handle is None:
            salt = base64.b64decode(salt_b64)
            handle = await self.crypto.derive_key(self.passphrase, salt, iterations)
            self.cache[(salt_b64, iterations)] = handle
        return handle

    async def for_new_backup(self, iterations: int) -> tuple[dict, object]:
        """Return a kdf description and key to encrypt a new backup, reusing a key this operation derived."""
        for (salt_b64, its), handle in self.cache.items():
            if its == iterations:
                # Same passphrase and salt is safe: every chunk gets a fresh random IV.
                return {"name": "PBKDF2", "hash": "SHA-256", "iterations": its, "salt": salt_b64}, handle
        salt_b64 = base64.b64encode(self.crypto.random_bytes(SALT_BYTES)).decode("ascii")
        handle = await self.get(salt_b64, iterations)
        return {"name": "PBKDF2", "hash": "SHA-256", "iterations": iterations, "salt": salt_b64}, handle


class _Report:
    """Collect what verification found, chunk by chunk."""

    def __init__(self, backup_id: str) -> None:
        self.backup_id = backup_id
        self.chain: list[str] = [backup_id]
        self.chunks: list[dict] = []
        self.errors: list[str] = []

    @property
    def ok(self) -> bool:
        return not self.errors and all(c["ok"] for c in self.chunks)

    def to_dict(self, encrypted: bool) -> dict:
        return {
            "ok": self.ok,
            "id": self.backup_id,
            "chain": self.chain,
            "encrypted": encrypted,
            "chunks": self.chunks,
            "errors": self.errors,
        }


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
    ) -> None:
        if chunk_chars < 64:
            raise InvalidInput(f"chunk_chars must be at least 64, got {chunk_chars}")
        self.storage = storage
        self.crypto = crypto
        self.clock = clock
        self.log = log or logging.getLogger(__name__)
        self.max_backups = max_backups
        self.max_age_days = max_age_days
        self.chunk_chars = chunk_chars
        self.iterations = iterations
        # Ids the automatic retention after each new backup must keep; the migration
        # service adds its newest pre-migration backup here during the dual-read period.
        self.protected: set[str] = set()
        self._persisted: bool | None = None
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ reading
    def __repr__(self) -> str:
        return f"<BackupService keep={self.max_backups} maxAgeDays={self.max_age_days} protected={sorted(self.protected)}>"

    async def snapshot(self, keys: Iterable[str] | None = None) -> State:
        """Return every app-owned localStorage value and AirPromptsDB record, exactly as stored."""
        wanted = None if keys is None else set(keys)
        local_keys = [k for k in await self.storage.local_keys() if is_app_key(k)]
        app_keys = list(await self.storage.app_keys())
        if wanted is not None:
            local_keys = [k for k in local_keys if k in wanted]
            app_keys = [k for k in app_keys if k in wanted]
        local = {k: v for k, v in (await self.storage.local_get(local_keys)).items() if v is not None}
        app = {k: v for k, v in (await self.storage.app_get(app_keys)).items() if v is not None}
        return {"local": local, "app": app}

    async def list_backups(self) -> list[dict]:
        """Return the metadata of every complete backup, newest first."""
        metas = []
        for backup_id, text in await self.storage.own_scan("backups"):
            try:
                meta = json.loads(text)
            except ValueError:
                self.log.warning("backup %s has unreadable metadata; skipped", backup_id)
                continue
            if isinstance(meta, dict) and meta.get("complete") is True:
                metas.append(meta)
        metas.sort(key=_order, reverse=True)
        verdicts = dict(await self.storage.own_scan("settings", VERIFIED_PREFIX))
        for meta in metas:
            text = verdicts.get(VERIFIED_PREFIX + str(meta.get("id")))
            verdict = _journal(text) if text is not None else None
            if verdict:
                meta["verified"] = verdict
        return metas

    async def get_backup(self, backup_id: str) -> dict:
        """Return the metadata of ``backup_id``; raise BackupNotFound when there is none."""
        text = (await self.storage.own_get("backups", [backup_id])).get(backup_id)
        if text is None:
            raise BackupNotFound(f"No backup has the id {backup_id!r}", backup_id=backup_id)
        try:
            meta = json.loads(text)
        except ValueError as exc:
            raise BackupCorrupted(f"The metadata of backup {backup_id!r} is not JSON", backup_id=backup_id) from exc
        if not isinstance(meta, dict):
            raise BackupCorrupted(f"The metadata of backup {backup_id!r} is not an object", backup_id=backup_id)
        return meta

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
            return await self._create_full(description, passphrase, kind, migration_id, schema_version, (), state)

    async def create_incremental_backup(
        self, description: str = "", *, passphrase: str | None = None, base_id: str | None = None
    ) -> dict:
        """Back up what changed since ``base_id`` (the newest backup by default); return its metadata."""
        async with self._lock:
            if base_id is None:
                backups = await self.list_backups()
                if not backups:
                    raise BackupNotFound("There is no backup yet to base an incremental backup on; make a full one")
                base_id = backups[0]["id"]
            keys = _Keys(self.crypto, passphrase)
            base_state, report = await self._load_state(base_id, keys)
            if not report.ok:
                raise BackupCorrupted(
                    f"Base backup {base_id!r} failed verification: {'; '.join(report.errors)}",
                    backup_id=base_id,
                    errors=report.errors,
                )
            current = await self.snapshot()
            # Equal strings have equal hashes: comparing the strings is the key-by-key
            # hash comparison without hashing every value twice.
            changes: Changes = {area: {} for area in AREAS}
            for area in AREAS:
                for key, value in current[area].items():
                    if base_state[area].get(key) != value:
                        changes[area][key] = value
                for key in base_state[area]:
                    if key not in current[area]:
                        changes[area][key] = None
            if not any(changes.values()):
                raise NothingChanged(
                    f"Nothing changed since backup {base_id}; no incremental backup was made", base_id=base_id
                )
            return await self._write_backup(
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

    async def _create_full(
        self,
        description: str,
        passphrase: str | None,
        kind: str,
        migration_id: str | None,
        schema_version: str | None,
        protect: Iterable[str],
        state: State | None = None,
    ) -> dict:
        if kind not in KINDS:
            raise InvalidInput(f"Unknown backup kind {kind!r}; use one of {', '.join(KINDS)}")
        current = await self.snapshot() if state is None else {area: dict(state[area]) for area in AREAS}
        changes: Changes = {area: dict(current[area]) for area in AREAS}
        keys = _Keys(self.crypto, passphrase) if passphrase is not None else None
        return await self._write_backup(
            changes,
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

    async def _new_id(self, now_ms: int) -> str:
        while True:
            backup_id = f"bk-{now_ms:013d}-{self.crypto.random_bytes(4).hex()}"
            if (await self.storage.own_get("backups", [backup_id])).get(backup_id) is None:
                return backup_id

    async def _write_backup(
        self,
        changes: Changes,
        current: State,
        *,
        backup_type: str,
        description: str,
        kind: str,
        keys: _Keys | None,
        base_id: str | None,
        migration_id: str | None,
        schema_version: str | None,
        protect: Iterable[str],
    ) -> dict:
        if not isinstance(description, str):
            raise InvalidInput("The backup description must be a string")
        size_bytes = sum(_utf8_len(v) for area in AREAS for v in changes[area].values() if v is not None)
        key_bytes = sum(_utf8_len(k) for area in AREAS for k in changes[area])
        await self._check_quota(size_bytes + key_bytes, encrypted=keys is not None)
        kdf, handle = (None, None) if keys is None else await keys.for_new_backup(self.iterations)

        existing = await self.list_backups()
        now = self.clock()
        # Strictly after the newest backup, so "newest" never depends on a tie.
        created_ms = int(now * 1000)
        if existing:
            created_ms = max(created_ms, int(existing[0].get("createdAtMs") or 0) + 1)
        backup_id = await self._new_id(created_ms)

        chunk_infos: list[dict] = []
        pending: list[Put] = []
        try:
            for index, plain in enumerate(self._chunk_texts(changes)):
                stored, iv = plain, None
                if handle is not None:
                    inner = await self.crypto.sha256_hex(plain)
                    iv, stored = await self.crypto.encrypt(handle, inner + "\n" + plain)
                info: dict[str, Any] = {
                    "index": index,
                    "sha256": await self.crypto.sha256_hex(stored),
                    "size": len(stored),
                }
                if iv is not None:
                    info["iv"] = iv
                chunk_infos.append(info)
                pending.append(Put("chunks", _chunk_key(backup_id, index), stored))
                if len(pending) >= CHUNKS_PER_WRITE:
                    await self.storage.own_write(pending)
                    pending = []
            if pending:
                await self.storage.own_write(pending)
                pending = []

            meta = {
                "id": backup_id,
                "type": backup_type,
                "kind": kind,
                "createdAt": _iso(created_ms / 1000),
                "createdAtMs": created_ms,
                "description": description,
                "schemaVersion": schema_version if schema_version is not None else _schema_version(current),
                "keys": {"local": list(current["local"]), "app": list(current["app"])},
                "itemCount": _item_count(current),
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
                "persisted": await self._persist(),
                "complete": True,
            }
            meta["metaSha256"] = await self.crypto.sha256_hex(_signed(meta))
            await self.storage.own_write([Put("backups", backup_id, _dumps(meta))])
        except BaseException:
            await self._discard_chunks(backup_id)
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
        try:
            await self._retain([backup_id, *protect])
        except Exception:
            # The backup itself is complete; a failed clean-up only keeps old backups longer.
            self.log.warning("retention after backup %s failed", backup_id, exc_info=True)
        return meta

    def _chunk_texts(self, changes: Changes) -> Iterator[str]:
        """Yield the plain chunk texts of ``changes``; always at least one."""
        limit = self.chunk_chars
        parts: list[str] = []
        size = 2
        for area in AREAS:
            for key, value in changes[area].items():
                for entry in self._entries(area, key, value):
                    text = _dumps(entry)
                    if parts and size + len(text) + 1 > limit:
                        yield "[" + ",".join(parts) + "]"
                        parts, size = [], 2
                    parts.append(text)
                    size += len(text) + 1
        yield "[" + ",".join(parts) + "]"

    def _entries(self, area: str, key: str, value: str | None) -> Iterator[dict]:
        # Leave room for the entry's own fields so a piece fits in one chunk.
        piece = max(16, self.chunk_chars - len(key) - 128)
        if value is None or len(value) <= piece:
            yield {"area": area, "key": key, "value": value}
            return
        parts = -(-len(value) // piece)
        for part in range(parts):
            yield {
                "area": area,
                "key": key,
                "value": value[part * piece : (part + 1) * piece],
                "part": part,
                "parts": parts,
            }

    async def _check_quota(self, payload_bytes: int, *, encrypted: bool) -> None:
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

    async def _persist(self) -> bool:
        if self._persisted is None:
            try:
                self._persisted = bool(await self.storage.persist())
            except Exception:
                self.log.warning("persistent storage request failed", exc_info=True)
                self._persisted = False
        return self._persisted

    async def _discard_chunks(self, backup_id: str) -> None:
        try:
            await self.storage.own_write([DeletePrefix("chunks", backup_id + "/")])
        except Exception:
            # recover() removes them on the next load.
            self.log.warning("could not remove the chunks of the failed backup %s", backup_id, exc_info=True)

    # ------------------------------------------------------------------ verifying and loading
    async def _chain(self, backup_id: str) -> list[dict]:
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

    async def _load_state(self, backup_id: str, keys: _Keys) -> tuple[State, _Report]:
        """Return the state at ``backup_id`` rebuilt from its chain, with what verification found."""
        report = _Report(backup_id)
        state: State = {area: {} for area in AREAS}
        try:
            chain = await self._chain(backup_id)
        except BackupCorrupted as exc:
            report.errors.append(exc.message)
            return state, report
        report.chain = [str(m.get("id")) for m in chain]
        for meta in chain:
            changes = await self._read_chunks(meta, keys, report)
            if changes is None:
                continue
            for area in AREAS:
                for key, value in changes[area].items():
                    if value is None:
                        state[area].pop(key, None)
                    else:
                        state[area][key] = value
        return state, report

    async def _read_chunks(self, meta: dict, keys: _Keys, report: _Report) -> Changes | None:
        """Return the entries of one backup, checking every hash; None when anything is wrong."""
        backup_id = str(meta.get("id"))
        infos = meta.get("chunks")
        if not isinstance(infos, list) or meta.get("chunkCount") != len(infos) or not infos:
            report.errors.append(f"backup {backup_id}: the chunk list in its metadata is invalid")
            return None
        if [c.get("index") if isinstance(c, dict) else None for c in infos] != list(range(len(infos))):
            report.errors.append(f"backup {backup_id}: the chunk indexes are not 0..{len(infos) - 1}")
            return None
        whole = await self.crypto.sha256_hex("".join(str(c.get("sha256")) for c in infos))
        if whole != meta.get("sha256"):
            report.errors.append(f"backup {backup_id}: the whole-backup checksum does not match")
        handle = None
        if meta.get("encrypted"):
            kdf = meta.get("kdf") or {}
            if not isinstance(kdf.get("salt"), str) or not isinstance(kdf.get("iterations"), int):
                report.errors.append(f"backup {backup_id}: its key derivation settings are invalid")
                return None
            try:
                handle = await keys.get(kdf["salt"], kdf["iterations"])
            except ValueError:
                report.errors.append(f"backup {backup_id}: its key derivation salt is not base64")
                return None
            except WrongPassphrase as exc:
                raise WrongPassphrase(
                    f"Backup {backup_id} is encrypted: pass its passphrase", backup_id=backup_id
                ) from exc

        changes: Changes = {area: {} for area in AREAS}
        pieces: dict[tuple[str, str], list[str | None]] = {}
        good = True
        for start in range(0, len(infos), CHUNKS_PER_WRITE * 2):
            batch = infos[start : start + CHUNKS_PER_WRITE * 2]
            stored = await self.storage.own_get("chunks", [_chunk_key(backup_id, c["index"]) for c in batch])
            for info in batch:
                index = info["index"]
                error = None
                try:
                    entries = await self._decode_chunk(
                        info, stored.get(_chunk_key(backup_id, index)), handle, backup_id, keys
                    )
                    self._collect(entries, changes, pieces)
                except BackupCorrupted as exc:
                    error = exc.message
                    good = False
                report.chunks.append({"backupId": backup_id, "index": index, "ok": error is None, "error": error})
        if good:
            for (area, key), parts in pieces.items():
                if any(p is None for p in parts):
                    report.errors.append(f"backup {backup_id}: the value of {area} key {key!r} is incomplete")
                    good = False
                else:
                    changes[area][key] = "".join(parts)  # type: ignore[arg-type]
        return changes if good and not report.errors else None

    async def _decode_chunk(self, info: dict, stored: str | None, handle: object, backup_id: str, keys: _Keys) -> list:
        if stored is None:
            raise BackupCorrupted("chunk is missing")
        if await self.crypto.sha256_hex(stored) != info.get("sha256"):
            raise BackupCorrupted("checksum mismatch: the chunk was changed or damaged")
        plain = stored
        if handle is not None:
            if not isinstance(info.get("iv"), str):
                raise BackupCorrupted("the chunk has no IV")
            try:
                inner = await self.crypto.decrypt(handle, info["iv"], stored)
            except WrongPassphrase as exc:
                if id(handle) in keys.proven:
                    raise BackupCorrupted("the chunk fails authentication (its IV or data was changed)") from exc
                # The stored hash matched, so the ciphertext is intact: the key is wrong.
                raise WrongPassphrase(f"Wrong passphrase for backup {backup_id}", backup_id=backup_id) from exc
            keys.proven.add(id(handle))
            digest, sep, plain = inner.partition("\n")
            if not sep or await self.crypto.sha256_hex(plain) != digest:
                raise BackupCorrupted("the decrypted chunk does not match its inner checksum")
        try:
            entries = json.loads(plain)
        except ValueError as exc:
            raise BackupCorrupted("the chunk is not JSON") from exc
        if not isinstance(entries, list):
            raise BackupCorrupted("the chunk is not a list of entries")
        return entries

    @staticmethod
    def _collect(entries: list, changes: Changes, pieces: dict[tuple[str, str], list[str | None]]) -> None:
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("area") not in AREAS or not isinstance(entry.get("key"), str):
                raise BackupCorrupted("the chunk holds an invalid entry")
            area, key, value = entry["area"], entry["key"], entry.get("value")
            if value is not None and not isinstance(value, str):
                raise BackupCorrupted(f"the value of {area} key {key!r} is not a string")
            if "parts" in entry:
                part, parts = entry.get("part"), entry.get("parts")
                if not isinstance(parts, int) or not isinstance(part, int) or not 0 <= part < parts or value is None:
                    raise BackupCorrupted(f"the pieces of {area} key {key!r} are invalid")
                slots = pieces.setdefault((area, key), [None] * parts)
                if len(slots) != parts:
                    raise BackupCorrupted(f"the pieces of {area} key {key!r} disagree on their count")
                slots[part] = value
            else:
                changes[area][key] = value

    async def verify_backup(self, backup_id: str, *, passphrase: str | None = None) -> dict:
        """Recompute every hash of ``backup_id`` and its bases; report, never raise, on corruption."""
        try:
            meta = await self.get_backup(backup_id)
        except BackupCorrupted as exc:
            return {
                "ok": False,
                "id": backup_id,
                "chain": [backup_id],
                "encrypted": None,
                "chunks": [],
                "errors": [exc.message],
            }
        _, report = await self._load_state(backup_id, _Keys(self.crypto, passphrase))
        problem = await self._meta_problem(meta)
        if problem:
            report.errors.append(problem)
        result = report.to_dict(bool(meta.get("encrypted")))
        result["metaVerified"] = "metaSha256" in meta and problem is None
        if not result["ok"]:
            self.log.warning("backup %s failed verification: %s", backup_id, report.errors or "bad chunks")
        await self._remember_verification(backup_id, result)
        return result

    async def _meta_problem(self, meta: dict) -> str | None:
        """Return what is wrong with a backup's metadata checksum (None when it matches or predates it)."""
        if "metaSha256" not in meta:
            return None
        if await self.crypto.sha256_hex(_signed(meta)) != meta.get("metaSha256"):
            return (
                f"backup {meta.get('id')}: its description, date, version or other metadata were changed "
                "after it was made (the metadata checksum does not match)"
            )
        return None

    async def _remember_verification(self, backup_id: str, result: dict) -> None:
        """Keep the outcome for the backup list (the console's Verified column); a failure only forgets it."""
        verdict = {"ok": result["ok"], "at": _iso(self.clock()), "errors": result["errors"][:5]}
        try:
            await self.storage.own_write([Put("settings", VERIFIED_PREFIX + backup_id, _dumps(verdict))])
        except Exception:
            self.log.warning("could not remember the verification of backup %s", backup_id, exc_info=True)

    async def state(self, backup_id: str, *, passphrase: str | None = None) -> State:
        """Return the verified state a backup holds: {"local": {key: text}, "app": {key: record text}}."""
        keys = _Keys(self.crypto, passphrase) if passphrase is not None else None
        return await self._verified_state(backup_id, keys)

    async def _verified_state(self, backup_id: str, keys: _Keys) -> State:
        state, report = await self._load_state(backup_id, keys)
        if not report.ok:
            bad = [f"{c['backupId']} chunk {c['index']}: {c['error']}" for c in report.chunks if not c["ok"]]
            raise BackupCorrupted(
                f"Backup {backup_id} failed verification and was not used: {'; '.join(report.errors + bad)}",
                backup_id=backup_id,
                errors=report.errors,
                chunks=[c for c in report.chunks if not c["ok"]],
            )
        return state

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
            selection = None if keys is None else _selection(keys)
            meta = await self.get_backup(backup_id)
            state = await self._verified_state(backup_id, _Keys(self.crypto, passphrase))
            chain = await self._chain(backup_id)
            encrypted = any(m.get("encrypted") for m in chain)
            safety_id = None
            if safety_backup or encrypted:
                # Protect the chain: retention after the safety backup must not delete
                # what recover() may still need to finish this restore.
                chain_ids = [m["id"] for m in chain]
                safety = await self._create_full(f"Before restoring {backup_id}", None, "safety", None, None, chain_ids)
                safety_id = safety["id"]
            journal = {
                "backupId": backup_id,
                "safetyBackupId": safety_id,
                "keys": selection,
                "encrypted": encrypted,
                "startedAt": _iso(self.clock()),
            }
            if deferred:
                journal["deferred"] = True
            await self.storage.own_write([Put("journal", JOURNAL_RESTORE, _dumps(journal))])
            result = await self._apply(state, selection, rollback=True)
            await self.storage.own_write([Delete("journal", JOURNAL_RESTORE)])
            self.log.info(
                "restored backup %s (%s): %d set, %d removed, safety backup %s",
                backup_id,
                meta.get("type"),
                result["written"],
                len(result["removed"]),
                safety_id,
            )
            return {**result, "backupId": backup_id, "safetyBackupId": safety_id}

    async def _apply(self, state: State, selection: list[str] | None, *, rollback: bool) -> dict:
        """Write ``state`` over the app data (within ``selection``), removing app keys it lacks."""
        before = await self.snapshot(selection)
        target: State = {
            area: {k: v for k, v in state[area].items() if selection is None or k in selection} for area in AREAS
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
            await self.storage.own_write([Delete("journal", JOURNAL_RESTORE)])
        except Exception:
            self.log.error(
                "restore failed (%s) and so did its rollback; recover() finishes it on next load", exc, exc_info=True
            )
            return
        self.log.error("restore failed (%s); the previous data was put back", exc)

    # ------------------------------------------------------------------ deleting and retention
    async def delete_backup(self, backup_id: str) -> None:
        """Delete ``backup_id``; refuse when a kept incremental backup needs it as its base."""
        async with self._lock:
            await self.get_backup(backup_id)
            dependents = [m["id"] for m in await self.list_backups() if m.get("baseId") == backup_id]
            if dependents:
                raise InvalidInput(
                    f"Backup {backup_id} is the base of incremental backup(s) {', '.join(dependents)}; delete those first",
                    backup_id=backup_id,
                    dependents=dependents,
                )
            await self.storage.own_write(
                [
                    Delete("backups", backup_id),
                    DeletePrefix("chunks", backup_id + "/"),
                    Delete("settings", VERIFIED_PREFIX + backup_id),
                ]
            )
            self.log.info("deleted backup %s", backup_id)

    async def apply_retention(self, protect: Iterable[str] = ()) -> list[str]:
        """Delete backups beyond ``max_backups`` or older than ``max_age_days``; return their ids."""
        async with self._lock:
            return await self._retain(protect)

    async def _retain(self, protect: Iterable[str]) -> list[str]:
        backups = await self.list_backups()
        if not backups:
            return []
        by_id = {m["id"]: m for m in backups}
        now_ms = self.clock() * 1000
        max_age_ms = self.max_age_days * 86_400_000
        keep = {backups[0]["id"]} | set(protect) | self.protected
        for position, meta in enumerate(backups):
            if position < self.max_backups and now_ms - float(meta.get("createdAtMs") or 0) <= max_age_ms:
                keep.add(meta["id"])
        # A kept incremental keeps its whole base chain.
        for backup_id in list(keep):
            base = by_id.get(backup_id, {}).get("baseId")
            while base and base in by_id and base not in keep:
                keep.add(base)
                base = by_id[base].get("baseId")
        doomed = [m["id"] for m in backups if m["id"] not in keep]
        if doomed:
            ops: list = []
            for backup_id in doomed:
                ops += [
                    Delete("backups", backup_id),
                    DeletePrefix("chunks", backup_id + "/"),
                    Delete("settings", VERIFIED_PREFIX + backup_id),
                ]
            await self.storage.own_write(ops)
            self.log.info("retention deleted backups %s", ", ".join(doomed))
        return doomed

    # ------------------------------------------------------------------ export and import
    async def export_backup(self, backup_id: str) -> str:
        """Return ``backup_id`` as a self-contained JSON envelope (full backups only)."""
        meta = await self.get_backup(backup_id)
        if meta.get("type") != "full":
            raise InvalidInput(
                f"Backup {backup_id} is incremental and needs its base backups; create a full backup and export that",
                backup_id=backup_id,
            )
        infos = meta.get("chunks") or []
        stored = await self.storage.own_get("chunks", [_chunk_key(backup_id, c["index"]) for c in infos])
        chunks = []
        for info in infos:
            text = stored.get(_chunk_key(backup_id, info["index"]))
            if text is None or await self.crypto.sha256_hex(text) != info.get("sha256"):
                raise BackupCorrupted(
                    f"Backup {backup_id} chunk {info['index']} is missing or damaged; not exported", backup_id=backup_id
                )
            chunk = {"index": info["index"], "sha256": info["sha256"], "data": text}
            if "iv" in info:
                chunk["iv"] = info["iv"]
            chunks.append(chunk)
        return _dumps({"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "meta": meta, "chunks": chunks})

    async def import_backup(self, text: str) -> dict:
        """Check every hash of an exported envelope, then store it as a backup; return its metadata."""
        async with self._lock:
            meta, chunks = await self._parse_envelope(text)
            original_id = meta["id"]
            for existing in await self.list_backups():
                first_id = meta.get("originalId", original_id) if meta.get("kind") == "imported" else original_id
                same_backup = bool({original_id, first_id} & {existing.get("id"), existing.get("originalId")})
                if same_backup and existing.get("sha256") == meta.get("sha256"):
                    self.log.info("backup file %s is already stored as %s; not imported again", original_id, existing["id"])
                    return {**existing, "alreadyImported": True}
            payload = sum(len(c["data"]) for c in chunks)
            await self._check_quota(payload, encrypted=False)
            free = (await self.storage.own_get("backups", [original_id])).get(original_id) is None
            backup_id = original_id if free and not await self.storage.own_keys("chunks", original_id + "/") else None
            if backup_id is None:
                backup_id = await self._new_id(int(self.clock() * 1000))
            infos = [
                {
                    "index": c["index"],
                    "sha256": c["sha256"],
                    "size": len(c["data"]),
                    **({"iv": c["iv"]} if "iv" in c else {}),
                }
                for c in chunks
            ]
            new_meta = {
                **meta,
                "id": backup_id,
                "kind": "imported",
                # An imported backup exported again keeps the id and kind it was made with.
                "originalId": meta.get("originalId", original_id) if meta.get("kind") == "imported" else original_id,
                "originalKind": meta.get("originalKind") if meta.get("kind") == "imported" else meta.get("kind"),
                "importedAt": _iso(self.clock()),
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
                for start in range(0, len(chunks), CHUNKS_PER_WRITE):
                    await self.storage.own_write(
                        [
                            Put("chunks", _chunk_key(backup_id, c["index"]), c["data"])
                            for c in chunks[start : start + CHUNKS_PER_WRITE]
                        ]
                    )
                await self.storage.own_write([Put("backups", backup_id, _dumps(new_meta))])
            except BaseException:
                await self._discard_chunks(backup_id)
                raise
            self.log.info("imported backup %s as %s", original_id, backup_id)
            try:
                await self._retain([backup_id])
            except Exception:
                self.log.warning("retention after import %s failed", backup_id, exc_info=True)
            return new_meta

    async def _parse_envelope(self, text: str) -> tuple[dict, list[dict]]:
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
        meta, chunks = envelope.get("meta"), envelope.get("chunks")
        if not isinstance(meta, dict) or not isinstance(chunks, list) or not isinstance(meta.get("id"), str):
            raise InvalidInput("The backup file lacks its metadata or chunks")
        if meta.get("type") != "full":
            raise InvalidInput("The backup file holds an incremental backup; only full backups can be imported")
        if (
            not isinstance(meta.get("chunks"), list)
            or len(meta["chunks"]) != len(chunks)
            or meta.get("chunkCount") != len(chunks)
        ):
            raise BackupCorrupted("The backup file's chunk count does not match its metadata")
        if meta.get("encrypted") and not isinstance((meta.get("kdf") or {}).get("salt"), str):
            raise InvalidInput("The backup file is encrypted but lacks its key derivation settings")
        for position, (chunk, info) in enumerate(zip(chunks, meta["chunks"], strict=True)):
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
                    entries = json.loads(chunk["data"])
                    self._collect(entries if isinstance(entries, list) else [None], {a: {} for a in AREAS}, {})
                except (ValueError, BackupCorrupted) as exc:
                    raise BackupCorrupted(f"The backup file's chunk {position} does not hold backup entries") from exc
        if await self.crypto.sha256_hex("".join(c["sha256"] for c in chunks)) != meta.get("sha256"):
            raise BackupCorrupted("The backup file fails its whole-backup checksum: the file was changed or damaged")
        if "metaSha256" in meta and await self.crypto.sha256_hex(_signed(meta)) != meta["metaSha256"]:
            raise BackupCorrupted(
                "The backup file's description, date, version or other metadata were changed after it was exported "
                "(its metadata checksum does not match); it was not imported"
            )
        return meta, chunks

    # ------------------------------------------------------------------ crash recovery
    async def recover(self) -> dict | None:
        """Finish or clean up a backup or restore a closed page interrupted; say which, or None."""
        async with self._lock:
            report = None
            orphans = await self._discard_orphans()
            if orphans:
                report = {"operation": "backup", "outcome": "discarded", "backupId": orphans[0], "backupIds": orphans}
            text = (await self.storage.own_get("journal", [JOURNAL_RESTORE])).get(JOURNAL_RESTORE)
            if text is not None and _deferred(text):
                report = {"operation": "restore", "outcome": "deferred", "backupId": _journal(text).get("backupId")}
            elif text is not None:
                report = await self._recover_restore(text)
            return report

    async def finish_deferred_restore(self) -> dict | None:
        """Finish an interrupted restore that ``recover`` left to the migration service; None when there is none."""
        async with self._lock:
            text = (await self.storage.own_get("journal", [JOURNAL_RESTORE])).get(JOURNAL_RESTORE)
            if text is None or not _deferred(text):
                return None
            return await self._recover_restore(text)

    async def _discard_orphans(self) -> list[str]:
        complete = {m["id"] for m in await self.list_backups()}
        orphans = sorted({k.split("/", 1)[0] for k in await self.storage.own_keys("chunks")} - complete)
        if orphans:
            await self.storage.own_write([DeletePrefix("chunks", o + "/") for o in orphans])
            self.log.warning("discarded the chunks of interrupted backup(s) %s", ", ".join(orphans))
        return orphans

    async def _recover_restore(self, text: str) -> dict:
        journal = _journal(text)
        backup_id = journal.get("backupId")
        safety_id = journal.get("safetyBackupId")
        selection = journal.get("keys")
        # Re-running the restore is idempotent; an encrypted one cannot be re-run
        # without its passphrase, so fall back to the safety backup (the old state).
        if backup_id and not journal.get("encrypted"):
            try:
                await self._apply(
                    await self._verified_state(backup_id, _Keys(self.crypto, None)), selection, rollback=False
                )
            except (BackupNotFound, BackupCorrupted, WrongPassphrase):
                self.log.error(
                    "cannot finish the interrupted restore of %s; trying its safety backup", backup_id, exc_info=True
                )
            else:
                await self.storage.own_write([Delete("journal", JOURNAL_RESTORE)])
                self.log.warning("finished the interrupted restore of backup %s", backup_id)
                return {
                    "operation": "restore",
                    "outcome": "completed",
                    "backupId": backup_id,
                    "safetyBackupId": safety_id,
                }
        if safety_id:
            await self._apply(
                await self._verified_state(safety_id, _Keys(self.crypto, None)), selection, rollback=False
            )
            await self.storage.own_write([Delete("journal", JOURNAL_RESTORE)])
            self.log.warning("rolled the interrupted restore of %s back to safety backup %s", backup_id, safety_id)
            return {"operation": "restore", "outcome": "discarded", "backupId": backup_id, "safetyBackupId": safety_id}
        self.log.error("the interrupted restore of %s can neither finish nor roll back", backup_id)
        return {"operation": "restore", "outcome": "failed", "backupId": backup_id, "safetyBackupId": safety_id}


def _journal(text: str) -> dict:
    try:
        journal = json.loads(text)
    except ValueError:
        return {}
    return journal if isinstance(journal, dict) else {}


def _deferred(text: str) -> bool:
    return _journal(text).get("deferred") is True


def _selection(keys: Iterable[str]) -> list[str]:
    if isinstance(keys, str):
        raise InvalidInput("keys must be a list of key names, not one string")
    selection = list(dict.fromkeys(keys))
    for key in selection:
        if not isinstance(key, str):
            raise InvalidInput(f"Key names must be strings, got {key!r}")
    return selection


def _schema_version(state: State) -> str | None:
    raw = state["local"].get("airprompts_schema_version")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw.strip()
    return value if isinstance(value, str) else str(value)


def _item_count(state: State) -> int:
    """Return the records of the four collections where parseable, else the number of keys."""
    total, found = 0, False
    for name in COLLECTIONS:
        sources = [
            ("app", name),
            ("local", f"airprompts_{name}"),
            ("local", name),
            ("local", f"ap_{name}"),
            ("local", f"airprompts-{name}"),
        ]
        for area, key in sources:
            raw = state[area].get(key)
            if raw is None:
                continue
            try:
                value = jsonstream.loads(raw)  # deep nesting and NaN are ValueErrors here too
            except ValueError:
                continue
            if area == "app" and isinstance(value, dict):
                value = value.get("value")
            if isinstance(value, list):
                total += len(value)
                found = True
                break
    return total if found else len(state["local"]) + len(state["app"])
