"""Digests and base64, shared by the backup service and the browser's crypto adapter."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Iterator

from app.core.errors import BackupCorrupted


def sha256_hex(text: str | bytes) -> str:
    """Return the hex SHA-256 of the UTF-8 bytes of ``text`` (or of the UTF-8 bytes given)."""
    return (hashlib.sha256(text).digest() if isinstance(text, bytes) else sha256_of(text)).hex()


def utf8(text: str | bytes) -> bytes:
    """Return the UTF-8 bytes of ``text`` (bytes are returned as they are), lone surrogates kept."""
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


# A collection of 10 000 multilingual records is a str of 7 M characters at four bytes each.
# CPython's encoder asks for four bytes a character before it shrinks its result, so one
# encode of it raised a run's peak heap by 30 MB; a slice at a time asks for 4 MB.
UTF8_SLICE = 1 << 20


def utf8_slices(text: str) -> Iterator[bytes]:
    """Yield the UTF-8 bytes of ``text`` (lone surrogates kept) a slice at a time; joined, ``utf8(text)``."""
    for start in range(0, len(text), UTF8_SLICE):
        yield text[start : start + UTF8_SLICE].encode("utf-8", "surrogatepass")


def utf8_sized(text: str) -> tuple[int, Iterable[bytes]]:
    """Return the UTF-8 size of ``text`` and its UTF-8 bytes in pieces: one for a short text, else its slices."""
    if len(text) <= UTF8_SLICE:
        encoded = text.encode("utf-8", "surrogatepass")
        return len(encoded), (encoded,)
    size = len(text) if text.isascii() else sum(len(piece) for piece in utf8_slices(text))
    return size, utf8_slices(text)


def sha256_of(text: str) -> bytes:
    """Return the SHA-256 of the UTF-8 bytes of ``text`` (lone surrogates kept), a long text encoded a slice at a time."""
    if len(text) <= UTF8_SLICE:
        return hashlib.sha256(utf8(text)).digest()
    hasher = hashlib.sha256()
    for piece in utf8_slices(text):
        hasher.update(piece)
    return hasher.digest()


def utf8_len(text: str) -> int:
    """Return the UTF-8 size of ``text`` (a lone surrogate counts as three bytes), a slice at a time."""
    return len(text) if text.isascii() else utf8_sized(text)[0]


def b64decode(text: str, what: str) -> bytes:
    """Return the bytes of the base64 ``text``; raise BackupCorrupted when it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BackupCorrupted(f"{what} is not valid base64") from exc
