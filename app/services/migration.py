"""The migration service (``dataMigrationService``): a resumable, journal-driven run to 3.0.0.

A run goes through the phases detect -> backup -> transform -> switch -> verify
-> complete. Nothing live is written before the switch: the transform stages its
output in the own store ``staging``, batch by batch, each batch in one own
transaction together with its quarantined records and the journal's cursor, so a
page killed at any moment resumes where it stopped (``recover``). The switch
writes AirPromptsDB first, then localStorage, then the schema version last; a
failure from the switch on restores the pre-migration backup.

Journal (own store ``journal``, key ``current``, JSON text)::

    {"format": 1, "runId": "mig-...", "phase": "backup" | "transform" | "switch" | "rollback" | "complete",
     "startedAt": ISO (the ``now`` of timestamp repairs: a resumed run is identical),
     "startedAtMs": int, "fromVersion": "1.0.0", "plan": Plan.to_dict(),
     "fingerprint": "blake2b:" + hash of every app key and record at detect (a resume over
                    changed data starts over; a bare hex digest is the SHA-256 of earlier releases),
     "backupId": "bk-..." | null, "options": {"batchSize": 100, "batchDelayMs": 0},
     "cursor": {source_id: batches staged}, "sources": [{id, kind, location, key, records, invalid}],
     "stats": {"processed": n},
     # from phase "switch" on:
     "targets": [{"area": "local" | "app", "key", "staging": key or prefix, "join": bool,
                  "head", "tail", "sha256", "records"}],
     "remove": [localStorage keys removed (collections moved to AirPromptsDB)],
     # phase "complete": the data is verified, only the clean-up is left to write:
     "historyKey", "entry" (the history entry without its report), "dual" (the dual-read setting)}

Staging keys: ``{runId}/{source_id}/{batch:06d}`` (the batch's records as compact
JSON joined by commas), ``{runId}/~batch/{source_id}/{batch:06d}`` (that batch's part
of the report, its kept ids and references, where its text ends: a resumed run takes
the batch back from them), ``{runId}/values/{area}/{key}`` (a value's whole target
text) and ``{runId}/~report`` (the report, written with the switch journal).
Quarantine keys: ``{runId}/{source_id}/{index:08d}`` and
``{runId}/{source_id}/collection`` (a whole value that is not a JSON array).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable, Iterator, Mapping, NoReturn

from app.core import ids, jsonstream, keys, revisions
from app.core.digest import sha256_hex
from app.core.errors import (
    DataChanged,
    InvalidInput,
    MigrateError,
    MigrationError,
    MigrationInProgress,
    QuotaExceeded,
    RolledBack,
    VerificationFailed,
    WriteConflict,
    as_app_error,
    describe,
)
from app.core.events import EventBus
from app.core.issues import Issue, Quarantined
from app.core.legacy import LegacyPlan, plan_legacy
from app.core.planner import Plan, make_plan
from app.core.transform import BatchResult, CollectionTransformer, Context, upgrade_value
from app.core.validator import References, Validator
from app.core.versions import version_text
from app.services.backup import BackupService
from app.services.logger import MigrationLogger
from app.services.performance import PerformanceMonitor
from app.storage.base import Delete, DeletePrefix, Op, Put, utf16_len

_log = logging.getLogger(__name__)

JOURNAL_STORE = "journal"
JOURNAL_KEY = "current"
JOURNAL_FORMAT = 1
DUAL_READ_KEY = "dualRead"
DUAL_READ_MODE_KEY = "dualReadMode"  # set by the compatibility layer; an enabled one delays the clean-up
INVALID_COLLECTION = "invalid-collection"
INVALID_VALUE = "invalid-value"
LEGACY_CONFLICT = "legacy-conflict"
MOVED_TO_INDEXEDDB = "moved-to-indexeddb"
LOCAL_LIMIT = 5 * 1024 * 1024 - 64 * 1024
# Backup + staging + the written result, each about the size of the data.
QUOTA_FACTOR = 3


DATA_CHANGED_ATTEMPTS = 3
# Stage batches in transactions of about this much text (or this many operations).
# An IndexedDB transaction costs a few ms whatever it holds; a killed page redoes at most this much.
STAGE_CHARS = 1024 * 1024
STAGE_OPS = 32
_FINGERPRINT_PREFIX = "blake2b:"


def _same(a: str | None, b: str | None, area: str) -> bool:
    """Return whether two stored values are the same (AirPromptsDB records compare as JSON)."""
    if a == b:
        return True
    if a is None or b is None or area != "app":
        return False
    try:
        return bool(jsonstream.loads(a) == jsonstream.loads(b))
    except ValueError:
        return False


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dumps(value: Any) -> str:
    return jsonstream.dumps(value)


def _fingerprint(snapshot: _Snapshot, like: str | None = None) -> str:
    """Return a hash of every app key and record, to tell whether the data changed since a run began.

    BLAKE2b, about 2.5x faster than SHA-256 in Pyodide, prefixed with its name; a
    journal written by an earlier release holds a bare SHA-256, so ``like`` (the
    fingerprint to compare with) picks the algorithm.
    """
    legacy = like is not None and not like.startswith(_FINGERPRINT_PREFIX)
    digest = hashlib.sha256() if legacy else hashlib.blake2b(digest_size=32)
    for area, data in (("local", snapshot.local), ("app", snapshot.app)):
        for key in sorted(data):
            for part in (area, key, data[key]):
                encoded = part.encode("utf-8", "surrogatepass")
                digest.update(len(encoded).to_bytes(8, "big") + encoded)
    return digest.hexdigest() if legacy else _FINGERPRINT_PREFIX + digest.hexdigest()


_gc_holds = 0


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a run holds the lock.

    A run allocates millions of small dicts and lists of JSON data, which hold no
    cycles, and each allocation burst triggers a collection that walks every live
    container: about a sixth of a 4 000-record run in Pyodide. Reference counting
    still frees everything; the collector runs again as soon as the last run ends.
    Nested and concurrent holders are counted, so the first to leave does not
    restart it under the others.
    """
    global _gc_holds
    if _gc_holds == 0 and not gc.isenabled():
        yield  # somebody else turned it off: leave it as it is
        return
    _gc_holds += 1
    gc.disable()
    try:
        yield
    finally:
        _gc_holds -= 1
        if _gc_holds == 0:
            gc.enable()


@contextlib.contextmanager
def _gc_allowed() -> Iterator[None]:
    """Let the collector run inside a ``_gc_paused`` block (while a run waits to be resumed)."""
    if _gc_holds == 0 or gc.isenabled():
        yield
        return
    gc.enable()
    try:
        yield
    finally:
        if _gc_holds > 0:
            gc.disable()


def _error_dict(exc: BaseException) -> dict[str, Any]:
    known = as_app_error(exc)
    if known is not None:
        return known.to_dict()
    # Shown to people (history, console): the interpreter's own text stays in the logs.
    return {"name": "InternalError", "message": describe(exc), "details": {"type": type(exc).__name__}}


# ---------------------------------------------------------------------- run state


@dataclass
class _Source:
    """One collection as stored: a localStorage key or an AirPromptsDB record."""

    id: str  # "airprompts_templates" or "AirPromptsDB:templates": also the metadata sourceKey
    kind: str
    key: str  # the localStorage key, or the AirPromptsDB record key
    location: str  # "local" | "app"
    text: str | None = None  # localStorage array text
    items: list[Any] | None = None  # AirPromptsDB record's array
    record: dict[str, Any] | None = None  # AirPromptsDB record without its value
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
class _Snapshot:
    local: dict[str, str]  # app localStorage keys
    app: dict[str, str]  # AirPromptsDB records (JSON text)


@dataclass
class _Target:
    """A live key the switch writes, and how to rebuild its text from staging."""

    area: str
    key: str
    text: str
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
class _Run:
    run_id: str
    started_ms: int
    started_at: str
    options: dict[str, Any]
    plan: Plan
    phase: str = "backup"
    backup_id: str | None = None
    cursor: dict[str, int] = field(default_factory=dict)
    sources: list[_Source] = field(default_factory=list)
    processed: int = 0
    total: int = 0
    targets: list[_Target] = field(default_factory=list)
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

    def journal(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": JOURNAL_FORMAT,
            "runId": self.run_id,
            "phase": self.phase,
            "startedAt": self.started_at,
            "startedAtMs": self.started_ms,
            "fromVersion": self.plan.from_version,
            "plan": self.plan.to_dict(),
            "fingerprint": self.fingerprint,
            "backupId": self.backup_id,
            "options": self.options,
            "cursor": self.cursor,
            "sources": [source.describe() for source in self.sources],
            "stats": {"processed": self.processed, "total": self.total},
        }
        if self.phase in ("switch", "rollback"):
            data["targets"] = [target.describe() for target in self.targets]
            data["remove"] = list(self.remove)
        if self.displaced:
            data["displaced"] = [list(item) for item in self.displaced]
        return data


