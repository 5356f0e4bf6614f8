"""Errors of AirPrompts Migrate.

Every error the app raises descends from one root, carries structured
attributes next to its message, and has a stable ``name`` that the JavaScript
API uses as the ``Error.name`` it rejects with::

    MigrateError                      name: MigrateError
    ├── StorageError                  a browser storage operation failed
    │   ├── QuotaExceeded             the origin is out of space (needed, available)
    │   ├── TransactionAborted        an IndexedDB transaction aborted (transient)
    │   ├── StorageUnavailable        storage cannot be opened (private mode, blocked, version)
    │   ├── TransientStorageError     a retryable failure (timeout, lock contention)
    │   └── WriteConflict             a guarded write found a key changed by someone else
    ├── MigrationError                the migration could not complete
    │   ├── MigrationInProgress       another tab or caller holds the migration lock
    │   ├── DataChanged               another writer changed the data mid-run; the run was undone
    │   ├── PlanError                 no path from the detected version to the target
    │   ├── ValidationFailed          records failed validation and could not be quarantined
    │   ├── VerificationFailed        the written data does not match what was staged
    │   └── RolledBack                the migration failed and the original data was restored
    ├── BackupError                   a backup could not be made, read or restored
    │   ├── BackupNotFound            no backup has that id
    │   ├── BackupCorrupted           a chunk or the whole fails its checksum
    │   ├── WrongPassphrase           decryption failed: wrong or missing passphrase
    │   └── NothingChanged            an incremental backup would be empty
    └── InvalidInput                  a caller passed something the API cannot use

Transient errors (``retryable = True``) are retried with backoff by the
migration service; every other error restores the pre-migration state.
"""

from __future__ import annotations

from typing import Any


class MigrateError(Exception):
    """Root of every error the app raises."""

    name = "MigrateError"
    retryable = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible description of this error."""
        return {"name": self.name, "message": self.message, "details": _plain(self.details)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class StorageError(MigrateError):
    name = "StorageError"


class QuotaExceeded(StorageError):
    name = "QuotaExceeded"

    def __init__(self, message: str, *, needed: int | None = None, available: int | None = None, **details: Any) -> None:
        super().__init__(message, needed=needed, available=available, **details)
        self.needed = needed
        self.available = available


class TransactionAborted(StorageError):
    name = "TransactionAborted"
    retryable = True


class StorageUnavailable(StorageError):
    name = "StorageUnavailable"


class TransientStorageError(StorageError):
    name = "TransientStorageError"
    retryable = True


class WriteConflict(StorageError):
    name = "WriteConflict"


class MigrationError(MigrateError):
    name = "MigrationError"


class DataChanged(MigrationError):
    name = "DataChanged"


class MigrationInProgress(MigrationError):
    name = "MigrationInProgress"


class PlanError(MigrationError):
    name = "PlanError"


class ValidationFailed(MigrationError):
    name = "ValidationFailed"


class VerificationFailed(MigrationError):
    name = "VerificationFailed"


class RolledBack(MigrationError):
    name = "RolledBack"


class BackupError(MigrateError):
    name = "BackupError"


class BackupNotFound(BackupError):
    name = "BackupNotFound"


class BackupCorrupted(BackupError):
    name = "BackupCorrupted"


class WrongPassphrase(BackupError):
    name = "WrongPassphrase"


class NothingChanged(BackupError):
    name = "NothingChanged"


class InvalidInput(MigrateError):
    name = "InvalidInput"


# Browser DOMException names -> the most specific app error. The browser storage
# maps every native failure through this table, in one place (app/storage/browser.py).
BROWSER_ERRORS: dict[str, type[MigrateError]] = {
    "QuotaExceededError": QuotaExceeded,
    "AbortError": TransactionAborted,
    "TransactionInactiveError": TransientStorageError,
    "TimeoutError": TransientStorageError,
    "VersionError": StorageUnavailable,
    "InvalidStateError": StorageUnavailable,
    "SecurityError": StorageUnavailable,
    "NotFoundError": StorageUnavailable,
    "UnknownError": TransientStorageError,
    "DataError": InvalidInput,
    "DataCloneError": InvalidInput,
    "ConstraintError": InvalidInput,
    "OperationError": WrongPassphrase,
    # Raised by our own bridge (static/js/storage.js) when a guarded write finds a changed key.
    "WriteConflict": WriteConflict,
}


def from_browser_error(name: str, message: str) -> MigrateError:
    """Return the app error for a browser error called ``name``."""
    cls = BROWSER_ERRORS.get(name, StorageError)
    if cls is QuotaExceeded:
        return QuotaExceeded(f"Browser storage is full: {message}")
    return cls(message, browser_error=name)
