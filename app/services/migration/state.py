"""The state of one run: what was read, the run's own progress, and the live keys the switch writes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from app.core import digest, jsonstream
from app.core.digest import sha256_hex
from app.core.errors import InvalidInput
from app.core.planner import Plan
from app.services.journal import JournalRecord
from app.storage.base import Storage, Text, as_text

# The fingerprint's algorithm, named by its prefix: "parts:" (this release) hashes each value's
# SHA-256, which the browser's bridge takes off Python's thread as it reads a large text;
# "blake2b:" (the release before) and a bare hex SHA-256 (earlier ones) hash the values whole.
_FINGERPRINT_PREFIX = "parts:"
_BLAKE2B_PREFIX = "blake2b:"


@dataclass
class Snapshot:
    local: dict[str, str]  # app localStorage keys
    app: dict[str, str]  # AirPromptsDB records (JSON text)


@dataclass
class Source:
    """One collection as stored: a localStorage key or an AirPromptsDB record."""

    id: str  # "airprompts_templates" or "AirPromptsDB:templates": also the metadata sourceKey
    kind: str
    key: str  # the localStorage key, or the AirPromptsDB record key
    location: str  # "local" | "app"
    text: str | None = None  # localStorage array text
    items: list[Any] | None = None  # AirPromptsDB record's array, where the record was parsed whole
    record: dict[str, Any] | None = None  # AirPromptsDB record without its value
    # Where the AirPromptsDB record's array begins in ``raw``, when it is read batch by batch
    # (``items`` is None): ``record`` then holds the members before it until the transform
    # reaches its end and reads the members after it.
    value_at: int | None = None
    raw: str | None = None
    count: int = 0
    error: str | None = None
    origins: str | list[str] | None = None  # legacy keys the records were read from (LegacyPlan.origins)

    @property
    def read_from(self) -> str:
        """The key the whole collection was read from: its legacy key when one provided it, else ``id``."""
        return self.origins if isinstance(self.origins, str) else self.id

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "location": self.location,
            "key": self.key,
            "records": self.count,
            "invalid": self.error,
        }


@dataclass
class Target:
    """A live key the switch writes, and how to rebuild its text from staging.

    A migrated collection's ``text`` is its UTF-8 bytes (storage.base.Text): joined from
    the staged batches' bytes, hashed and written as they are, never a str of several MB.
    """

    area: str
    key: str
    text: Text
    staging: str  # a staging key, or the prefix of a collection's batches
    join: bool
    head: str = ""
    tail: str = ""
    records: int | None = None
    kind: str | None = None
    _digest: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def sha256(self) -> str:
        """The SHA-256 of ``text`` (computed once: each journal write of the switch names it)."""
        if self._digest is None:
            self._digest = sha256_hex(self.text)
        return self._digest

    def set_sha256(self, digest: str) -> None:
        """Take ``text``'s SHA-256 from elsewhere (the browser's WebCrypto, several times hashlib's speed)."""
        self._digest = digest

    def describe(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "key": self.key,
            "staging": self.staging,
            "join": self.join,
            "head": self.head,
            "tail": self.tail,
            "sha256": self.sha256,
            "records": self.records,
            "kind": self.kind,
        }


@dataclass
class Run:
    """One run as it goes: the journaled part (``record``) and what only this page holds."""

    run_id: str
    started_ms: int
    started_at: str
    options: dict[str, Any]
    plan: Plan
    phase: str = "backup"
    backup_id: str | None = None
    cursor: dict[str, int] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    processed: int = 0
    total: int = 0
    targets: list[Target] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None
    clock_start: float = 0.0
    resumed: bool = False
    fingerprint: str | None = None
    # (area, key) -> the value before the run, for every key the switch writes; not journaled
    # (a resumed switch reads it back from the pre-migration backup).
    originals: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # (area, key, value) the rollback found written by something else; kept in the history entry.
    displaced: list[tuple[str, str, str]] = field(default_factory=list)

    def record(self) -> JournalRecord:
        """Return the journal of this run as it stands."""
        return JournalRecord(
            run_id=self.run_id,
            phase=self.phase,
            started_at=self.started_at,
            started_ms=self.started_ms,
            plan=self.plan.to_dict(),
            options=self.options,
            fingerprint=self.fingerprint,
            backup_id=self.backup_id,
            cursor=self.cursor,
            sources=[source.describe() for source in self.sources],
            processed=self.processed,
            total=self.total,
            targets=[target.describe() for target in self.targets],
            remove=self.remove,
            displaced=self.displaced,
        )

    @classmethod
    def resumed_from(cls, journal: JournalRecord) -> Run:
        """Return the run a journal describes (its sources and targets are rebuilt by the caller)."""
        return cls(
            journal.run_id,
            journal.started_ms,
            journal.started_at,
            options(journal.options["batchSize"], journal.options["batchDelayMs"]),
            Plan(**journal.plan),
            phase=journal.phase,
            backup_id=journal.backup_id,
            cursor=dict(journal.cursor),
            resumed=True,
            fingerprint=journal.fingerprint,
        )


