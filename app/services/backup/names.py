"""The own stores and keys the backup service persists: the one place that names them.

All live in the own database ``AirPromptsMigrate``:

* ``backups``: key = backup id, value = the backup's JSON metadata, written LAST;
* ``chunks``: key = ``f"{backup_id}/{index:06d}"``, value = the stored chunk text;
* ``journal``: key ``"restore"`` while a restore runs (``recover`` finishes it);
* ``settings``: key ``"verified/" + backup id``, the last verification of that backup.
"""

from __future__ import annotations

# The stores the backup service shares with the migration are named by the journal module.
from app.services.journal import JOURNAL_STORE, SETTINGS_STORE, VERIFIED_PREFIX
from app.services.journal import RESTORE_KEY as JOURNAL_RESTORE

__all__ = [
    "BACKUPS_STORE",
    "CHUNKS_STORE",
    "JOURNAL_RESTORE",
    "JOURNAL_STORE",
    "SETTINGS_STORE",
    "VERIFIED_PREFIX",
    "backup_of_chunk",
    "chunk_key",
    "chunk_prefix",
    "verified_key",
]

BACKUPS_STORE = "backups"
CHUNKS_STORE = "chunks"


def chunk_prefix(backup_id: str) -> str:
    """Return the prefix of every chunk key of ``backup_id``."""
    return backup_id + "/"


def chunk_key(backup_id: str, index: int) -> str:
    """Return the key of chunk ``index`` of ``backup_id``."""
    return f"{chunk_prefix(backup_id)}{index:06d}"


def backup_of_chunk(key: str) -> str:
    """Return the backup id a chunk key belongs to."""
    return key.split("/", 1)[0]


def verified_key(backup_id: str) -> str:
    """Return the settings key holding the last verification of ``backup_id``."""
    return VERIFIED_PREFIX + backup_id
