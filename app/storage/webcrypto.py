"""Crypto in the browser, over WebCrypto (``static/js/crypto.js`` as ``js.airpromptsCrypto``).

Only strings and numbers cross the bridge: salts, IVs, plaintext bytes and
ciphertext travel as base64; the derived ``CryptoKey`` stays in JavaScript and
Python keeps it as a handle (``WebKey.js_key``). Plaintext crosses as base64 of
its UTF-8 bytes (not as a JS string) so that a lone UTF-16 surrogate in stored
data survives the round trip byte for byte; ``TextEncoder`` would replace it.

``sha256_hex`` uses hashlib for short texts; a long one is encoded in Python
(``surrogatepass``, as hashlib is fed) and hashed by ``crypto.subtle.digest``,
which runs natively off the main thread: for 4 MB about 4 ms of main-thread work
(encoding and the copy) instead of 18 ms of hashlib compiled to WebAssembly.
"""

from __future__ import annotations

import base64
import secrets
import sys

from app.core.digest import b64decode, sha256_hex, utf8
from app.core.errors import MigrateError, from_js

IN_PYODIDE = sys.platform == "emscripten"
# Texts from this many characters on are hashed by crypto.subtle (see sha256_hex).
SUBTLE_DIGEST_MIN = 64 * 1024

if IN_PYODIDE:
    import js  # type: ignore[import-not-found]
    from pyodide.ffi import JsException, to_js  # type: ignore[import-not-found]
else:  # pragma: no cover - only the browser has WebCrypto
    js = None

    class JsException(Exception):  # type: ignore[no-redef]
        """Stand in for pyodide.ffi.JsException outside the browser."""


class WebKey:
    """Hold a non-extractable AES-GCM CryptoKey living in JavaScript."""

    __slots__ = ("js_key",)

    def __init__(self, js_key: object) -> None:
        self.js_key = js_key


def _translate(exc: BaseException, action: str) -> MigrateError:
    return from_js(exc, action=action)


class WebCrypto:
    """Implement the backup service's Crypto protocol (app.services.crypto) with the browser's crypto.subtle."""

    def __init__(self, js_crypto: object | None = None) -> None:
        self.js_crypto = js_crypto if js_crypto is not None else getattr(js, "airpromptsCrypto", None)
        if self.js_crypto is None:
            raise RuntimeError("js.airpromptsCrypto is missing: load static/js/crypto.js first")

    async def sha256_hex(self, text: str | bytes) -> str:
        if len(text) < SUBTLE_DIGEST_MIN:
            return sha256_hex(text)
        data = to_js(utf8(text))
        try:
            return str(await self.js_crypto.sha256HexBytes(data))
        except JsException as exc:
            raise _translate(exc, "hashing") from exc

    async def derive_key(self, passphrase: str, salt: bytes, iterations: int) -> object:
        salt_b64 = base64.b64encode(salt).decode("ascii")
        try:
            js_key = await self.js_crypto.deriveKey(passphrase, salt_b64, int(iterations))
        except JsException as exc:
            raise _translate(exc, "deriving the encryption key") from exc
        return WebKey(js_key)

    async def encrypt(self, key: object, plaintext: str) -> tuple[str, str]:
        plain_b64 = base64.b64encode(plaintext.encode("utf-8", "surrogatepass")).decode("ascii")
        try:
            result = await self.js_crypto.encrypt(key.js_key, plain_b64)  # type: ignore[attr-defined]
        except JsException as exc:
            raise _translate(exc, "encrypting") from exc
        return str(result.iv), str(result.data)

    async def decrypt(self, key: object, iv_b64: str, ciphertext_b64: str) -> str:
        try:
            plain_b64 = await self.js_crypto.decrypt(key.js_key, iv_b64, ciphertext_b64)  # type: ignore[attr-defined]
        except JsException as exc:
            # OperationError (AES-GCM authentication failed) maps to WrongPassphrase.
            raise _translate(exc, "decrypting") from exc
        return b64decode(str(plain_b64), "the decrypted text").decode("utf-8", "surrogatepass")

    def random_bytes(self, n: int) -> bytes:
        # Pyodide's os.urandom draws from crypto.getRandomValues.
        return secrets.token_bytes(n)
