// WebCrypto for the backup service (app/storage/webcrypto.py).
// Only strings and numbers cross the bridge: bytes travel as base64, the derived
// CryptoKey stays a JS object the Python side holds as a handle. Native errors
// (an OperationError when AES-GCM authentication fails) pass through unchanged and
// are translated in Python.

const te = new TextEncoder();

function toBase64(bytes) {
  if (typeof bytes.toBase64 === "function") return bytes.toBase64();
  // String.fromCharCode(...big) overflows the stack: go 32 KiB at a time.
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toHex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Return the hex SHA-256 of the UTF-8 bytes of `text`. */
export async function sha256Hex(text) {
  return toHex(await crypto.subtle.digest("SHA-256", te.encode(text)));
}

/** Return the hex SHA-256 of `bytes` (a Uint8Array: Python encodes, so lone surrogates survive). */
export async function sha256HexBytes(bytes) {
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

/** Return a non-extractable AES-GCM-256 CryptoKey derived with PBKDF2-SHA-256. */
export async function deriveKey(passphrase, saltB64, iterations) {
  const material = await crypto.subtle.importKey("raw", te.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: fromBase64(saltB64), iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** Encrypt the bytes in `plainB64` under a random 12-byte IV; return {iv, data} as base64. */
export async function encrypt(key, plainB64) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, fromBase64(plainB64));
  return { iv: toBase64(iv), data: toBase64(new Uint8Array(data)) };
}

/** Decrypt `dataB64` (ciphertext + tag) with `ivB64`; return the plaintext bytes as base64. */
export async function decrypt(key, ivB64, dataB64) {
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(ivB64) }, key, fromBase64(dataB64));
  return toBase64(new Uint8Array(plain));
}
