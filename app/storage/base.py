"""The async storage protocol every service talks to.

Three places hold data:

* ``local``: the origin's localStorage (the AirPrompts app's keys), values are
  the exact strings stored.
* ``app``: the AirPrompts app's IndexedDB ``AirPromptsDB``/``storage``; each
  record ``{key, value, timestamp}`` crosses the bridge as its JSON text.
* ``own``: this app's own IndexedDB ``AirPromptsMigrate`` with the stores in
  ``OWN_STORES``; keys are strings and values are strings (the services store
  JSON text or raw chunk text), so nothing but text crosses the bridge.

A value written or compared (``local_write``, ``app_write``, the ``*_changed`` and
``local_verify`` checks) may be given as its UTF-8 bytes (``Text``); what is read back
is always str.

Every ``*_write`` is all-or-nothing: one IndexedDB transaction for ``app`` and
``own``; for ``local``, the previous values are put back before the error is
raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol, Sequence, Union

APP_DB = "AirPromptsDB"
APP_DB_VERSION = 1
APP_STORE = "storage"
OWN_DB = "AirPromptsMigrate"
OWN_DB_VERSION = 1
# backups: backup metadata; chunks: backup chunks; staging: migrated batches;
# journal: the running migration's state; logs: audit trail; quarantine: invalid
# records; history: finished runs; settings: small persisted settings.
OWN_STORES = ("backups", "chunks", "staging", "journal", "logs", "quarantine", "history", "settings")


# A value the engine writes or compares: its text, or the text's UTF-8 bytes. A migrated
# collection is joined and hashed as bytes; the browser bridge sends them as they are,
# where a str of several MB would be encoded once more (and, non-ASCII, held at up to four
# bytes a character). ``as_text`` makes the str where one is needed.
Text = Union[str, bytes]


def as_text(value: Text) -> str:
    """Return ``value`` as str (UTF-8 bytes decoded)."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def as_texts(values: Mapping[str, Text | None]) -> dict[str, str | None]:
    """Return ``values`` with every UTF-8 bytes value decoded."""
    return {key: None if value is None else as_text(value) for key, value in values.items()}


@dataclass(frozen=True)
class Put:
    """Write ``value`` under ``key`` in the own store ``store``: a text, or its UTF-8 bytes as the
    encoder wrote them (jsonstream.dumps_utf8), which the browser sends without encoding them
    again. It is read back as str."""

    store: str
    key: str
    value: Text


@dataclass(frozen=True)
class Delete:
    """Delete ``key`` from the own store ``store`` (no error when missing)."""

    store: str
    key: str


@dataclass(frozen=True)
class DeletePrefix:
    """Delete every key starting with ``prefix`` from the own store ``store``."""

    store: str
    prefix: str


Op = Union[Put, Delete, DeletePrefix]


