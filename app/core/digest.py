"""Digests and base64, shared by the backup service and the browser's crypto adapter."""

from __future__ import annotations

import base64
import binascii
import hashlib

from app.core.errors import BackupCorrupted


def sha256_hex(text: str | bytes) -> str:
    """Return the hex SHA-256 of the UTF-8 bytes of ``text`` (or of the UTF-8 bytes given)."""
    # surrogatepass: a localStorage string may hold a lone UTF-16 surrogate.
    return hashlib.sha256(utf8(text)).hexdigest()


def utf8(text: str | bytes) -> bytes:
    """Return the UTF-8 bytes of ``text`` (bytes are returned as they are), lone surrogates kept."""
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def b64decode(text: str, what: str) -> bytes:
    """Return the bytes of the base64 ``text``; raise BackupCorrupted when it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BackupCorrupted(f"{what} is not valid base64") from exc
