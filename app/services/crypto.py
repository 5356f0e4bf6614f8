"""Hashing and passphrase encryption used by the backup service.

Backups are encrypted with AES-GCM-256 under a key derived by PBKDF2-SHA-256
from the user's passphrase. ``Crypto`` is the protocol the backup service talks
to; ``PythonCrypto`` implements it under CPython (hashlib + ``cryptography``) and
``app.storage.webcrypto.WebCrypto`` implements it in the browser. Both produce
the same bytes (AES-GCM ciphertext followed by its 16-byte tag, base64), so a
backup written by one can be read by the other.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Protocol

from app.core.digest import b64decode, sha256_hex
from app.core.errors import WrongPassphrase

__all__ = ["Crypto", "PythonCrypto", "b64decode", "sha256_hex"]

KEY_BYTES = 32
IV_BYTES = 12


class Crypto(Protocol):
    """Hash, derive keys, encrypt and decrypt text."""

    async def sha256_hex(self, text: str | bytes) -> str:
        """Return the hex SHA-256 of the UTF-8 bytes of ``text`` (or of the UTF-8 bytes given)."""
        ...

    async def derive_key(self, passphrase: str, salt: bytes, iterations: int) -> object:
        """Return an opaque AES-GCM-256 key handle derived with PBKDF2-SHA-256."""
        ...

    async def encrypt(self, key: object, plaintext: str) -> tuple[str, str]:
        """Return ``(iv_b64, ciphertext_b64)`` of ``plaintext`` under a fresh random 12-byte IV."""
        ...

    async def decrypt(self, key: object, iv_b64: str, ciphertext_b64: str) -> str:
        """Return the plaintext; raise WrongPassphrase when authentication fails."""
        ...

    def random_bytes(self, n: int) -> bytes:
        """Return ``n`` cryptographically random bytes."""
        ...


class PythonCrypto:
    """Implement Crypto with hashlib and the ``cryptography`` package (CPython)."""

    async def sha256_hex(self, text: str | bytes) -> str:
        return sha256_hex(text)

    async def derive_key(self, passphrase: str, salt: bytes, iterations: int) -> object:
        # Imported here so that importing this module never needs ``cryptography``
        # (the browser uses WebCrypto and does not ship it).
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        raw = hashlib.pbkdf2_hmac("sha256", passphrase.encode("utf-8"), salt, iterations, KEY_BYTES)
        return AESGCM(raw)

    async def encrypt(self, key: object, plaintext: str) -> tuple[str, str]:
        iv = self.random_bytes(IV_BYTES)
        data = key.encrypt(iv, plaintext.encode("utf-8", "surrogatepass"), None)  # type: ignore[attr-defined]
        return base64.b64encode(iv).decode("ascii"), base64.b64encode(data).decode("ascii")

    async def decrypt(self, key: object, iv_b64: str, ciphertext_b64: str) -> str:
        from cryptography.exceptions import InvalidTag

        iv = b64decode(iv_b64, "the IV")
        data = b64decode(ciphertext_b64, "the ciphertext")
        try:
            plain = key.decrypt(iv, data, None)  # type: ignore[attr-defined]
        except (InvalidTag, ValueError) as exc:
            raise WrongPassphrase("Decryption failed: the passphrase is wrong") from exc
        return plain.decode("utf-8", "surrogatepass")

    def random_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)