class _Report:
    """Collect what a run found, source by source."""

    def __init__(self, run: _Run, *, dry_run: bool) -> None:
        self.run = run
        self.dry_run = dry_run
        self.sources: dict[str, dict[str, Any]] = {}
        self.repairs: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.quarantined: list[dict[str, Any]] = []
        self.values: dict[str, str] = {}
        self.legacy: dict[str, Any] = {"moves": [], "conflicts": []}
        self.moved: list[str] = []
        self.fragments: dict[str, list[str]] = {}
        self.value_targets: list[tuple[str, str]] = []  # (staging key, target text)

    def source(self, src: _Source) -> dict[str, Any]:
        entry = self.sources.get(src.id)
        if entry is None:
            entry = self.sources[src.id] = {
                "kind": src.kind,
                "sourceKey": src.read_from,
                "location": src.location,
                "input": src.count,
                "migrated": 0,
                "quarantined": 0,
                "byVersion": {},
                "status": INVALID_COLLECTION if src.error else "migrated",
            }
        return entry

    def add_batch(self, src: _Source, result: BatchResult, fragment: str) -> dict[str, Any]:
        """Add one transformed batch; return its part of the report (staged with it, for a resume)."""
        # The transformer also lists each quarantined record as an issue; those go under "quarantined".
        bad = {q.index for q in result.quarantined}
        piece: dict[str, Any] = {
            "migrated": len(result.records),
            "counts": dict(result.counts),
            "repairs": [{**issue.to_dict(), "source": src.id} for issue in result.repairs if issue.index not in bad],
            "quarantined": [],
        }
        for q in result.quarantined:
            record_id = q.record.get("id") if isinstance(q.record, dict) else None
            piece["quarantined"].append(
                {
                    "kind": q.kind,
                    "index": q.index,
                    "sourceKey": q.source_key,
                    "id": ids.id_text(record_id) if isinstance(record_id, (str, int, float)) else None,
                    "code": q.code,
                    "errors": list(q.errors),
                    "quarantineKey": _quarantine_key(self.run.run_id, src.id, q.index),
                }
            )
        self.add_piece(src, piece, fragment)
        return piece

    def add_piece(self, src: _Source, piece: Mapping[str, Any], fragment: str) -> None:
        """Add a batch's part of the report, as ``add_batch`` made it (here or before a reload)."""
        entry = self.source(src)
        entry["migrated"] += piece["migrated"]
        entry["quarantined"] += len(piece["quarantined"])
        for version, count in piece["counts"].items():
            entry["byVersion"][version] = entry["byVersion"].get(version, 0) + count
        self.repairs.extend(piece["repairs"])
        self.quarantined.extend(piece["quarantined"])
        self.fragments.setdefault(src.id, []).append(fragment)

    def add_invalid(self, src: _Source, entry: Quarantined) -> None:
        self.source(src)
        self.quarantined.append(
            {
                "kind": entry.kind,
                "index": entry.index,
                "sourceKey": entry.source_key,
                "id": None,
                "code": entry.code,
                "errors": list(entry.errors),
                "quarantineKey": _quarantine_key(self.run.run_id, src.id, None),
            }
        )
        self.warnings.append(
            {
                "kind": src.kind,
                "index": -1,
                "id": None,
                "code": INVALID_COLLECTION,
                "message": f"{src.read_from} is not a JSON array ({src.error}); left as it is and quarantined whole",
                "source": src.read_from,
            }
        )

    def warn(self, issue: Issue, source: str | None = None) -> None:
        self.warnings.append({**issue.to_dict(), "source": source})

    def counts(self) -> dict[str, dict[str, Any]]:
        counts: dict[str, dict[str, Any]] = {}
        for entry in self.sources.values():
            kind = counts.setdefault(entry["kind"], {"input": 0, "migrated": 0, "quarantined": 0, "byVersion": {}})
            kind["input"] += entry["input"]
            kind["migrated"] += entry["migrated"]
            kind["quarantined"] += entry["quarantined"] + (1 if entry["status"] == INVALID_COLLECTION else 0)
            for version, count in entry["byVersion"].items():
                kind["byVersion"][version] = kind["byVersion"].get(version, 0) + count
        return counts

    def migrated(self) -> int:
        return sum(entry["migrated"] for entry in self.sources.values())

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "runId": run.run_id,
            "dryRun": self.dry_run,
            "fromVersion": run.plan.from_version,
            "toVersion": run.plan.to_version,
            "startedAt": run.started_at,
            "backupId": run.backup_id,
            "plan": run.plan.to_dict(),
            "counts": self.counts(),
            "sources": self.sources,
            "values": self.values,
            "migrated": self.migrated(),
            "quarantinedCount": len(self.quarantined),
            "repairs": self.repairs,
            "warnings": self.warnings,
            "quarantined": self.quarantined,
            "legacy": self.legacy,
            "movedToIndexedDB": self.moved,
        }


def _is_json(text: str | None) -> bool:
    if text is None:
        return True
    try:
        jsonstream.loads(text)
    except ValueError:
        return False
    return True


def _quarantine_key(run_id: str, source_id: str, index: int | None) -> str:
    return f"{run_id}/{source_id}/" + ("collection" if index is None else f"{index:08d}")


def _staging_prefix(run_id: str, source_id: str) -> str:
    return f"{run_id}/{source_id}/"


def _summary_prefix(run_id: str, source_id: str) -> str:
    """Where each staged batch's part of the report waits (outside the prefix its fragments are joined from)."""
    return f"{run_id}/~batch/{source_id}/"


def _merge(first: BatchResult, second: BatchResult) -> BatchResult:
    merged = BatchResult(
        records=first.records + second.records,
        quarantined=first.quarantined + second.quarantined,
        repairs=first.repairs + second.repairs,
        counts=dict(first.counts),
    )
    for version, count in second.counts.items():
        merged.counts[version] = merged.counts.get(version, 0) + count
    return merged


def _app_wrap(kind: str, record: dict[str, Any] | None, timestamp_ms: int) -> tuple[str, str]:
    """Return the text around a collection's array in its AirPromptsDB record, keeping the record's other fields."""
    head = '{"key":' + _dumps(kind) + ',"value":'
    tail = ',"timestamp":' + str(timestamp_ms)
    for name, value in (record or {}).items():
        if name not in ("key", "value", "timestamp"):
            tail += "," + _dumps(name) + ":" + _dumps(value)
    return head, tail + "}"


class _Unusable(Exception):
    """The journal cannot drive a resume."""


# ---------------------------------------------------------------------- the service


