"""The plain chunk format: what a backup holds, cut into chunk texts and read back (pure).

Plain chunk text is a JSON array of entries ``{"area": "local"|"app", "key",
"value": str | None}`` (None: deleted since the base, incrementals only); a value
longer than ``chunk_chars`` is split into pieces carrying ``"part"`` and
``"parts"``, so no chunk is much larger than ``chunk_chars``.
"""

from __future__ import annotations

from typing import Iterator

from app.core import digest, jsonstream
from app.core.errors import BackupCorrupted
from app.storage.base import char_len

AREAS = ("local", "app")
# How many chunks one own_write carries (reads take twice as many).
CHUNKS_PER_WRITE = 4

State = dict[str, dict[str, str]]
Changes = dict[str, dict[str, "str | None"]]
Pieces = dict[tuple[str, str], list["str | None"]]


def empty() -> Changes:
    """Return a state or change set with nothing in either area."""
    return {area: {} for area in AREAS}


utf8_len = digest.utf8_len


def everything(state: State) -> Changes:
    """Return the change set of a full backup of ``state``."""
    return {area: dict(state[area]) for area in AREAS}


def changes_since(base: State, current: State) -> Changes:
    """Return what differs in ``current`` from ``base``: new or changed values, None for deleted keys."""
    # Equal strings have equal hashes: comparing the strings is the key-by-key
    # hash comparison without hashing every value twice.
    changes = empty()
    for area in AREAS:
        for key, value in current[area].items():
            if base[area].get(key) != value:
                changes[area][key] = value
        for key in base[area]:
            if key not in current[area]:
                changes[area][key] = None
    return changes


def apply_changes(state: State, changes: Changes) -> None:
    """Bring ``state`` forward by one backup's ``changes``."""
    for area in AREAS:
        for key, value in changes[area].items():
            if value is None:
                state[area].pop(key, None)
            else:
                state[area][key] = value


def chunk_texts(changes: Changes, chunk_chars: int) -> Iterator[bytes]:
    """Yield the plain chunk texts of ``changes`` as UTF-8 bytes (hashed and stored as they are); always at least one.

    A chunk holds about ``chunk_chars`` characters of values: the pieces are cut by
    characters, the chunks by their bytes, as near.
    """
    parts: list[bytes] = []
    size = 2
    for area in AREAS:
        for key, value in changes[area].items():
            for entry in _entries(area, key, value, chunk_chars):
                # An entry holds strings, integers and null, no float: dumps_utf8 writes dumps' own text.
                data = jsonstream.dumps_utf8(entry)
                width = char_len(data)
                if parts and size + width + 1 > chunk_chars:
                    yield b"".join((b"[", b",".join(parts), b"]"))
                    parts, size = [], 2
                parts.append(data)
                size += width + 1
    yield b"".join((b"[", b",".join(parts), b"]"))


def _entries(area: str, key: str, value: str | None, chunk_chars: int) -> Iterator[dict]:
    # Leave room for the entry's own fields so a piece fits in one chunk.
    piece = max(16, chunk_chars - len(key) - 128)
    if value is None or len(value) <= piece:
        yield {"area": area, "key": key, "value": value}
        return
    parts = -(-len(value) // piece)
    for part in range(parts):
        yield {
            "area": area,
            "key": key,
            "value": value[part * piece : (part + 1) * piece],
            "part": part,
            "parts": parts,
        }


def collect(entries: list, changes: Changes, pieces: Pieces) -> None:
    """Add the entries of one chunk to ``changes``, and the pieces of split values to ``pieces``."""
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("area") not in AREAS or not isinstance(entry.get("key"), str):
            raise BackupCorrupted("the chunk holds an invalid entry")
        area, key, value = entry["area"], entry["key"], entry.get("value")
        if value is not None and not isinstance(value, str):
            raise BackupCorrupted(f"the value of {area} key {key!r} is not a string")
        if "parts" in entry:
            part, parts = entry.get("part"), entry.get("parts")
            if not isinstance(parts, int) or not isinstance(part, int) or not 0 <= part < parts or value is None:
                raise BackupCorrupted(f"the pieces of {area} key {key!r} are invalid")
            slots = pieces.setdefault((area, key), [None] * parts)
            if len(slots) != parts:
                raise BackupCorrupted(f"the pieces of {area} key {key!r} disagree on their count")
            slots[part] = value
        else:
            changes[area][key] = value


def check_entries(entries: object) -> None:
    """Raise BackupCorrupted unless ``entries`` is a list of valid backup entries."""
    collect(entries if isinstance(entries, list) else [None], empty(), {})
