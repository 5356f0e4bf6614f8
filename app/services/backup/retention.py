"""Retention: which backups to delete (pure), and deleting them."""

from __future__ import annotations

import logging
from typing import Callable, Iterable

from app.services.backup.store import BackupStore


def doomed(backups: list[dict], keep: set[str], *, now_ms: float, max_backups: int, max_age_days: float) -> list[str]:
    """Return the ids among ``backups`` (newest first) beyond ``max_backups`` or older than ``max_age_days``.

    The newest backup and those in ``keep`` stay, and so does the whole base chain of
    every kept incremental.
    """
    if not backups:
        return []
    by_id = {m["id"]: m for m in backups}
    max_age_ms = max_age_days * 86_400_000
    keep = {backups[0]["id"]} | keep
    for position, meta in enumerate(backups):
        if position < max_backups and now_ms - float(meta.get("createdAtMs") or 0) <= max_age_ms:
            keep.add(meta["id"])
    for backup_id in list(keep):
        base = by_id.get(backup_id, {}).get("baseId")
        while base and base in by_id and base not in keep:
            keep.add(base)
            base = by_id[base].get("baseId")
    return [m["id"] for m in backups if m["id"] not in keep]


class Retention:
    """Delete the backups that ``doomed`` names, keeping those ``protected`` holds."""

    def __init__(
        self,
        store: BackupStore,
        clock: Callable[[], float],
        log: logging.Logger,
        *,
        max_backups: int,
        max_age_days: float,
    ) -> None:
        self.store = store
        self.clock = clock
        self.log = log
        self.max_backups = max_backups
        self.max_age_days = max_age_days
        # Ids the automatic retention after each new backup must keep; the migration
        # service adds its newest pre-migration backup here during the dual-read period.
        self.protected: set[str] = set()

    async def apply(self, protect: Iterable[str]) -> list[str]:
        """Delete the backups retention no longer keeps; return their ids."""
        backups = await self.store.list_backups()
        ids = doomed(
            backups,
            set(protect) | self.protected,
            now_ms=self.clock() * 1000,
            max_backups=self.max_backups,
            max_age_days=self.max_age_days,
        )
        if ids:
            await self.store.delete(ids)
            self.log.info("retention deleted backups %s", ", ".join(ids))
        return ids

    async def after(self, backup_id: str, protect: Iterable[str] = (), *, what: str = "backup") -> None:
        """Apply retention after ``backup_id`` was stored; a failure only keeps old backups longer."""
        try:
            await self.apply([backup_id, *protect])
        except Exception:
            self.log.warning("retention after %s %s failed", what, backup_id, exc_info=True)
