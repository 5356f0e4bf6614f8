"""The Backups panel: the backup table, and create, verify, restore, delete, export and import."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Mapping

from app.ui import format as fmt
from app.ui.dom import by_id, download, el, fill
from app.ui.rows import backup_name, backup_row, key_list

if TYPE_CHECKING:  # the console imports its panels; a panel knows it only as a type
    from app.ui.console import Console


class BackupsPanel:
    """Show the stored backups and act on them, asking first before anything is lost."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.listed: dict[str, dict] = {}
        self.verified: dict[str, dict] = {}  # this page's verifications, by backup id

    async def refresh(self) -> None:
        """Show every stored backup."""
        backups = await self.console.call("backupService", "listBackups") or []
        self.listed = {b["id"]: b for b in backups if isinstance(b, Mapping) and b.get("id")}
        rows = [backup_row(b, self._verdict(b)) for b in backups if isinstance(b, Mapping) and b.get("id")]
        if not rows:
            rows = [el("tr", el("td", "No backup yet. One is made automatically before every migration.",
                                cls="empty", colspan=7))]
        fill(by_id("backups-body"), *rows)

    def _verdict(self, meta: Mapping[str, Any]) -> dict | None:
        # This page's verification, else the last one the backup service remembers (kept across reloads).
        return self.verified.get(str(meta["id"])) or meta.get("verified")

    def _meta(self, backup_id: str) -> dict:
        meta = self.listed.get(backup_id)
        if meta is None:
            raise LookupError(f"backup {backup_id} is no longer listed; press Refresh")
        return meta

    async def create(self) -> None:
        """Make a full backup with the form's description and optional passphrase."""
        description = str(by_id("backup-description").value).strip()
        passphrase = str(by_id("backup-passphrase").value)
        options = {"passphrase": passphrase} if passphrase else None
        meta = await self.console.call("backupService", "createFullBackup", description, options)
        by_id("backup-passphrase").value = ""
        by_id("backup-description").value = ""
        await self.refresh()
        self.console.notify(
            f"Backup created: {meta.get('id')} ({fmt.size(meta.get('sizeBytes'))}"
            f"{', encrypted' if meta.get('encrypted') else ''}).",
            "info",
        )

    async def verify(self, backup_id: str) -> None:
        """Recompute every hash of a backup (asking for its passphrase when encrypted)."""
        meta = self._meta(backup_id)
        options = None
        if meta.get("encrypted"):
            confirmed, passphrase = await self.console.confirm(
                "Verify encrypted backup",
                f"Backup {backup_name(meta)} is encrypted. Its passphrase proves that it can be decrypted.",
                [],
                "Verify",
                passphrase=True,
            )
            if not confirmed:
                return
            options = {"passphrase": passphrase}
        report = await self.console.call("backupService", "verifyBackup", backup_id, options)
        self.verified[backup_id] = report or {}
        await self.refresh()
        chunks = len((report or {}).get("chunks") or [])
        if report and report.get("ok"):
            self.console.notify(
                f"Backup {backup_name(meta)} verified: every checksum of its {fmt.plural(chunks, 'chunk')} matches.", "info"
            )
        else:
            errors = "; ".join((report or {}).get("errors") or []) or "a chunk does not match its checksum"
            self.console.notify(f"Backup {backup_name(meta)} failed verification: {errors}. Do not restore it.")

    async def restore(self, backup_id: str) -> None:
        """Confirm, then bring the app data back to a backup's state."""
        meta = self._meta(backup_id)
        now = await self.console.call("compatibilityLayer", "getStoredKeys") or {}
        current = [*(now.get("local") or []), *(f"AirPromptsDB:{k}" for k in now.get("app") or [])]
        keys = meta.get("keys") or {}
        in_backup = [*(keys.get("local") or []), *(f"AirPromptsDB:{k}" for k in keys.get("app") or [])]
        removed = sorted(k for k in current if k not in set(in_backup))
        details = [
            key_list(f"Keys that will be restored ({len(in_backup)})", in_backup, "None: the backup holds no data."),
            key_list(f"Keys that exist now and will be removed ({len(removed)})", removed, "None."),
        ]
        text = (
            f"This puts the AirPrompts data back exactly as it was on {fmt.when(meta.get('createdAt'))}"
            f" (version {meta.get('schemaVersion') or 'unknown'}, {fmt.plural(meta.get('itemCount') or 0, 'record')})."
            " A safety backup of the current data is made first, so you can undo this."
        )
        confirmed, passphrase = await self.console.confirm(
            f"Restore backup {backup_name(meta)}?",
            text,
            details,
            "Restore",
            passphrase=bool(meta.get("encrypted")),
            danger=True,
        )
        if not confirmed:
            return
        options = {"passphrase": passphrase} if passphrase else None
        result = await self.console.call("backupService", "restoreBackup", backup_id, options) or {}
        console = self.console
        await asyncio.gather(
            console.guard(self.refresh()), console.guard(console.status.refresh()), console.guard(console.logs.refresh())
        )
        safety = result.get("safetyBackupId")
        self.console.notify(
            f"Restored backup {backup_name(meta)}: {fmt.plural(result.get('written') or 0, 'value')} written, "
            f"{fmt.plural(len(result.get('removed') or []), 'key')} removed."
            + (f" Safety backup of the previous data: {safety}." if safety else ""),
            "info",
        )

    async def delete(self, backup_id: str) -> None:
        """Confirm, then delete a backup."""
        meta = self._meta(backup_id)
        confirmed, _ = await self.console.confirm(
            f"Delete backup {backup_name(meta)}?",
            f"The backup from {fmt.when(meta.get('createdAt'))} ({fmt.size(meta.get('sizeBytes'))}) is deleted for good. "
            "Your current data does not change.",
            [],
            "Delete",
            danger=True,
        )
        if not confirmed:
            return
        await self.console.call("backupService", "deleteBackup", backup_id)
        self.verified.pop(backup_id, None)
        await self.refresh()
        self.console.notify(f"Deleted backup {backup_name(meta)}.", "info")

    async def export(self, backup_id: str) -> None:
        """Download a full backup as a self-contained JSON file."""
        text = await self.console.call("backupService", "exportBackup", backup_id)
        download(f"airprompts-backup-{backup_id}.json", "application/json", text)

    async def import_file(self) -> None:
        """Import the backup file the user picked."""
        files = by_id("backup-file").files  # the texts of the picked files, sent with the click
        if not files:
            self.console.notify("Choose a backup file first (a .json file exported from this console).")
            return
        text = files[0]
        meta = await self.console.call("backupService", "importBackup", str(text))
        by_id("backup-file").value = ""
        by_id("backup-file").files = []
        await self.refresh()
        if meta.get("alreadyImported"):
            self.console.notify(
                f"This file is backup {backup_name(meta)}, already stored as {meta.get('id')}: not imported again.", "info"
            )
        else:
            self.console.notify(f"Imported backup {backup_name(meta)} as {meta.get('id')}.", "info")
