"""A chunk's stored text: sealing it (hash, optional encryption) and opening it again.

An encrypted chunk stores the base64 AES-GCM ciphertext of ``sha256(plain) + "\\n" +
plain`` (the IV is in the metadata's chunk entry); the inner hash proves the
decryption. Keys come from the user's passphrase by PBKDF2 through ``Crypto``.
"""

from __future__ import annotations

import base64
import json

from app.core.errors import BackupCorrupted, WrongPassphrase
from app.services.crypto import Crypto
from app.storage.base import Text, as_text

SALT_BYTES = 16
MIN_ITERATIONS = 600_000


class KeyRing:
    """Cache the keys derived during one operation (PBKDF2 at 600k iterations is slow)."""

    def __init__(self, crypto: Crypto, passphrase: str | None) -> None:
        self.crypto = crypto
        self.passphrase = passphrase
        self.cache: dict[tuple[str, int], object] = {}
        # ids of keys that decrypted a chunk: a later failure with one is damage, not a wrong passphrase.
        self.proven: set[int] = set()

    async def get(self, salt_b64: str, iterations: int) -> object:
        """Return the key of this passphrase for ``salt_b64`` and ``iterations``."""
        if self.passphrase is None:
            raise WrongPassphrase("This backup is encrypted: pass its passphrase")
        handle = self.cache.get((salt_b64, iterations))
        if handle is None:
            salt = base64.b64decode(salt_b64)
            handle = await self.crypto.derive_key(self.passphrase, salt, iterations)
            self.cache[(salt_b64, iterations)] = handle
        return handle

    async def for_new_backup(self, iterations: int) -> tuple[dict, object]:
        """Return a kdf description and key to encrypt a new backup, reusing a key this operation derived."""
        for (salt_b64, its), handle in self.cache.items():
            if its == iterations:
                # Same passphrase and salt is safe: every chunk gets a fresh random IV.
                return _kdf(its, salt_b64), handle
        salt_b64 = base64.b64encode(self.crypto.random_bytes(SALT_BYTES)).decode("ascii")
        handle = await self.get(salt_b64, iterations)
        return _kdf(iterations, salt_b64), handle


def _kdf(iterations: int, salt_b64: str) -> dict:
    return {"name": "PBKDF2", "hash": "SHA-256", "iterations": iterations, "salt": salt_b64}


async def seal(crypto: Crypto, handle: object | None, plain: Text) -> tuple[str | None, Text]:
    """Return ``(iv, stored text)`` of a plain chunk text (or its UTF-8 bytes): itself, or encrypted under ``handle``."""
    if handle is None:
        return None, plain
    inner = await crypto.sha256_hex(plain)
    return await crypto.encrypt(handle, inner + "\n" + as_text(plain))


async def open_chunk(
    crypto: Crypto, info: dict, stored: str | None, handle: object | None, backup_id: str, keys: KeyRing
) -> list:
    """Return the entries of one stored chunk after checking every hash; raise BackupCorrupted."""
    if stored is None:
        raise BackupCorrupted("chunk is missing")
    if await crypto.sha256_hex(stored) != info.get("sha256"):
        raise BackupCorrupted("checksum mismatch: the chunk was changed or damaged")
    plain = stored
    if handle is not None:
        if not isinstance(info.get("iv"), str):
            raise BackupCorrupted("the chunk has no IV")
        try:
            inner = await crypto.decrypt(handle, info["iv"], stored)
        except WrongPassphrase as exc:
            if id(handle) in keys.proven:
                raise BackupCorrupted("the chunk fails authentication (its IV or data was changed)") from exc
            # The stored hash matched, so the ciphertext is intact: the key is wrong.
            raise WrongPassphrase(f"Wrong passphrase for backup {backup_id}", backup_id=backup_id) from exc
        keys.proven.add(id(handle))
        digest, sep, plain = inner.partition("\n")
        if not sep or await crypto.sha256_hex(plain) != digest:
            raise BackupCorrupted("the decrypted chunk does not match its inner checksum")
    try:
        entries = json.loads(plain)
    except ValueError as exc:
        raise BackupCorrupted("the chunk is not JSON") from exc
    if not isinstance(entries, list):
        raise BackupCorrupted("the chunk is not a list of entries")
    return entries
