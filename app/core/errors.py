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
    │       └── QuotaRolledBack       ... because browser storage is full (name QuotaExceeded; also a QuotaExceeded)
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

import re
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


class QuotaRolledBack(RolledBack, QuotaExceeded):
    """The switch failed because browser storage is full; the original data was restored.

    Named ``QuotaExceeded``, what the user must act on (free space); ``details.rolled_back``
    and the message say the data is as it was.
    """

    name = "QuotaExceeded"


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


# Browser DOMException names -> the most specific app error. Every native failure of the
# storage bridge and of WebCrypto is mapped through this table, in one place (``from_js``).
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

# What a person reads for each browser error: what happened and what to do. The browser's own
# text (often "Failed to execute 'setItem' on 'Storage': ...") goes to ``details`` only.
BROWSER_MESSAGES: dict[str, str] = {
    "QuotaExceededError": (
        "Browser storage is full: the browser refused to store more data for this site. "
        "Delete old backups in the migration console or free space in the browser's site data, then try again."
    ),
    "AbortError": "The browser stopped a storage operation before it finished. Try again; reload the page if it keeps happening.",
    "TransactionInactiveError": "The browser closed a storage operation too early. Try again in a moment.",
    "TimeoutError": (
        "The browser's storage did not answer in time (another tab may be holding it). "
        "Close other AirPrompts tabs and try again."
    ),
    "VersionError": "The browser's storage holds a newer database version than this page. Reload the page.",
    "InvalidStateError": (
        "The browser's storage cannot be used right now (it was closed or is being deleted). Reload the page and try again."
    ),
    "SecurityError": (
        "The browser does not allow this site to use its storage (private browsing, or site data blocked). "
        "Allow site data for this site, then reload."
    ),
    "NotFoundError": "The browser's storage is missing a part it needs. Reload the page.",
    "UnknownError": "The browser's storage failed for an unknown reason (often a full or damaged disk). Try again.",
    "DataError": "The browser refused a value it was asked to store. Nothing was written.",
    "DataCloneError": "The browser refused a value it was asked to store. Nothing was written.",
    "ConstraintError": "The browser refused a write that conflicts with stored data. Nothing was written.",
    "OperationError": "Decryption failed: the passphrase is wrong or the encrypted data was changed.",
}
UNKNOWN_BROWSER_MESSAGE = "The browser's storage reported an unexpected error. Try again; reload the page if it keeps happening."

_NAME_PATTERN = re.compile(r"\b(" + "|".join(sorted(BROWSER_ERRORS, key=len, reverse=True)) + r")\b")


# Chromium's IndexedDB refuses a record larger than it stores, as an UnknownError: "The serialized
# keys and/or value are too large (size=134303973 bytes, max=133169152 bytes)". No retry helps.
_TOO_LARGE = re.compile(r"too large(?:.*?size=(\d+) bytes, max=(\d+) bytes)?", re.IGNORECASE)


def _too_large(name: str, message: str) -> QuotaExceeded | None:
    found = _TOO_LARGE.search(message) if name in ("UnknownError", "DataError") else None
    if found is None:
        return None
    size, limit = (int(value) if value else None for value in found.groups())
    measure = f" ({size / 1e6:.1f} MB as the browser stores it, over its limit of {limit / 1e6:.1f} MB)" if size and limit else ""
    text = (
        f"A collection is too large for the browser to store as one IndexedDB record{measure}. Nothing was "
        "written by this step. Delete or export some of its items in AirPrompts, then try again."
    )
    return QuotaExceeded(text, needed=size, available=limit, browser_error=name, browser_message=message)


def from_browser_error(name: str, message: str, *, action: str | None = None) -> MigrateError:
    """Return the app error for a browser error called ``name`` (``message`` is the browser's own text)."""
    cls = BROWSER_ERRORS.get(name, StorageError)
    if cls is WriteConflict:
        return WriteConflict(message, browser_error=name)  # our own bridge's text, already plain
    too_large = _too_large(name, message)
    if too_large is not None:
        return too_large
    text = BROWSER_MESSAGES.get(name, UNKNOWN_BROWSER_MESSAGE)
    if action:
        text = f"{text} (while {action})"
    return cls(text, browser_error=name, browser_message=message)


def browser_error_name(exc: BaseException) -> tuple[str, str]:
    """Return the DOMException name and the browser's message carried by a JavaScript exception.

    The name comes from the error object, whatever its JavaScript type: Pyodide wraps a thrown
    value that is not an ``Error`` with a stack (a DOMException from IndexedDB often is not) in
    a new ``Error`` whose text quotes the original ("QuotaExceededError: ..."), so the text is
    searched for a known name too.
    """
    text = str(getattr(exc, "message", "") or exc)
    for source in (exc, getattr(exc, "js_error", None)):
        name = getattr(source, "name", None)
        if isinstance(name, str) and name in BROWSER_ERRORS:
            return name, text
    found = _NAME_PATTERN.search(text)
    return (found.group(1) if found else "Error"), text


def from_js(exc: BaseException, *, action: str | None = None) -> MigrateError:
    """Return the app error for an exception from JavaScript (the one translation of browser errors)."""
    if isinstance(exc, MigrateError):
        return exc
    name, text = browser_error_name(exc)
    return from_browser_error(name, text, action=action)


def as_app_error(exc: BaseException) -> MigrateError | None:
    """Return ``exc`` as an app error: itself, or the mapped browser error; None when it is neither."""
    if isinstance(exc, MigrateError):
        return exc
    name, text = browser_error_name(exc)
    return None if name == "Error" else from_browser_error(name, text)


def error_payload(exc: BaseException) -> dict[str, Any]:
    """Return what a person (history, events, console) is told about ``exc``, as JSON data.

    An interpreter's own text never reaches it: an unknown exception is an ``InternalError``
    whose message says where the details are (the logs keep the traceback).
    """
    known = as_app_error(exc)
    if known is not None:
        return known.to_dict()
    return {"name": "InternalError", "message": describe(exc), "details": {"type": type(exc).__name__}}


def describe(exc: BaseException) -> str:
    """Return what a person should read about ``exc``: the app's own message, never an interpreter's text."""
    known = as_app_error(exc)
    if known is not None:
        text = known.message.strip()
        return text if text.endswith((".", "!", "?", ")")) else text + "."
    return "An unexpected error stopped the operation; the details are in the logs (Logs panel of the migration console)."
