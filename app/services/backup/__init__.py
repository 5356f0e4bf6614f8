"""The backup service: full and incremental backups of the AirPrompts data, and restores.

What a backup holds: every app-owned localStorage key and every record of
``AirPromptsDB``/``storage``, each exactly as stored (strings, never reformatted).
A backup's chunks are written first and its metadata LAST: chunks without
metadata are an interrupted backup that ``recover`` discards.

The modules, one noun each:

* ``names``: the own stores and keys backups persist (the one place naming them);
* ``chunks``: the plain chunk format, what a backup holds cut into texts (pure);
* ``metadata``: kinds, order, the metadata checksum, what a backup says of its data (pure);
* ``cipher``: a chunk's stored text, sealed (hashed, optionally encrypted) and opened;
* ``snapshot``: the app data read exactly as stored;
* ``store``: metadata, chunks and verdicts in the own database;
* ``reader``: a backup's chain rebuilt into a state, every hash checked, verification;
* ``writer``: creating full and incremental backups;
* ``retention``: which backups to delete, and deleting them;
* ``restore``: restoring, with the restore journal and recovery;
* ``transfer``: export files and their import;
* ``service``: ``BackupService``, the facade the rest of the app calls.
"""

from app.services.backup.chunks import AREAS, CHUNKS_PER_WRITE, Changes, State
from app.services.backup.cipher import MIN_ITERATIONS, SALT_BYTES
from app.services.backup.metadata import KINDS, SIGNED_FIELDS
from app.services.backup.names import JOURNAL_RESTORE, VERIFIED_PREFIX
from app.services.backup.service import BackupService
from app.services.backup.transfer import EXPORT_FORMAT, EXPORT_VERSION

__all__ = [
    "AREAS",
    "CHUNKS_PER_WRITE",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "JOURNAL_RESTORE",
    "KINDS",
    "MIN_ITERATIONS",
    "SALT_BYTES",
    "SIGNED_FIELDS",
    "VERIFIED_PREFIX",
    "BackupService",
    "Changes",
    "State",
]