def options(batch_size: Any, batch_delay_ms: Any) -> dict[str, Any]:
    """Return a run's options, checked; raise InvalidInput for a value a run cannot use."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(f"batchSize must be a positive integer, got {batch_size!r}", batch_size=batch_size)
    if isinstance(batch_delay_ms, bool) or not isinstance(batch_delay_ms, (int, float)) or not batch_delay_ms >= 0:
        raise InvalidInput(f"batchDelayMs must be a number >= 0, got {batch_delay_ms!r}", batch_delay_ms=batch_delay_ms)
    return {"batchSize": batch_size, "batchDelayMs": batch_delay_ms}


def fingerprint(snapshot: Snapshot, like: str | None = None, digests: Mapping[tuple[str, str], bytes] | None = None) -> str:
    """Return a hash of every app key and record, to tell whether the data changed since a run began.

    BLAKE2b (about 2.5x faster than SHA-256 in Pyodide) over each area and key, UTF-8 and
    length-prefixed, and each value's SHA-256: ``digests`` gives those the store already took,
    by (area, key) (``Storage.text_digests``); the others are hashed here. ``like``, the
    fingerprint to compare with, picks the algorithm of the release that wrote it.
    """
    if like is not None and not like.startswith(_FINGERPRINT_PREFIX):
        return _whole_fingerprint(snapshot, blake2b=like.startswith(_BLAKE2B_PREFIX))
    digests = digests or {}
    hasher = hashlib.blake2b(digest_size=32)
    for area, data in (("local", snapshot.local), ("app", snapshot.app)):
        for key in sorted(data):
            for part in (area, key):
                encoded = digest.utf8(part)
                hasher.update(len(encoded).to_bytes(8, "big") + encoded)
            value = digests.get((area, key))
            if value is None:
                value = digest.sha256_of(data[key])
            hasher.update(value)
    return _FINGERPRINT_PREFIX + hasher.hexdigest()


def _whole_fingerprint(snapshot: Snapshot, *, blake2b: bool) -> str:
    """The fingerprint of the earlier releases: each length-prefixed part's UTF-8 hashed whole."""
    hasher = hashlib.blake2b(digest_size=32) if blake2b else hashlib.sha256()
    for area, data in (("local", snapshot.local), ("app", snapshot.app)):
        for key in sorted(data):
            for part in (area, key, data[key]):
                # Each part's UTF-8 length, then its UTF-8 a slice at a time: separate updates
                # hash what their concatenation would.
                size, pieces = digest.utf8_sized(part)
                hasher.update(size.to_bytes(8, "big"))
                for piece in pieces:
                    hasher.update(piece)
    return _BLAKE2B_PREFIX + hasher.hexdigest() if blake2b else hasher.hexdigest()


async def read_fingerprint(storage: Storage, snapshot: Snapshot, like: str | None = None) -> str:
    """Return ``fingerprint(snapshot, like)`` with the SHA-256 the store took of its texts as it read them."""
    digests = {}
    if like is None or like.startswith(_FINGERPRINT_PREFIX):
        texts = {(area, key): text for area, data in (("local", snapshot.local), ("app", snapshot.app)) for key, text in data.items()}
        digests = await storage.text_digests(texts)
    return fingerprint(snapshot, like, digests)


def same(a: Text | None, b: Text | None, area: str) -> bool:
    """Return whether two stored values are the same (AirPromptsDB records compare as JSON)."""
    a, b = (None if v is None else as_text(v) for v in (a, b))
    if a == b:
        return True
    if a is None or b is None or area != "app":
        return False
    try:
        return bool(jsonstream.loads(a) == jsonstream.loads(b))
    except ValueError:
        return False