class Storage(Protocol):
    """Async access to localStorage, the app's IndexedDB and our own IndexedDB."""

    async def local_keys(self) -> list[str]:
        """Return every localStorage key of the origin."""
        ...

    async def local_get(self, keys: Iterable[str]) -> dict[str, str | None]:
        """Return the stored strings of ``keys`` (None where missing)."""
        ...

    async def local_write(
        self, set_items: Mapping[str, Text], remove: Iterable[str] = (), expect: Mapping[str, Text | None] | None = None
    ) -> None:
        """Set and remove keys, all or nothing.

        ``expect`` guards the write: each named key must still hold its expected
        value (None: absent) or already hold what this write puts there, else
        WriteConflict is raised and nothing is written.
        """
        ...

    async def local_changed(self, expect: Mapping[str, Text | None]) -> list[str]:
        """Return the keys of ``expect`` whose value is not the expected one (None: absent).

        It answers what ``local_get`` and a comparison would, without bringing
        large values back: verifying a switch sends its values once, compares
        where they are stored and returns only the keys that differ.
        """
        ...

    async def local_unparsable(self, keys: Iterable[str]) -> list[str]:
        """Return the keys whose stored value the browser's ``JSON.parse`` refuses (absent keys parse).

        Verify asks it of every value a run wrote: the live app reads each key with
        ``JSON.parse`` and replaces a value that fails with an empty default.
        """
        ...

    async def local_verify(
        self, expect: Mapping[str, Text | None], parse: Iterable[str]
    ) -> tuple[list[str], list[str]]:
        """Return ``(local_changed(expect), local_unparsable(parse))`` from one read of the keys.

        Verify asks both of the values a run wrote; one read of several MB costs the
        page half as much as two.
        """
        ...

    async def app_keys(self) -> list[str]:
        """Return the keys of ``AirPromptsDB``/``storage`` (empty when the database does not exist)."""
        ...

    async def app_get(self, keys: Iterable[str]) -> dict[str, str | None]:
        """Return each record of ``AirPromptsDB``/``storage`` as JSON text (None where missing)."""
        ...

    async def app_write(
        self, put: Mapping[str, Text], delete: Iterable[str] = (), expect: Mapping[str, Text | None] | None = None
    ) -> None:
        """Put records (key -> record JSON text) and delete keys in one transaction, guarded like local_write."""
        ...

    async def app_changed(self, expect: Mapping[str, Text | None]) -> list[str]:
        """Return the keys of ``expect`` whose record is not the expected JSON text (None: absent).

        Records compare as ``app_get`` returns them (JSON.stringify of the stored
        object), so an expected text with other whitespace is still the same record.
        """
        ...

    async def own_get(self, store: str, keys: Iterable[str]) -> dict[str, str | None]:
        """Return values of ``keys`` in the own store ``store``."""
        ...

    async def own_scan(self, store: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, str]]:
        """Return ``(key, value)`` pairs whose key starts with ``prefix``, in key order."""
        ...

    async def own_keys(self, store: str, prefix: str = "") -> list[str]:
        """Return the keys starting with ``prefix``, in key order."""
        ...

    async def own_write(self, ops: Sequence[Op]) -> None:
        """Apply ``ops`` in one transaction over the own database."""
        ...

    async def estimate(self) -> dict[str, int]:
        """Return ``{"usage": bytes, "quota": bytes}`` for the origin."""
        ...

    async def persist(self) -> bool:
        """Ask for persistent storage; return whether it is granted."""
        ...

    async def text_digests(self, texts: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], bytes]:
        """Return the SHA-256 of the UTF-8 of each of ``texts`` ((area, key) -> a text read from there)
        that the store took as it read it; the others are left out, for the caller to hash."""
        ...


def guard_failures(
    current: Mapping[str, str | None], expect: Mapping[str, str | None], after: Mapping[str, str | None]
) -> list[str]:
    """Return the keys whose current value is neither the expected one nor the one being written."""
    return [key for key, value in expect.items() if current.get(key) != value and current.get(key) != after.get(key)]


# Of UTF-8: the bytes that go on a character, and the first bytes of a four-byte one (a
# character beyond the BMP, two UTF-16 units).
_CONTINUATION = bytes(range(0x80, 0xC0))
_FOUR_BYTE_LEADS = bytes(range(0xF0, 0xF8))


def char_len(text: Text) -> int:
    """Return how many characters ``text`` holds (for UTF-8 bytes, the length of their str), without decoding."""
    if isinstance(text, str) or text.isascii():
        return len(text)
    return len(text.translate(None, _CONTINUATION))


def utf16_len(text: Text) -> int:
    """Return the length of ``text`` (or of the text UTF-8 bytes encode) in UTF-16 code units, as localStorage counts it."""
    if text.isascii():
        return len(text)
    if isinstance(text, bytes):
        return char_len(text) + len(text) - len(text.translate(None, _FOUR_BYTE_LEADS))
    # surrogatepass: a JavaScript string may hold lone surrogates, one code unit each.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
