"""A backup's metadata: its kinds, its order, what its checksum covers, what it says of the data (pure).

Fields: ``id``, ``type`` full or incremental, ``kind`` (one of KINDS), ``createdAt``
ISO, ``createdAtMs``, ``description``, ``schemaVersion``, ``keys`` {"local": [...],
"app": [...]} = the whole state at backup time, ``itemCount``, ``sizeBytes`` = UTF-8
bytes of the values this backup stores, ``chunkCount``, ``chunks`` [{index, sha256,
size, iv?}], ``sha256``, ``encrypted``, ``kdf``, ``baseId``, ``migrationId``,
``persisted``, ``complete``: true, and ``metaSha256`` over SIGNED_FIELDS.

Hashes: each chunk's ``sha256`` is the SHA-256 of the stored text (ciphertext
when encrypted); the backup's ``sha256`` is the SHA-256 of the chunk hashes
concatenated in index order.
"""

from __future__ import annotations

import json

from app.core import jsonstream, keys
from app.core.errors import InvalidInput
from app.core.versions import parse_version_text
from app.services.backup.chunks import State

KINDS = ("manual", "pre-migration", "safety", "imported")

# The metadata fields ``metaSha256`` covers: everything that describes the backup. Not covered:
# what an import or this browser sets (``kind`` imported, ``originalId``, ``importedAt``,
# ``persisted``, ``complete``); an import keeps the original id and kind to check against.
SIGNED_FIELDS = (
    "id", "type", "kind", "createdAt", "createdAtMs", "description", "schemaVersion", "keys", "itemCount",
    "sizeBytes", "changed", "deleted", "chunkCount", "chunks", "sha256", "encrypted", "kdf", "baseId", "migrationId",
)  # fmt: skip


def signed(meta: dict) -> str:
    """Return the canonical text of the metadata fields ``metaSha256`` covers."""
    fields = {name: meta.get(name) for name in SIGNED_FIELDS}
    if meta.get("kind") == "imported" and "originalId" in meta:
        fields["id"], fields["kind"] = meta.get("originalId"), meta.get("originalKind")
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def order(meta: dict) -> tuple[float, str]:
    """Return the sort key of a backup: its creation time, then its id."""
    return (float(meta.get("createdAtMs") or 0), str(meta.get("id")))


def parse_object(text: str) -> dict:
    """Return the JSON object stored as ``text``; an empty dict when it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def schema_version(state: State) -> str | None:
    """Return the schema version the backed-up data records."""
    return parse_version_text(state["local"].get(keys.SCHEMA_VERSION_KEY))


def item_count(state: State, count_array: jsonstream.ArrayCounter = jsonstream.count_array) -> int:
    """Return the records of the four collections where parseable, else the number of keys.

    A collection is counted by ``count_array`` (in the browser, the count the bridge took
    when it read the text, or its JSON.parse of the text it holds), not parsed again here.
    """
    total, found = 0, False
    for name in keys.COLLECTIONS:
        target = keys.collection_key(name)
        sources = [("app", name), ("local", target), *(("local", key) for key in keys.legacy_sources(target))]
        for area, key in sources:
            raw = state[area].get(key)
            count = None if raw is None else _count(raw, area, count_array)
            if count is not None:
                total, found = total + count, True
                break
    return total if found else len(state["local"]) + len(state["app"])


def _count(raw: str, area: str, count_array: jsonstream.ArrayCounter) -> int | None:
    # An AirPromptsDB record is counted by its value array, as the bridge read it (or, a record
    # that is an array itself, as it is); None: not an array, NaN, too deep.
    for member in (None,) if area == "local" else ("value", None):
        try:
            return count_array(raw, member)
        except (ValueError, InvalidInput):
            continue
    return None
