"""Reading a backup back: its chain rebuilt into a state, every hash checked, a verification report."""

from __future__ import annotations

import logging
from typing import Callable

from app.core import jsonstream, timestamps
from app.core.errors import BackupCorrupted, WrongPassphrase
from app.services.backup import chunks
from app.services.backup.chunks import CHUNKS_PER_WRITE, Changes, State
from app.services.backup.cipher import KeyRing, open_chunk
from app.services.backup.metadata import signed
from app.services.backup.store import BackupStore
from app.services.crypto import Crypto


class Report:
    """Collect what verification found, chunk by chunk."""

    def __init__(self, backup_id: str) -> None:
        self.backup_id = backup_id
        self.chain: list[str] = [backup_id]
        self.chunks: list[dict] = []
        self.errors: list[str] = []

    @property
    def ok(self) -> bool:
        return not self.errors and all(c["ok"] for c in self.chunks)

    def to_dict(self, encrypted: bool | None) -> dict:
        """Return the report as the API answers it."""
        return {
            "ok": self.ok,
            "id": self.backup_id,
            "chain": self.chain,
            "encrypted": encrypted,
            "chunks": self.chunks,
            "errors": self.errors,
        }


class BackupReader:
    """Rebuild and verify the state a backup holds."""

    def __init__(self, store: BackupStore, crypto: Crypto, clock: Callable[[], float], log: logging.Logger) -> None:
        self.store = store
        self.crypto = crypto
        self.clock = clock
        self.log = log

    async def load_state(self, backup_id: str, keys: KeyRing) -> tuple[State, Report]:
        """Return the state at ``backup_id`` rebuilt from its chain, with what verification found."""
        report = Report(backup_id)
        state: State = chunks.empty()
        try:
            chain = await self.store.chain(backup_id)
        except BackupCorrupted as exc:
            report.errors.append(exc.message)
            return state, report
        report.chain = [str(m.get("id")) for m in chain]
        for meta in chain:
            changes = await self._read_changes(meta, keys, report)
            if changes is not None:
                chunks.apply_changes(state, changes)
        return state, report

    async def verified_state(self, backup_id: str, keys: KeyRing) -> State:
        """Return the state at ``backup_id``; raise BackupCorrupted when any check fails."""
        state, report = await self.load_state(backup_id, keys)
        if not report.ok:
            bad = [f"{c['backupId']} chunk {c['index']}: {c['error']}" for c in report.chunks if not c["ok"]]
            raise BackupCorrupted(
                f"Backup {backup_id} failed verification and was not used: {'; '.join(report.errors + bad)}",
                backup_id=backup_id,
                errors=report.errors,
                chunks=[c for c in report.chunks if not c["ok"]],
            )
        return state

    async def verify(self, backup_id: str, passphrase: str | None) -> dict:
        """Recompute every hash of ``backup_id`` and its bases; report, never raise, on corruption."""
        try:
            meta = await self.store.get_backup(backup_id)
        except BackupCorrupted as exc:
            report = Report(backup_id)
            report.errors.append(exc.message)
            return report.to_dict(None)
        _, report = await self.load_state(backup_id, KeyRing(self.crypto, passphrase))
        problem = await self.meta_problem(meta)
        if problem:
            report.errors.append(problem)
        result = report.to_dict(bool(meta.get("encrypted")))
        result["metaVerified"] = "metaSha256" in meta and problem is None
        if not result["ok"]:
            self.log.warning("backup %s failed verification: %s", backup_id, report.errors or "bad chunks")
        # Kept for the backup list (the console's Verified column).
        verdict = {
            "ok": result["ok"],
            "at": timestamps.from_epoch_seconds(self.clock()),
            "errors": result["errors"][:5],
        }
        await self.store.remember_verdict(backup_id, jsonstream.dumps(verdict))
        return result

    async def meta_problem(self, meta: dict) -> str | None:
        """Return what is wrong with a backup's metadata checksum (None when it matches or predates it)."""
        if "metaSha256" not in meta:
            return None
        if await self.crypto.sha256_hex(signed(meta)) != meta.get("metaSha256"):
            return (
                f"backup {meta.get('id')}: its description, date, version or other metadata were changed "
                "after it was made (the metadata checksum does not match)"
            )
        return None

    async def _read_changes(self, meta: dict, keys: KeyRing, report: Report) -> Changes | None:
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

        changes: Changes = chunks.empty()
        pieces: chunks.Pieces = {}
        good = True
        for start in range(0, len(infos), CHUNKS_PER_WRITE * 2):
            batch = infos[start : start + CHUNKS_PER_WRITE * 2]
            stored = await self.store.read_chunks(backup_id, [c["index"] for c in batch])
            for info in batch:
                index = info["index"]
                error = None
                try:
                    entries = await open_chunk(self.crypto, info, stored[index], handle, backup_id, keys)
                    chunks.collect(entries, changes, pieces)
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