class MigrationService:
    """Migrate the AirPrompts data to 3.0.0: detect, back up, transform, switch, verify, complete."""

    def __init__(
        self,
        storage: Any,
        backups: BackupService,
        logger: MigrationLogger,
        monitor: PerformanceMonitor,
        events: EventBus,
        lock: Any,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
        retry_delays: tuple[float, ...] = (0.05, 0.2, 1.0),
        dual_read_days: float = 7,
        use_jsonschema_samples: int = 5,
        local_limit: int = LOCAL_LIMIT,
        count_array: Callable[[str], int] = jsonstream.count_array,
    ) -> None:
        self.storage = storage
        self.backups = backups
        self.logger = logger
        self.monitor = monitor
        self.events = events
        self.lock = lock
        self.clock = clock
        self.sleep = sleep
        self.retry_delays = tuple(retry_delays)
        self.dual_read_days = dual_read_days
        self.use_jsonschema_samples = max(0, int(use_jsonschema_samples))
        self.local_limit = local_limit
        # Counts the records of a collection for the progress total (the browser's JSON.parse is faster).
        self.count_array = count_array
        self._validator = Validator(use_jsonschema=False)
        self._schema_validator = Validator(use_jsonschema=True)
        self._resume = asyncio.Event()
        self._resume.set()
        self._running = False
        self._task: asyncio.Task[dict[str, Any]] | None = None
        self._progress: dict[str, Any] = self._idle_progress()

    # ------------------------------------------------------------------ public API
    def __repr__(self) -> str:
        progress = self._progress
        return (
            f"<MigrationService running={self._running} phase={progress.get('phase')!r} "
            f"processed={progress.get('processed')}/{progress.get('total')}>"
        )

    async def check_migration_status(self) -> dict[str, Any]:
        """Return whether a migration is needed, from which version, and what the store holds."""
        snapshot = await self._read()
        plan = make_plan(snapshot.local, snapshot.app)
        counts: dict[str, int] = {}
        for src in self._sources(plan, snapshot, plan_legacy(snapshot.local)):
            await self._inspect(src)
            authoritative = src.location == "app" or keys.app_source(src.kind) not in {
                c["source_key"] for c in plan.collections
            }
            if authoritative:
                counts[src.kind] = src.count
        journal = (await self.storage.own_get(JOURNAL_STORE, [JOURNAL_KEY])).get(JOURNAL_KEY)
        return {
            "needed": plan.needed,
            "currentVersion": plan.recorded_version or plan.from_version,
            "detectedVersion": plan.from_version,
            "targetVersion": revisions.target(),
            "legacyKeys": plan.legacy_keys,
            "counts": counts,
            "plan": plan.to_dict(),
            "pending": journal is not None,
            "running": self._running or bool(await self.lock.held_elsewhere()),
        }

    async def dry_run(self, *, batch_size: int = 100) -> dict[str, Any]:
        """Return the report of the full transform, writing nothing."""
        options = _options(batch_size, 0)
        snapshot = await self._read()
        plan = make_plan(snapshot.local, snapshot.app)
        now = self.clock()
        run = _Run(f"dry-{int(now * 1000):013d}", int(now * 1000), _iso(now), options, plan)
        if not plan.needed:
            return {**_Report(run, dry_run=True).to_dict(), "needed": False}
        report = await self._transform(run, snapshot, dry=True)
        targets, remove = await self._build(run, report, snapshot)
        data = report.to_dict()
        data["needed"] = True
        data["targets"] = [{"area": t.area, "key": t.key, "chars": len(t.text)} for t in targets]
        data["remove"] = remove
        return data

    async def run_pending_migrations(self, *, batch_size: int = 100, batch_delay_ms: float = 0) -> dict[str, Any]:
        """Migrate the store to 3.0.0 if it needs it; return the run's result."""
        options = _options(batch_size, batch_delay_ms)
        await self._acquire()
        try:
            with _gc_paused():
                return await self._run_locked(self._new_run_id(), options)
        finally:
            self.lock.release()

    async def start_progressive_migration(self, *, batch_size: int = 100, batch_delay_ms: float = 0) -> dict[str, Any]:
        """Start ``run_pending_migrations`` as a task; return ``{started, runId}`` once it holds the lock."""
        options = _options(batch_size, batch_delay_ms)
        await self._acquire()
        run_id = self._new_run_id()

        async def body() -> dict[str, Any]:
            try:
                with _gc_paused():
                    return await self._run_locked(run_id, options)
            finally:
                self.lock.release()

        self._task = asyncio.get_running_loop().create_task(body())
        self._task.add_done_callback(_retrieve)
        self._running = True
        return {"started": True, "runId": run_id}

    def get_migration_progress(self) -> dict[str, Any]:
        """Return the current run's phase, counts, throughput and ETA."""
        return {**self._progress, "running": self._running, "paused": not self._resume.is_set()}

    async def get_history(self) -> list[dict[str, Any]]:
        """Return every finished run (success or failure), newest first."""
        entries = []
        for key, text in reversed(await self.storage.own_scan("history")):
            try:
                entry = json.loads(text)
            except ValueError:
                _log.warning("history entry %s is not JSON; skipped", key)
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        return entries

    async def get_last_report(self) -> dict[str, Any] | None:
        """Return the report of the newest finished run, or None."""
        for entry in await self.get_history():
            if entry.get("report") is not None:
                return entry["report"]
        return None

    async def get_quarantine(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Return the quarantined records (of ``run_id``, or of every run), each with its store key."""
        prefix = "" if run_id is None else run_id + "/"
        found = []
        for key, text in await self.storage.own_scan("quarantine", prefix):
            try:
                entry = json.loads(text)
            except ValueError:
                entry = {"raw": text}
            found.append({**entry, "key": key, "runId": key.split("/", 1)[0]})
        return found

    def pause(self) -> None:
        """Hold the run before its next batch."""
        self._resume.clear()
        self._progress = {**self._progress, "paused": True}

    def resume(self) -> None:
        """Let a paused run go on."""
        self._resume.set()
        self._progress = {**self._progress, "paused": False}

    async def recover(self) -> dict[str, Any] | None:
        """Finish or undo a run a closed page interrupted; say what happened, or None when there was none."""
        await self._load_protection()
        text = (await self.storage.own_get(JOURNAL_STORE, [JOURNAL_KEY])).get(JOURNAL_KEY)
        if text is None:
            if not self._running and not await self.lock.held_elsewhere():
                # A restore of a rollback whose run is gone, and a page closed between the journal's
                # removal and the flag's: nobody else finishes them.
                await self.backups.finish_deferred_restore()
                await self._clear_pending()
            return None
        if not await self.lock.acquire():
            return {"resumed": None, "outcome": "locked"}
        try:
            with _gc_paused():
                return await self._recover_locked(text)
        finally:
            self._running = False
            self.lock.release()

    async def cleanup_legacy(self) -> list[str]:
        """Remove the legacy keys once the dual-read period is over; return the keys removed."""
        stored = await self.storage.own_get("settings", [DUAL_READ_KEY, DUAL_READ_MODE_KEY])
        text = stored.get(DUAL_READ_KEY)
        if text is None:
            return []
        try:
            dual = json.loads(text)
            until_ms = float(dual["until"])
        except (ValueError, KeyError, TypeError):
            _log.warning("dual-read setting is unreadable; legacy keys stay")
            return []
        now_ms = self.clock() * 1000
        if now_ms < until_ms:
            return []
        try:
            mode = json.loads(stored.get(DUAL_READ_MODE_KEY) or "null")
        except ValueError:
            mode = None
        if isinstance(mode, dict) and mode.get("enabled") is True and now_ms < float(mode.get("until") or 0):
            return []  # the user extended dual-read mode in the compatibility layer
        await self._acquire()
        try:
            present = [k for k in await self.storage.local_keys() if keys.legacy_target(k) is not None]
            # The pre-migration backup keeps them; make sure it still exists first.
            backup_id = dual.get("backupId")
            if present and backup_id:
                await self.backups.get_backup(backup_id)
            if present:
                await self._retry(self.storage.local_write, {}, present)
            await self._retry(self.storage.own_write, [Delete("settings", DUAL_READ_KEY)])
            self.backups.protected.discard(backup_id)
            self.logger.bind(runId=dual.get("runId")).info("removed legacy keys after dual-read", keys=present)
            await self._flush_log()
            return present
        finally:
            self.lock.release()

    # ------------------------------------------------------------------ the run
    async def _acquire(self) -> None:
        # A compatibility-layer save holds the lock for a few milliseconds: give it a moment
        # before telling the caller another migration runs.
        for delay in (0.02, 0.05, 0.1, 0.2):
            if await self.lock.acquire():
                return
            if self._running:
                break
            await self.sleep(delay)
        if not await self.lock.acquire():
            raise MigrationInProgress(
                "A migration is already running (in this or another tab); watch its progress or try again later"
            )

    def _new_run_id(self) -> str:
        return f"mig-{int(self.clock() * 1000):013d}-{secrets.token_hex(4)}"

    async def _run_locked(self, run_id: str, options: dict[str, Any]) -> dict[str, Any]:
        # Another writer (an old app version in another tab) changed the data under the run:
        # the run was undone with that writer's changes kept; start again from the new data.
        for attempt in range(DATA_CHANGED_ATTEMPTS):
            try:
                return await self._attempt(run_id, options)
            except DataChanged:
                if attempt == DATA_CHANGED_ATTEMPTS - 1:
                    raise
                _log.warning("the data changed during run %s; starting again", run_id)
                run_id = self._new_run_id()
        raise AssertionError("unreachable")

    async def _attempt(self, run_id: str, options: dict[str, Any]) -> dict[str, Any]:
        self._running = True
        try:
            text = (await self.storage.own_get(JOURNAL_STORE, [JOURNAL_KEY])).get(JOURNAL_KEY)
            if text is not None:
                # An interrupted run comes first: finish (or undo) it, then see what is left.
                outcome = await self._recover_locked(text)
                _log.info("finished the interrupted run before a new one: %s", outcome)
            snapshot = await self._read()
            plan = make_plan(snapshot.local, snapshot.app)
            if not plan.needed:
                return {
                    "success": True,
                    "fromVersion": plan.from_version,
                    "toVersion": revisions.target(),
                    "migrated": 0,
                    "quarantined": 0,
                    "warnings": 0,
                    "backupId": None,
                    "durationMs": 0,
                    "runId": None,
                    "report": None,
                }
            now = self.clock()
            run = _Run(run_id, int(now * 1000), _iso(now), options, plan, clock_start=now)
            run.fingerprint = _fingerprint(snapshot)
            return await self._execute(run, snapshot)
        finally:
            self._running = False

    async def _execute(self, run: _Run, snapshot: _Snapshot | None) -> dict[str, Any]:
        """Drive ``run`` from its phase to the end; restore the backup when it fails after the switch began."""
        log = self.logger.bind(runId=run.run_id)
        self._running = True
        run.clock_start = run.clock_start or self.clock()
        switched = run.phase in ("switch",)
        try:
            if not switched:
                assert snapshot is not None
                if not run.sources:
                    run.sources = self._sources(run.plan, snapshot, plan_legacy(snapshot.local))
                    for src in run.sources:
                        await self._inspect(src)
                run.total = sum(src.count for src in run.sources)
                self._start(run)
                self._phase(run, "detect", log, fromVersion=run.plan.from_version, records=run.total)
                if run.phase == "backup":
                    await self._backup(run, snapshot, log)
                elif run.backup_id:
                    self.backups.protected.add(run.backup_id)
                self._phase(run, "transform", log)
                report = await self._transform(run, snapshot, dry=False)
                run.targets, run.remove = await self._build(run, report, snapshot)
                run.originals = self._originals(run, snapshot.local, snapshot.app)
                run.report = report.to_dict()
                self._phase(run, "switch", log, targets=len(run.targets))
                run.phase = "switch"
                await self._write(
                    [
                        Put("staging", f"{run.run_id}/~report", _dumps(run.report)),
                        self._journal_op(run),
                    ]
                )
                switched = True
            else:
                run.total = sum(t.records or 0 for t in run.targets)
                self._start(run)
                self._phase(run, "switch", log, targets=len(run.targets), resumed=True)
                if run.backup_id is None:
                    raise MigrationError("the interrupted switch has no pre-migration backup")
                before = await self.backups.state(run.backup_id)
                run.originals = self._originals(run, before["local"], before["app"])
            await self._switch(run)
            self._phase(run, "verify", log)
            await self._verify(run)
            self._phase(run, "complete", log)
            return await self._complete(run, log)
        except Exception as exc:
            if switched and isinstance(exc, WriteConflict):
                await self._undo_switch(run, log)
                await self._record_failure(run, exc, rolled_back=True)
                raise DataChanged(
                    "The data changed while it was being migrated (another tab or an older version of the app "
                    "wrote to it). The migration was undone and those changes were kept.",
                    run_id=run.run_id,
                    cause=_error_dict(exc),
                ) from exc
            if switched:
                await self._roll_back(run, exc, log)
            await self._fail(run, exc, log)
            raise

    def _start(self, run: _Run) -> None:
        self.monitor.start_run(run.run_id, run.total)
        self._progress = {
            **self._idle_progress(),
            "runId": run.run_id,
            "phase": run.phase,
            "processed": run.processed,
            "total": run.total,
        }

    def _phase(self, run: _Run, name: str, log: MigrationLogger, **context: Any) -> None:
        current = self.monitor.current_phase
        if current is not None:
            self.monitor.end_phase(current)
        self.monitor.start_phase(name)
        self._progress = {**self._progress, "phase": name}
        log.info(f"migration phase {name}", phase=name, **context)
        self.events.emit("phase", {"phase": name, "runId": run.run_id, **context})

    def _emit_progress(self, run: _Run) -> None:
        figures = self.monitor.progress(run.processed, max(run.total, run.processed))
        self._progress = {
            **self._progress,
            **figures,
            "runId": run.run_id,
            "running": True,
            "paused": not self._resume.is_set(),
        }
        self.events.emit("progress", dict(self._progress))

    # ------------------------------------------------------------------ detect
    async def _read(self) -> _Snapshot:
        local_keys = [k for k in await self.storage.local_keys() if keys.is_app_key(k)]
        local = {k: v for k, v in (await self.storage.local_get(local_keys)).items() if v is not None}
        app_keys = list(await self.storage.app_keys())
        app = {k: v for k, v in (await self.storage.app_get(app_keys)).items() if v is not None}
        return _Snapshot(local, app)

    def _sources(self, plan: Plan, snapshot: _Snapshot, legacy: LegacyPlan) -> list[_Source]:
        sources = []
        for entry in plan.collections:
            kind, source_key = entry["kind"], entry["source_key"]
            if entry["location"] == "local":
                text = legacy.values.get(source_key, snapshot.local.get(source_key))
                if text is None:
                    continue
                origins = legacy.origins.get(source_key)
                # A legacy key's own text is what a quarantine keeps whole (its move may have wrapped it).
                raw = snapshot.local.get(origins, text) if isinstance(origins, str) else text
                sources.append(_Source(source_key, kind, source_key, "local", text=text, raw=raw, origins=origins))
            else:
                raw = snapshot.app.get(kind)
                if raw is None:
                    continue
                sources.append(_Source(source_key, kind, kind, "app", raw=raw))
        return sources

    async def _inspect(self, src: _Source) -> None:
        """Count ``src``'s records, or note why it is not a JSON array (nothing is staged for it then)."""
        if src.location == "local":
            assert src.text is not None
            try:
                src.count = self.count_array(src.text)
            except jsonstream.MalformedJSON as exc:
                src.error = exc.message
                if src.raw is not None and src.raw != src.text:
                    # A legacy key that is not JSON moved as a string: say what is wrong with its own text.
                    try:
                        jsonstream.count_array(src.raw)
                    except jsonstream.MalformedJSON as own:
                        src.error = f"invalid JSON: {own.message}"
            await self.sleep(0)
            return
        try:
            record = jsonstream.loads(src.raw or "")
        except ValueError as exc:
            src.error = f"the AirPromptsDB record is not JSON ({exc})"
            return
        if not isinstance(record, dict) or not isinstance(record.get("value"), list):
            src.error = "the AirPromptsDB record's value is not an array"
            return
        src.items = record["value"]
        src.record = {k: v for k, v in record.items() if k != "value"}
        src.count = len(src.items)

    # ------------------------------------------------------------------ backup
    async def _backup(self, run: _Run, snapshot: _Snapshot, log: MigrationLogger) -> None:
        self._phase(run, "backup", log)
        if not run.resumed:
            size = sum(len(k) + len(v) for k, v in snapshot.local.items())
            size += sum(len(k) + len(v) for k, v in snapshot.app.items())
            needed = QUOTA_FACTOR * size * 2
            estimate = await self.storage.estimate()
            quota, usage = estimate.get("quota"), estimate.get("usage")
            if quota is not None and usage is not None:
                available = max(0, int(quota) - int(usage))
                if available < needed:
                    raise QuotaExceeded(
                        f"Not enough browser storage to migrate safely: about {needed} bytes needed "
                        f"(backup, staging and result), {available} available. Free space or delete old backups.",
                        needed=needed,
                        available=available,
                    )
            await self._set_pending(run)
            await self._write([self._journal_op(run)])
        if run.backup_id is None:
            # A page killed after the backup's metadata was written but before the journal
            # got its id: that backup is complete, use it.
            for meta in await self.backups.list_backups():
                if meta.get("migrationId") == run.run_id and meta.get("kind") == "pre-migration":
                    run.backup_id = meta["id"]
                    break
        if run.backup_id is None:
            meta = await self._retry(
                self.backups.create_full_backup,
                f"Before migrating to {revisions.target()} (run {run.run_id})",
                kind="pre-migration",
                migration_id=run.run_id,
                # The version detected, also where nothing records it (legacy keys, data_version only).
                schema_version=run.plan.from_version,
                state={"local": snapshot.local, "app": snapshot.app},
            )
            run.backup_id = meta["id"]
        self.backups.protected.add(run.backup_id)
        run.phase = "transform"
        await self._write([self._journal_op(run)])
        log.info("pre-migration backup ready", backupId=run.backup_id)

    # ------------------------------------------------------------------ transform
    async def _transform(self, run: _Run, snapshot: _Snapshot, *, dry: bool) -> _Report:
        legacy = plan_legacy(snapshot.local)
        report = _Report(run, dry_run=dry)
        report.legacy = {
            "moves": [{"from": m.source_key, "to": m.target_key} for m in legacy.moves],
            "conflicts": legacy.conflicts,
        }
        for conflict in legacy.conflicts:
            report.warnings.append(
                {
                    "kind": keys.short_name(conflict["target_key"]),
                    "index": -1,
                    "id": conflict.get("id"),
                    "code": LEGACY_CONFLICT,
                    "message": (
                        f"{conflict['target_key']}: the copy from {conflict['dropped_from']} lost to "
                        f"{conflict['kept_from']} ({conflict['reason']}); it stays in the legacy key and the backup"
                    ),
                    "source": conflict["dropped_from"],
                }
            )
        if not run.sources:
            run.sources = self._sources(run.plan, snapshot, legacy)
            for src in run.sources:
                await self._inspect(src)
            run.total = sum(src.count for src in run.sources)
        references = References()
        run.processed = 0
        for src in run.sources:
            await self._transform_source(run, src, references, report, dry)
        for issue in references.dangling():
            report.warn(issue)
        await self._transform_values(run, snapshot, legacy, report, dry)
        return report

    async def _transform_source(
        self, run: _Run, src: _Source, references: References, report: _Report, dry: bool
    ) -> None:
        run_id, done = run.run_id, run.cursor.get(src.id, 0)
        if src.error is not None:
            entry = Quarantined(src.kind, -1, src.read_from, src.raw, [f"{INVALID_COLLECTION}: {src.error}"])
            report.add_invalid(src, entry)
            if not dry and done < 1:
                run.cursor[src.id] = 1
                await self._write(
                    [
                        Put("quarantine", _quarantine_key(run_id, src.id, None), _dumps(entry.to_dict())),
                        self._journal_op(run),
                    ]
                )
            return
        report.source(src)
        ctx = Context(src.kind, src.id, run.plan.from_version, run.started_at, src.origins)
        transformer = CollectionTransformer(ctx, self._validator, references)
        samples = self.use_jsonschema_samples
        batch_size = run.options["batchSize"]
        # A resumed run takes back the batches an earlier page staged, with their part of the
        # report, instead of transforming them again; the text is parsed on from the last one.
        restored, start, index = (0, 0, 0) if dry or done < 1 else await self._restore_batches(run, src, transformer, report)
        samples = max(0, samples - index)
        run.processed += index
        if restored and not dry:
            self._emit_progress(run)
        # Staged batches wait here until enough text gathers for one transaction: an IndexedDB
        # transaction costs about 2 ms, as much as the work of a batch.
        pending: list[Op] = []
        pending_chars = 0
        staged_through = done
        ends: list[int] = []
        batches = self._batches(src, batch_size, restored, start, ends)
        for number, batch in enumerate(batches, start=restored):
            started = time.perf_counter()
            mark = references.mark()
            result, samples = self._run_batch(transformer, batch, index, samples)
            # One encoder call per batch: "[a,b]" without its brackets is the fragment "a,b".
            fragment = jsonstream.dumps(result.records)[1:-1] if result.records else ""
            piece = report.add_batch(src, result, fragment)
            index += len(batch)
            run.processed += len(batch)
            if not dry and number >= done:
                summary = {
                    **piece,
                    "size": len(batch),
                    "end": ends[-1] if ends else None,
                    "ids": [record["id"] for record in result.records],
                    "refs": references.since(mark),
                }
                pending.append(Put("staging", f"{_staging_prefix(run_id, src.id)}{number:06d}", fragment))
                pending.append(Put("staging", f"{_summary_prefix(run_id, src.id)}{number:06d}", _dumps(summary)))
                pending += [
                    Put("quarantine", _quarantine_key(run_id, src.id, q.index), _dumps(q.to_dict()))
                    for q in result.quarantined
                ]
                pending_chars += len(fragment)
                staged_through = number + 1
                if index >= src.count or pending_chars >= STAGE_CHARS or len(pending) >= 2 * STAGE_OPS:
                    await self._stage(run, src, pending, staged_through)
                    pending, pending_chars = [], 0
            if not dry:
                self.monitor.record_batch(size=len(batch), duration_ms=(time.perf_counter() - started) * 1000)
                self._emit_progress(run)
                await self._between_batches(run)
            else:
                await self.sleep(0)
        if pending:  # a count that missed the last batch must not leave it unstaged
            await self._stage(run, src, pending, staged_through)

    async def _restore_batches(
        self, run: _Run, src: _Source, transformer: CollectionTransformer, report: _Report
    ) -> tuple[int, int, int]:
        """Take back the staged batches before the cursor; return how many, where the text goes on, and their records.

        Only an unbroken run of batches from the first, each with its fragment and its summary,
        is taken back (a journal of an earlier release has no summaries: its batches are
        transformed again, and not staged twice).
        """
        done = run.cursor.get(src.id, 0)
        fragments = dict(await self.storage.own_scan("staging", _staging_prefix(run.run_id, src.id)))
        summaries = dict(await self.storage.own_scan("staging", _summary_prefix(run.run_id, src.id)))
        restored, start, records = 0, 0, 0
        for number in range(done):
            suffix = f"{number:06d}"
            fragment = fragments.get(_staging_prefix(run.run_id, src.id) + suffix)
            text = summaries.get(_summary_prefix(run.run_id, src.id) + suffix)
            try:
                summary = json.loads(text) if text is not None and fragment is not None else None
            except ValueError:
                summary = None
            if not isinstance(summary, dict) or (src.location == "local" and not isinstance(summary.get("end"), int)):
                break
            report.add_piece(src, summary, fragment)
            transformer.seen.update(summary["ids"])
            transformer.references.restore(src.kind, summary["ids"], summary["refs"])
            restored, start, records = number + 1, summary.get("end") or 0, records + int(summary["size"])
        if restored:
            self.logger.bind(runId=run.run_id).info(
                f"resumed {src.id} after {restored} staged batches", source=src.id, batches=restored
            )
        return restored, start, records

    async def _stage(self, run: _Run, src: _Source, ops: list[Op], staged_through: int) -> None:
        """Write staged batches with the journal cursor that counts them, in one transaction."""
        run.cursor[src.id] = staged_through
        await self._write([*ops, self._journal_op(run)])

    @staticmethod
    def _batches(
        src: _Source, batch_size: int, skip: int = 0, start: int = 0, ends: list[int] | None = None
    ) -> Iterator[list[Any]]:
        """Yield ``src``'s records in batches, from batch ``skip`` on (at character ``start`` of its text)."""
        if src.location == "local":
            assert src.text is not None
            if skip and not start:
                return  # the staged batches reached the end of the array
            yield from jsonstream.iter_array_batches(src.text, batch_size, start=start, ends=ends)
            return
        items = src.items or []
        for first in range(skip * batch_size, len(items), batch_size):
            yield items[first : first + batch_size]

    def _run_batch(
        self, transformer: CollectionTransformer, batch: list[Any], index: int, samples: int
    ) -> tuple[BatchResult, int]:
        """Run one batch; the first ``samples`` records of a collection also get the JSON Schema check."""
        take = min(samples, len(batch))
        if not take:
            return transformer.run(batch, index), 0
        transformer.validator = self._schema_validator
        try:
            sampled = transformer.run(batch[:take], index)
        finally:
            transformer.validator = self._validator
        if take == len(batch):
            return sampled, samples - take
        return _merge(sampled, transformer.run(batch[take:], index + take)), samples - take

    async def _between_batches(self, run: _Run) -> None:
        await self.sleep(run.options["batchDelayMs"] / 1000)
        if not self._resume.is_set():
            self._emit_progress(run)
            # A pause may last hours: the page's other work gets the collector back meanwhile.
            with _gc_allowed():
                await self._resume.wait()

    async def _transform_values(
        self, run: _Run, snapshot: _Snapshot, legacy: LegacyPlan, report: _Report, dry: bool
    ) -> None:
        """Upgrade the managed values and carry the other legacy moves; stage them in one write."""
        version = run.plan.from_version
        staged: list[Op] = []
        handled = set()
        for key in run.plan.values:
            handled.add(key)
            if key.startswith(keys.APP_SOURCE_PREFIX):
                name = keys.short_name(key)
                text = self._app_value(name, snapshot.app.get(name), version, run, report)
                if text is not None:
                    staged.append(Put("staging", f"{run.run_id}/values/app/{name}", text))
                continue
            source = legacy.values.get(key, snapshot.local.get(key))
            origin = legacy.origins.get(key) if key in legacy.values else None
            read_from = origin if isinstance(origin, str) else key
            text = self._local_value(key, source, snapshot.local.get(key), version, report, read_from)
            if read_from != key and key != keys.PREFIX + "theme_preference" and not _is_json(snapshot.local.get(read_from)):
                report.warn(
                    Issue(
                        keys.short_name(key), -1, None, INVALID_VALUE,
                        f"{read_from} is not JSON; its text moved to {key} as a string, unchanged",
                    ),
                    read_from,
                )
            if text is not None:
                staged.append(Put("staging", f"{run.run_id}/values/local/{key}", text))
        collection_keys = {keys.collection_key(kind) for kind in keys.COLLECTIONS}
        for key, text in legacy.values.items():
            if key in handled or key in collection_keys:
                continue
            # A legacy key outside the managed names (ap_<name>): its value moves as it is.
            report.values[key] = "moved"
            staged.append(Put("staging", f"{run.run_id}/values/local/{key}", text))
        done = run.cursor.get("values", 0)
        if not dry and done < 1:
            run.cursor["values"] = 1
            await self._write([*staged, self._journal_op(run)])
        report.value_targets = [(op.key, op.value) for op in staged if isinstance(op, Put)]

    def _local_value(
        self, key: str, source: str | None, current: str | None, version: str, report: _Report, read_from: str
    ) -> str | None:
        """Return the new text of value ``key`` (read from ``read_from``: a legacy key, or itself), or None."""
        if source is None:
            return None
        try:
            value = jsonstream.loads(source)
        except ValueError:
            report.values[key] = INVALID_VALUE
            message = f"{read_from} is not JSON; kept as it is"
            report.warn(Issue(keys.short_name(key), -1, None, INVALID_VALUE, message), read_from)
            return None
        new, found = upgrade_value(key, value, version)
        for issue in found:
            report.warn(issue, read_from)
        text = source if ids.canonical_json(new) == ids.canonical_json(value) else _dumps(new)
        report.values[key] = "unchanged" if text == current else "upgraded"
        return None if text == current else text

    def _app_value(self, name: str, raw: str | None, version: str, run: _Run, report: _Report) -> str | None:
        key = keys.app_source(name)
        if raw is None:
            return None
        try:
            record = jsonstream.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict) or "value" not in record:
            report.values[key] = INVALID_VALUE
            report.warn(Issue(name, -1, None, INVALID_VALUE, f"{key} is not a storage record; kept as it is"), key)
            return None
        new, found = upgrade_value(name, record["value"], version)
        for issue in found:
            report.warn(issue, key)
        if ids.canonical_json(new) == ids.canonical_json(record["value"]):
            report.values[key] = "unchanged"
            return None
        report.values[key] = "upgraded"
        return _dumps({**record, "key": name, "value": new, "timestamp": run.started_ms})

    # ------------------------------------------------------------------ build
    async def _build(self, run: _Run, report: _Report, snapshot: _Snapshot) -> tuple[list[_Target], list[str]]:
        """Return the live texts to write (collections moved to AirPromptsDB where localStorage is too small)."""
        targets: list[_Target] = []
        app_kinds = {src.kind for src in run.sources if src.location == "app"}
        for src in run.sources:
            if src.error is not None:
                continue
            array = "[" + ",".join(f for f in report.fragments.get(src.id, []) if f) + "]"
            records = report.sources[src.id]["migrated"]
            prefix = _staging_prefix(run.run_id, src.id)
            if src.location == "local":
                targets.append(_Target("local", src.key, array, prefix, True, records=records, kind=src.kind))
            else:
                head, tail = _app_wrap(src.kind, src.record, run.started_ms)
                targets.append(
                    _Target("app", src.kind, head + array + tail, prefix, True, head, tail, records, src.kind)
                )
        for staging_key, text in report.value_targets:
            area, key = staging_key.split("/values/", 1)[1].split("/", 1)
            targets.append(_Target(area, key, text, staging_key, False))
        remove: list[str] = []
        # The app's keys as the run read them (it holds the lock); the origin's other keys as they are now.
        others = [k for k in await self.storage.local_keys() if not keys.is_app_key(k)]
        local = {k: v for k, v in (await self.storage.local_get(others)).items() if v is not None}
        local.update(snapshot.local)

        def usage() -> int:
            after = {k: v for k, v in local.items() if k not in remove}
            after.update({t.key: t.text for t in targets if t.area == "local"})
            after[keys.SCHEMA_VERSION_KEY] = version_text()
            return sum(utf16_len(k) + utf16_len(v) for k, v in after.items())

        while usage() > self.local_limit:
            movable = [t for t in targets if t.area == "local" and t.kind is not None and t.kind not in app_kinds]
            if not movable:
                raise QuotaExceeded(
                    f"The migrated data needs {usage()} localStorage characters, more than the {self.local_limit} "
                    "available, even with every collection moved to IndexedDB",
                    needed=usage(),
                    available=self.local_limit,
                )
            largest = max(movable, key=lambda t: utf16_len(t.text))
            assert largest.kind is not None
            head, tail = _app_wrap(largest.kind, None, run.started_ms)
            array = largest.text
            targets[targets.index(largest)] = _Target(
                "app",
                largest.kind,
                head + array + tail,
                largest.staging,
                True,
                head,
                tail,
                largest.records,
                largest.kind,
            )
            app_kinds.add(largest.kind)
            if largest.key in local:
                remove.append(largest.key)
            report.moved.append(largest.kind)
            for entry in report.sources.values():
                if entry["sourceKey"] == largest.key:
                    entry["status"] = MOVED_TO_INDEXEDDB
            report.warnings.append(
                {
                    "kind": largest.kind,
                    "index": -1,
                    "id": None,
                    "code": MOVED_TO_INDEXEDDB,
                    "message": f"{largest.key} is too large for localStorage at {revisions.target()}; moved to {keys.APP_DB}/{keys.APP_STORE}",
                    "source": largest.key,
                }
            )
        return targets, remove

    async def _rebuild(self, run: _Run, journal: dict[str, Any]) -> None:
        """Rebuild the switch targets from staging; raise _Unusable when they do not match the journal."""
        targets = []
        for entry in journal.get("targets") or []:
            if entry["join"]:
                pairs = await self.storage.own_scan("staging", entry["staging"])
                text = entry["head"] + "[" + ",".join(v for _, v in pairs if v) + "]" + entry["tail"]
            else:
                text = (await self.storage.own_get("staging", [entry["staging"]])).get(entry["staging"])
                if text is None:
                    raise _Unusable(f"staged value {entry['staging']} is missing")
            if sha256_hex(text) != entry["sha256"]:
                raise _Unusable(f"staged text of {entry['area']}:{entry['key']} does not match the journal")
            targets.append(
                _Target(
                    entry["area"],
                    entry["key"],
                    text,
                    entry["staging"],
                    entry["join"],
                    entry["head"],
                    entry["tail"],
                    entry.get("records"),
                    entry.get("kind"),
                )
            )
        run.targets = targets
        run.remove = list(journal.get("remove") or [])
        report_key = f"{run.run_id}/~report"
        text = (await self.storage.own_get("staging", [report_key])).get(report_key)
        if text is None:
            raise _Unusable("the staged report is missing")
        run.report = json.loads(text)

    # ------------------------------------------------------------------ switch, verify, complete
    def _writes(self, run: _Run) -> list[tuple[str, str, str | None]]:
        """Return every (area, key, new value) the switch writes, in write order (None: removed)."""
        writes: list[tuple[str, str, str | None]] = [(t.area, t.key, t.text) for t in run.targets if t.area == "app"]
        writes += [(t.area, t.key, t.text) for t in run.targets if t.area == "local"]
        writes += [("local", key, None) for key in run.remove]
        writes.append(("local", keys.SCHEMA_VERSION_KEY, version_text()))
        return writes

    def _watched(self, run: _Run) -> list[tuple[str, str, str | None]]:
        """Return the switch's writes plus the legacy keys the run read (which it never writes)."""
        writes = self._writes(run)
        written = {(area, key) for area, key, _ in writes}
        legacy = [("local", key, None) for key in run.plan.legacy_keys if ("local", key) not in written]
        return writes + legacy

    def _originals(
        self, run: _Run, local: Mapping[str, str], app: Mapping[str, str]
    ) -> dict[tuple[str, str], str | None]:
        return {(area, key): (local if area == "local" else app).get(key) for area, key, _ in self._watched(run)}

    async def _switch(self, run: _Run) -> None:
        """Write the new data; every write is guarded so a key another writer changed is never overwritten."""
        writes = self._writes(run)
        # localStorage first, as nothing is written yet. AirPromptsDB, written first, is checked by its
        # own guarded write, in the same transaction: a second comparison of several MB would add nothing.
        await self._check_unchanged(run, [(area, key, new) for area, key, new in self._watched(run) if area == "local"])
        app_put = {key: new for area, key, new in writes if area == "app" and new is not None}
        app_expect = {key: run.originals.get(("app", key)) for key in app_put}
        local_set = {t.key: t.text for t in run.targets if t.area == "local"}
        local_expect = {key: run.originals.get(("local", key)) for key in [*local_set, *run.remove]}
        if app_put:
            await self._retry(self.storage.app_write, app_put, (), app_expect)
        if local_set or run.remove:
            await self._retry(self.storage.local_write, local_set, run.remove, local_expect)
        # Last: the app reads this key to know the data is at 3.0.0.
        schema = keys.SCHEMA_VERSION_KEY
        await self._retry(
            self.storage.local_write, {schema: version_text()}, (), {schema: run.originals.get(("local", schema))}
        )

    async def _current(self, writes: list[tuple[str, str, str | None]]) -> dict[tuple[str, str], str | None]:
        local = await self._retry(self.storage.local_get, [key for area, key, _ in writes if area == "local"])
        app = await self._retry(self.storage.app_get, [key for area, key, _ in writes if area == "app"])
        return {(area, key): (local if area == "local" else app).get(key) for area, key, _ in writes}

    async def _changed(self, expected: Mapping[tuple[str, str], str | None]) -> set[tuple[str, str]]:
        """Return the (area, key) pairs not holding their expected value, compared where they are stored."""
        found: set[tuple[str, str]] = set()
        for area, changed in (("local", self.storage.local_changed), ("app", self.storage.app_changed)):
            wanted = {key: value for (where, key), value in expected.items() if where == area}
            if wanted:
                found.update((area, key) for key in await self._retry(changed, wanted))
        return found

    async def _foreign(self, run: _Run, watched: list[tuple[str, str, str | None]]) -> set[tuple[str, str]]:
        """Return the watched keys holding neither their value before the run nor the one the switch writes."""
        differ = await self._changed({(area, key): run.originals.get((area, key)) for area, key, _ in watched})
        # A key the switch writes may already hold its new value (a resumed switch).
        new = {(area, key): value for area, key, value in self._writes(run)}
        written = {pair: new[pair] for pair in differ if pair in new}
        return (differ - set(written)) | await self._changed(written)

    async def _check_unchanged(self, run: _Run, writes: list[tuple[str, str, str | None]]) -> None:
        """Raise WriteConflict when a key holds neither its value before the run nor the new one."""
        changed = await self._foreign(run, writes)
        if changed:
            names = [f"{area}:{key}" for area, key, _ in writes if (area, key) in changed]
            raise WriteConflict(f"changed since the migration read them: {', '.join(names)}", keys=names)

    async def _undo_switch(self, run: _Run, log: MigrationLogger) -> None:
        """Put back the value from before the run wherever the switch's own value still stands."""
        writes = self._writes(run)
        current = await self._current(writes)
        # Undo the version first, so the app reads the data as not migrated while the rest goes back.
        for area, key, new in reversed(writes):
            original = run.originals.get((area, key))
            now = current[(area, key)]
            if _same(now, original, area):
                continue
            if not _same(now, new, area):
                log.warn(f"{area}:{key} was changed by another writer during the migration; its new value is kept")
                continue
            put = {} if original is None else {key: original}
            drop = [key] if original is None else []
            write = self.storage.app_write if area == "app" else self.storage.local_write
            try:
                await self._retry(write, put, drop, {key: new})
            except WriteConflict:
                log.warn(f"{area}:{key} changed again while the migration was undone; its new value is kept")

    async def _verify(self, run: _Run) -> None:
        # Equal to the staged text means equal records and counts: no re-parse, no re-validation.
        # The stores compare it where it lies, so the written data does not come back to Python.
        expected: dict[tuple[str, str], str | None] = {(t.area, t.key): t.text for t in run.targets}
        expected.update({("local", key): None for key in run.remove})
        expected[("local", keys.SCHEMA_VERSION_KEY)] = version_text()
        differ = await self._changed(expected)
        problems = [f"{t.area}:{t.key} differs from what was staged" for t in run.targets if (t.area, t.key) in differ]
        problems += [
            f"local:{key} should have moved to IndexedDB but is still there" for key in run.remove if ("local", key) in differ
        ]
        if ("local", keys.SCHEMA_VERSION_KEY) in differ:
            problems.append(f"airprompts_schema_version is not {revisions.target()}")
        # The live app reads every key with JSON.parse: prove each written value parses where it lies.
        # (AirPromptsDB records were parsed by the browser to be stored at all.)
        written = [t.key for t in run.targets if t.area == "local"] + [keys.SCHEMA_VERSION_KEY]
        for key in await self._retry(self.storage.local_unparsable, written):
            problems.append(f"local:{key} is not JSON the browser can parse")
        if problems:
            raise VerificationFailed(
                "The written data does not match what was staged: " + "; ".join(problems), problems=problems
            )

    async def _complete(self, run: _Run, log: MigrationLogger) -> dict[str, Any]:
        report = dict(run.report or {})
        report["backupId"] = run.backup_id
        finished = self.clock()
        summary = self.monitor.end_run(run.processed)
        report["durations"] = summary.get("phases", {})
        result = {
            "success": True,
            "fromVersion": run.plan.from_version,
            "toVersion": revisions.target(),
            "migrated": report.get("migrated", 0),
            "quarantined": report.get("quarantinedCount", 0),
            "warnings": len(report.get("warnings", [])),
            "backupId": run.backup_id,
            "durationMs": round((finished - run.clock_start) * 1000, 1),
            "runId": run.run_id,
            "report": report,
        }
        until = run.started_ms / 1000 + self.dual_read_days * 86400
        # "until" in epoch ms, as the compatibility layer reads it.
        dual = {
            "until": int(until * 1000),
            "untilIso": _iso(until),
            "backupId": run.backup_id,
            "runId": run.run_id,
            "legacyKeys": run.plan.legacy_keys,
        }
        entry = self._history_entry(run, result, finished)
        history_key = f"{int(finished * 1000):015d}-{run.run_id}"
        # The data is written and verified: from here on nothing may undo the run. A clean-up that
        # cannot be written is left to the next load (recover() finishes it, journal phase "complete").
        cleaned, _ = await self._best_effort(self.storage.own_write, self._cleanup_ops(run, history_key, entry, dual))
        if cleaned:
            await self._clear_pending()
        else:
            run.phase = "complete"
            marker = {
                **run.journal(),
                "historyKey": history_key,
                "entry": {k: v for k, v in entry.items() if k != "report"},
                "dual": dual,
            }
            await self._best_effort(self.storage.own_write, [Put(JOURNAL_STORE, JOURNAL_KEY, _dumps(marker))])
            log.warn(
                "the migrated data is in place and verified, but the run's clean-up could not be written; "
                "it is finished on the next load"
            )
        if run.backup_id:
            self.backups.protected.add(run.backup_id)
        self._progress = {**self._progress, "phase": "done", "percent": 100.0, "etaMs": 0, "running": False}
        log.info(
            "migration complete",
            migrated=result["migrated"],
            quarantined=result["quarantined"],
            warnings=result["warnings"],
            backupId=run.backup_id,
        )
        self.events.emit("phase", {"phase": "done", "runId": run.run_id})
        self.events.emit("complete", result)
        await self._flush_log()
        return result

    @staticmethod
    def _cleanup_ops(run: _Run, history_key: str, entry: dict[str, Any], dual: dict[str, Any]) -> list[Op]:
        """Return the writes that end a verified run: its history entry, the dual-read period, no staging or journal."""
        return [
            Put("history", history_key, _dumps(entry)),
            Put("settings", DUAL_READ_KEY, _dumps(dual)),
            DeletePrefix("staging", run.run_id + "/"),
            Delete(JOURNAL_STORE, JOURNAL_KEY),
        ]

    async def _recover_complete(self, run: _Run, journal: dict[str, Any]) -> dict[str, Any]:
        """Finish the clean-up of a verified run whose page could not write it: the live data is not touched."""
        report_key = f"{run.run_id}/~report"
        text = (await self.storage.own_get("staging", [report_key])).get(report_key)
        entry = {**journal["entry"], "report": None}
        if text is not None:
            report = json.loads(text)
            entry["report"] = {**report, "backupId": run.backup_id}
        await self._write(self._cleanup_ops(run, str(journal["historyKey"]), entry, journal["dual"]))
        await self._clear_pending()
        if run.backup_id:
            self.backups.protected.add(run.backup_id)
        self.logger.bind(runId=run.run_id).info("finished the clean-up of the verified run")
        await self._flush_log()
        return {"resumed": run.run_id, "outcome": "completed", "result": journal["entry"]}

    def _history_entry(self, run: _Run, result: dict[str, Any], finished: float) -> dict[str, Any]:
        return {
            **{k: v for k, v in result.items() if k != "report"},
            "startedAt": run.started_at,
            "finishedAt": _iso(finished),
            "report": result.get("report"),
        }

    # ------------------------------------------------------------------ failure
    async def _fail(self, run: _Run, exc: Exception, log: MigrationLogger) -> None:
        """Clean up a run that failed before the switch: the live data was never touched."""
        log.error(f"migration failed before the switch: {describe(exc)}", error=_error_dict(exc), phase=run.phase)
        await self._record_failure(run, exc, rolled_back=False)

    async def _roll_back(self, run: _Run, exc: Exception, log: MigrationLogger) -> NoReturn:
        """Restore the pre-migration backup after a failure from the switch on, then raise RolledBack."""
        log.error(f"migration failed after the switch began, restoring backup {run.backup_id}: {describe(exc)}")
        run.phase = "rollback"
        try:
            await self._write([self._journal_op(run)])
        except Exception:
            _log.warning("could not mark the journal for rollback", exc_info=True)
        run.displaced = await self._displaced(run, log)
        if run.displaced:
            # Kept before the restore erases them, so a reload from here on cannot lose them.
            try:
                await self._write([self._journal_op(run)])
            except Exception:
                _log.warning("could not keep the displaced values in the journal", exc_info=True)
        try:
            if run.backup_id is None:
                raise MigrationError("the run has no pre-migration backup")
            await self._retry(self.backups.restore_backup, run.backup_id, safety_backup=False, deferred=True)
        except Exception as restore_exc:
            log.critical(
                f"restoring backup {run.backup_id} failed too; recover() retries it on the next load: {describe(restore_exc)}"
            )
            self._end_monitor(run)
            self.events.emit("failed", {"runId": run.run_id, "error": _error_dict(exc), "restored": False})
            await self._flush_log()
            raise MigrationError(
                f"The migration failed: {describe(exc)} Restoring backup {run.backup_id} failed too: "
                f"{describe(restore_exc)} Reload the page: the restore is retried on load.",
                run_id=run.run_id,
                backup_id=run.backup_id,
                cause=_error_dict(exc),
                restore_error=_error_dict(restore_exc),
            ) from exc
        await self._record_failure(run, exc, rolled_back=True)
        message = (
            f"The migration could not write the new data: {describe(exc)} It was undone: every key was restored "
            f"from backup {run.backup_id}, so your data is as it was before."
        )
        displaced = [f"{area}:{key}" for area, key, _ in run.displaced]
        if displaced:
            message += (
                f" {', '.join(displaced)} held a value written during the run by something else (another tab, "
                "or the storage itself); it is kept in the history entry of this run, under \"displaced\"."
            )
        raise RolledBack(
            message, run_id=run.run_id, backup_id=run.backup_id, cause=_error_dict(exc), displaced=displaced
        ) from exc

    async def _displaced(self, run: _Run, log: MigrationLogger) -> list[tuple[str, str, str]]:
        """Return (area, key, value) of each key the switch writes that holds neither its value before the
        run nor the migrated one: a write of another tab (or a storage fault) that restoring the backup
        would otherwise erase. Best effort: a failure to read leaves the restore as it was."""
        writes = self._writes(run)
        if not all((area, key) in run.originals for area, key, _ in writes):
            return []  # the values before the run are unknown: nothing to compare with
        try:
            foreign = await self._foreign(run, writes)
            current = await self._current([write for write in writes if write[:2] in foreign]) if foreign else {}
        except Exception as exc:
            log.warn(f"could not read the live data before rolling back: {exc}")
            return []
        found = []
        for (area, key), value in current.items():
            if value is not None:  # an absent key has nothing to keep
                log.warn(f"{area}:{key} changed during the failed run; its value is kept in the run's history entry")
                found.append((area, key, value))
        return found

    async def _record_failure(self, run: _Run, exc: Exception, *, rolled_back: bool) -> None:
        finished = self.clock()
        self._end_monitor(run)
        result = {
            "success": False,
            "fromVersion": run.plan.from_version,
            "toVersion": revisions.target(),
            "migrated": 0,
            "quarantined": 0,
            "warnings": 0,
            "backupId": run.backup_id,
            "durationMs": round((finished - (run.clock_start or finished)) * 1000, 1),
            "runId": run.run_id,
            "rolledBack": rolled_back,
            "error": _error_dict(exc),
            "report": run.report,
        }
        if run.displaced:
            result["displaced"] = [{"area": area, "key": key, "value": value} for area, key, value in run.displaced]
        try:
            await self._write(
                [
                    Put(
                        "history",
                        f"{int(finished * 1000):015d}-{run.run_id}",
                        _dumps(self._history_entry(run, result, finished)),
                    ),
                    DeletePrefix("staging", run.run_id + "/"),
                    DeletePrefix("quarantine", run.run_id + "/"),
                    Delete(JOURNAL_STORE, JOURNAL_KEY),
                ]
            )
        except Exception:
            _log.warning(
                "could not clean up failed run %s; recover() does it on the next load", run.run_id, exc_info=True
            )
            read, left = await self._best_effort(self.storage.own_get, JOURNAL_STORE, [JOURNAL_KEY])
            if read and left.get(JOURNAL_KEY) is None:
                await self._clear_pending()  # no journal was ever written: nothing for the loader to finish
        else:
            await self._clear_pending()
        if run.backup_id:
            self.backups.protected.discard(run.backup_id)
        self._progress = {**self._progress, "phase": "failed", "running": False}
        self.events.emit("failed", {"runId": run.run_id, "error": _error_dict(exc), "restored": rolled_back})
        await self._flush_log()

    def _end_monitor(self, run: _Run) -> None:
        if self.monitor.running and self.monitor.run_id == run.run_id:
            self.monitor.end_run(run.processed)

    # ------------------------------------------------------------------ recovery
    async def _recover_locked(self, text: str) -> dict[str, Any]:
        try:
            journal = json.loads(text)
            if not isinstance(journal, dict) or journal.get("format") != JOURNAL_FORMAT:
                raise _Unusable("unknown journal format")
            run_id = journal["runId"]
            phase = journal["phase"]
            plan = Plan(**journal["plan"])
            run = _Run(
                run_id,
                int(journal["startedAtMs"]),
                journal["startedAt"],
                _options(journal["options"]["batchSize"], journal["options"]["batchDelayMs"]),
                plan,
                phase=phase,
                backup_id=journal.get("backupId"),
                cursor={str(k): int(v) for k, v in (journal.get("cursor") or {}).items()},
                resumed=True,
                fingerprint=journal.get("fingerprint"),
            )
        except (_Unusable, ValueError, KeyError, TypeError, InvalidInput) as exc:
            return await self._recover_unusable(str(exc))
        log = self.logger.bind(runId=run_id)
        log.warn(f"resuming interrupted migration at phase {phase}", phase=phase)
        if phase == "rollback":
            return await self._recover_rollback(run, "the run was rolling back", journal)
        if phase == "complete":
            try:
                return await self._recover_complete(run, journal)
            except (ValueError, KeyError, TypeError) as exc:
                # The data was verified: never restore over it; only the bookkeeping is lost.
                await self._discard(run.run_id)
                log.warn(f"the clean-up journal of the verified run is unusable ({exc}); its staging was removed")
                return {"resumed": run_id, "outcome": "completed", "reason": "clean-up journal unusable"}
        snapshot: _Snapshot | None = None
        if phase == "switch":
            try:
                await self._rebuild(run, journal)
            except (_Unusable, ValueError, KeyError, TypeError) as exc:
                return await self._recover_rollback(run, str(exc))
        elif phase in ("backup", "transform"):
            snapshot = await self._read()
            current = make_plan(snapshot.local, snapshot.app)
            if current.to_dict() != plan.to_dict() or _fingerprint(snapshot, run.fingerprint) != run.fingerprint:
                # The data changed since the run began (nothing live was written): start over.
                await self._discard(run_id)
                log.warn("the data changed since the interrupted run began; its staging was discarded")
                return {"resumed": run_id, "outcome": "discarded", "reason": "the data changed"}
        else:
            return await self._recover_unusable(f"unknown phase {phase!r}")
        try:
            result = await self._execute(run, snapshot)
        except RolledBack as exc:
            return {"resumed": run_id, "outcome": "rolled-back", "error": exc.to_dict()}
        except MigrateError as exc:
            return {"resumed": run_id, "outcome": "failed", "error": exc.to_dict()}
        return {"resumed": run_id, "outcome": "completed", "result": {k: v for k, v in result.items() if k != "report"}}

    async def _recover_rollback(self, run: _Run, reason: str, journal: dict[str, Any] | None = None) -> dict[str, Any]:
        log = self.logger.bind(runId=run.run_id)
        if journal is not None:
            # Found by the page that began the rollback, before a reload stopped it.
            kept = journal.get("displaced") or []
            run.displaced = [(str(item[0]), str(item[1]), str(item[2])) for item in kept if len(item) == 3]
        if journal is not None and run.backup_id is not None:
            # Before the restore erases them: values another writer stored during the run.
            try:
                await self._rebuild(run, journal)
                before = await self.backups.state(run.backup_id)
                run.originals = self._originals(run, before["local"], before["app"])
            except Exception as exc:
                log.warn(f"cannot look for values written during the interrupted run: {describe(exc)}")
            else:
                known = {item[:2] for item in run.displaced}
                run.displaced += [item for item in await self._displaced(run, log) if item[:2] not in known]
        try:
            if run.backup_id is None:
                raise MigrationError("the interrupted run has no backup id")
            await self._retry(self.backups.restore_backup, run.backup_id, safety_backup=False, deferred=True)
        except Exception as exc:
            log.critical(f"cannot roll back the interrupted run: {describe(exc)}")
            return {"resumed": run.run_id, "outcome": "failed", "error": _error_dict(exc)}
        await self._record_failure(run, MigrationError(f"interrupted run rolled back: {reason}"), rolled_back=True)
        return {"resumed": run.run_id, "outcome": "rolled-back", "reason": reason}

    async def _recover_unusable(self, reason: str) -> dict[str, Any]:
        """Handle a journal that cannot be read: restore when the switch had begun, else clean up."""
        staged = await self.storage.own_keys("staging")
        run_ids = sorted({key.split("/", 1)[0] for key in staged})
        switched = [r for r in run_ids if f"{r}/~report" in staged]
        if switched:
            run_id = switched[-1]
            backup_id = None
            for meta in await self.backups.list_backups():
                if meta.get("migrationId") == run_id and meta.get("kind") == "pre-migration":
                    backup_id = meta["id"]
                    break
            if backup_id is None:
                return {"resumed": run_id, "outcome": "failed", "reason": f"journal unusable ({reason}), no backup"}
            await self._retry(self.backups.restore_backup, backup_id, safety_backup=False, deferred=True)
            for r in run_ids:
                await self._discard(r)
            return {"resumed": run_id, "outcome": "rolled-back", "reason": f"journal unusable ({reason})"}
        for r in run_ids:
            await self._discard(r)
        await self._write([Delete(JOURNAL_STORE, JOURNAL_KEY)])
        return {"resumed": run_ids[-1] if run_ids else None, "outcome": "discarded", "reason": reason}

    async def _discard(self, run_id: str) -> None:
        await self._write(
            [
                DeletePrefix("staging", run_id + "/"),
                DeletePrefix("quarantine", run_id + "/"),
                Delete(JOURNAL_STORE, JOURNAL_KEY),
            ]
        )
        await self._clear_pending()

    async def _set_pending(self, run: _Run) -> None:
        """Tell the loader a run is unfinished (before the journal exists): a later visit then loads Python.

        Best effort: without the flag the run is as safe, only a page whose stored version already
        reads 3.0.0 would not load the app to finish it.
        """
        ok, _ = await self._best_effort(self.storage.local_write, {keys.PENDING_FLAG: run.run_id})
        if not ok:
            self.logger.bind(runId=run.run_id).warn(f"could not set {keys.PENDING_FLAG}; the run goes on without it")

    async def _clear_pending(self) -> None:
        """Remove the loader's flag once no journal is left (a leftover is removed by the next recover())."""
        ok, present = await self._best_effort(self.storage.local_get, [keys.PENDING_FLAG])
        if ok and present.get(keys.PENDING_FLAG) is not None:
            removed, _ = await self._best_effort(self.storage.local_write, {}, [keys.PENDING_FLAG])
            if not removed:
                _log.warning("could not remove %s; the next load removes it", keys.PENDING_FLAG)

    async def _best_effort(self, func: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
        """Await ``func`` (retried as any write, then once more whatever the error); return (done, result)."""
        for attempt in range(2):
            try:
                return True, await self._retry(func, *args)
            except Exception:
                _log.warning("%s failed (attempt %d)", getattr(func, "__name__", func), attempt + 1, exc_info=True)
        return False, None

    async def _load_protection(self) -> None:
        text = (await self.storage.own_get("settings", [DUAL_READ_KEY])).get(DUAL_READ_KEY)
        if text is None:
            return
        try:
            dual = json.loads(text)
        except ValueError:
            return
        if isinstance(dual, dict) and dual.get("backupId") and self.clock() * 1000 < float(dual.get("until") or 0):
            self.backups.protected.add(dual["backupId"])

    # ------------------------------------------------------------------ helpers
    def _journal_op(self, run: _Run) -> Put:
        return Put(JOURNAL_STORE, JOURNAL_KEY, _dumps(run.journal()))

    async def _write(self, ops: list[Op]) -> None:
        await self._retry(self.storage.own_write, ops)

    async def _retry(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Await ``func``; retry a retryable error after each of ``retry_delays``."""
        attempt = 0
        while True:
            try:
                return await func(*args, **kwargs)
            except Exception as exc:
                if not getattr(exc, "retryable", False) or attempt >= len(self.retry_delays):
                    raise
                delay = self.retry_delays[attempt]
                attempt += 1
                _log.warning("%s failed (%s); retry %d in %ss", getattr(func, "__name__", func), exc, attempt, delay)
                await self.sleep(delay)

    async def _flush_log(self) -> None:
        try:
            await self.logger.flush()
        except Exception:
            _log.warning("audit log flush failed", exc_info=True)

    @staticmethod
    def _idle_progress() -> dict[str, Any]:
        return {
            "phase": "idle",
            "processed": 0,
            "total": 0,
            "percent": 0.0,
            "throughput": 0.0,
            "etaMs": None,
            "running": False,
            "paused": False,
            "runId": None,
        }


def _options(batch_size: Any, batch_delay_ms: Any) -> dict[str, Any]:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(f"batchSize must be a positive integer, got {batch_size!r}", batch_size=batch_size)
    if isinstance(batch_delay_ms, bool) or not isinstance(batch_delay_ms, (int, float)) or not batch_delay_ms >= 0:
        raise InvalidInput(f"batchDelayMs must be a number >= 0, got {batch_delay_ms!r}", batch_delay_ms=batch_delay_ms)
    return {"batchSize": batch_size, "batchDelayMs": batch_delay_ms}


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Consume a progressive run's outcome: its failure is already logged, evented and in the history."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        _log.info("progressive migration ended with %s", exc)
