"""The migration's recorder: the one module that names the migration's own stores and keys.

Like Django's ``MigrationRecorder``, this is the only code that knows where a run
is recorded and in which format; the migration service, the compatibility layer
and the backup service import the names from here.

Own stores (IndexedDB ``AirPromptsMigrate``)::

    journal     "current": the running migration's journal (JSON text, below)
                "restore": the backup service's restore journal
    staging     "{runId}/{source}/{batch:06d}"          a batch's records, compact JSON joined by commas
                "{runId}/~batch/{source}/{batch:06d}"   that batch's part of the report (a resume takes it back)
                "{runId}/values/{area}/{key}"           a value's whole target text
                "{runId}/~report"                       the report, written with the switch journal
    quarantine  "{runId}/{source}/{index:08d}", "{runId}/{source}/collection"
    history     "{finishedMs:015d}-{runId}": a finished run (success or failure)
    settings    "dualRead" (written after a run), "dualReadMode" (the compatibility layer's),
                "verified/{backupId}" (the backup service's last verification)

localStorage: ``keys.PENDING_FLAG`` holds the run id while a run is unfinished.

Journal (``journal``/``current``)::

    {"format": 1, "runId": "mig-...", "phase": "backup" | "transform" | "switch" | "rollback" | "complete",
     "startedAt": ISO (the ``now`` of timestamp repairs: a resumed run is identical),
     "startedAtMs": int, "fromVersion": "1.0.0", "plan": Plan.to_dict(),
     "fingerprint": "parts:" + hash of every app key and record at detect (a resume over
                    changed data starts over; "blake2b:" and a bare hex SHA-256 are earlier releases'),
     "backupId": "bk-..." | null, "options": {"batchSize": 100, "batchDelayMs": 0},
     "cursor": {source_id: batches staged}, "sources": [{id, kind, location, key, records, invalid}],
     "stats": {"processed": n, "total": n},
     # from phase "switch" on:
     "targets": [{"area": "local" | "app", "key", "staging": key or prefix, "join": bool,
                  "head", "tail", "sha256", "records", "kind"}],
     "remove": [localStorage keys removed (collections moved to AirPromptsDB)],
     "displaced": [[area, key, value] another writer stored during a run being rolled back],
     # phase "complete": the data is verified, only the clean-up is left to write:
     "historyKey", "entry" (the history entry without its report), "dual" (the dual-read setting)}
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from app.core import jsonstream, keys
from app.storage.base import Delete, DeletePrefix, Op, Put

_log = logging.getLogger(__name__)

JOURNAL_STORE = "journal"
JOURNAL_KEY = "current"
RESTORE_KEY = "restore"  # the backup service's restore journal
JOURNAL_KEYS = (JOURNAL_KEY, RESTORE_KEY)
JOURNAL_FORMAT = 1
STAGING_STORE = "staging"
QUARANTINE_STORE = "quarantine"
HISTORY_STORE = "history"
SETTINGS_STORE = "settings"
DUAL_READ_KEY = "dualRead"
DUAL_READ_MODE_KEY = "dualReadMode"  # set by the compatibility layer; an enabled one delays the clean-up
VERIFIED_PREFIX = "verified/"  # settings: the last verification of each backup
PENDING_FLAG = keys.PENDING_FLAG


class UnusableJournal(Exception):
    """The journal cannot drive a resume."""


# ---------------------------------------------------------------------- keys


def staging_prefix(run_id: str, source_id: str) -> str:
    """Return the prefix of a source's staged batches (joined in key order into its array)."""
    return f"{run_id}/{source_id}/"


def batch_key(run_id: str, source_id: str, number: int) -> str:
    return f"{staging_prefix(run_id, source_id)}{number:06d}"


def summary_prefix(run_id: str, source_id: str) -> str:
    """Return where each staged batch's part of the report waits (outside the prefix its fragments are joined from)."""
    return f"{run_id}/~batch/{source_id}/"


def summary_key(run_id: str, source_id: str, number: int) -> str:
    return f"{summary_prefix(run_id, source_id)}{number:06d}"


def value_key(run_id: str, area: str, key: str) -> str:
    """Return the staging key of a value's whole target text."""
    return f"{run_id}/values/{area}/{key}"


def value_target(staging_key: str) -> tuple[str, str]:
    """Return the (area, key) a value staging key names."""
    area, key = staging_key.split("/values/", 1)[1].split("/", 1)
    return area, key


def report_key(run_id: str) -> str:
    return f"{run_id}/~report"


def quarantine_key(run_id: str, source_id: str, index: int | None) -> str:
    return f"{run_id}/{source_id}/" + ("collection" if index is None else f"{index:08d}")


def history_key(finished: float, run_id: str) -> str:
    return f"{int(finished * 1000):015d}-{run_id}"


def run_of(key: str) -> str:
    """Return the run id a staging or quarantine key belongs to."""
    return key.split("/", 1)[0]


# ---------------------------------------------------------------------- the journal


@dataclass
class JournalRecord:
    """The journal as stored: what a reload needs to finish or undo a run."""

    run_id: str
    phase: str
    started_at: str
    started_ms: int
    plan: dict[str, Any]
    options: dict[str, Any]
    fingerprint: str | None = None
    backup_id: str | None = None
    cursor: dict[str, int] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    processed: int = 0
    total: int = 0
    targets: list[dict[str, Any]] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    displaced: list[tuple[str, str, str]] = field(default_factory=list)
    # phase "complete" only
    history_key: str | None = None
    entry: dict[str, Any] | None = None
    dual: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": JOURNAL_FORMAT,
            "runId": self.run_id,
            "phase": self.phase,
            "startedAt": self.started_at,
            "startedAtMs": self.started_ms,
            "fromVersion": self.plan.get("from_version"),
            "plan": self.plan,
            "fingerprint": self.fingerprint,
            "backupId": self.backup_id,
            "options": self.options,
            "cursor": self.cursor,
            "sources": self.sources,
            "stats": {"processed": self.processed, "total": self.total},
        }
        if self.phase in ("switch", "rollback"):
            data["targets"] = self.targets
            data["remove"] = list(self.remove)
        if self.displaced:
            data["displaced"] = [list(item) for item in self.displaced]
        if self.history_key is not None:
            data.update({"historyKey": self.history_key, "entry": self.entry, "dual": self.dual})
        return data

    def text(self) -> str:
        return jsonstream.dumps(self.to_dict())

    @classmethod
    def parse(cls, text: str) -> JournalRecord:
        """Return the journal stored as ``text``; raise UnusableJournal when it cannot drive a resume."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != JOURNAL_FORMAT:
                raise UnusableJournal("unknown journal format")
            options = data["options"]
            displaced = [(str(i[0]), str(i[1]), str(i[2])) for i in data.get("displaced") or [] if len(i) == 3]
            stats = data.get("stats") or {}
            return cls(
                run_id=data["runId"],
                phase=data["phase"],
                started_at=data["startedAt"],
                started_ms=int(data["startedAtMs"]),
                plan=dict(data["plan"]),
                options={"batchSize": options["batchSize"], "batchDelayMs": options["batchDelayMs"]},
                fingerprint=data.get("fingerprint"),
                backup_id=data.get("backupId"),
                cursor={str(k): int(v) for k, v in (data.get("cursor") or {}).items()},
                sources=list(data.get("sources") or []),
                processed=int(stats.get("processed") or 0),
                total=int(stats.get("total") or 0),
                targets=list(data.get("targets") or []),
                remove=list(data.get("remove") or []),
                displaced=displaced,
                history_key=None if data.get("historyKey") is None else str(data["historyKey"]),
                entry=data.get("entry"),
                dual=data.get("dual"),
            )
        except UnusableJournal:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UnusableJournal(str(exc)) from exc


def journal_op(record: JournalRecord) -> Put:
    return Put(JOURNAL_STORE, JOURNAL_KEY, record.text())


def drop_journal_op() -> Delete:
    return Delete(JOURNAL_STORE, JOURNAL_KEY)


def parse_any(key: str, text: str) -> dict[str, Any]:
    """Return a migration or restore journal as a dict, ``{}`` when unreadable (it still means a run is unfinished)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return {**(data if isinstance(data, dict) else {}), "journalKey": key}


# ---------------------------------------------------------------------- the run's own writes


def cleanup_ops(run_id: str, history: str, entry: dict[str, Any], dual: dict[str, Any]) -> list[Op]:
    """Return the writes that end a verified run: its history entry, the dual-read period, no staging or journal."""
    return [
        Put(HISTORY_STORE, history, jsonstream.dumps(entry)),
        Put(SETTINGS_STORE, DUAL_READ_KEY, jsonstream.dumps(dual)),
        DeletePrefix(STAGING_STORE, run_id + "/"),
        drop_journal_op(),
    ]


def failure_ops(run_id: str, history: str, entry: dict[str, Any]) -> list[Op]:
    """Return the writes that end a failed run: its history entry, no staging, quarantine or journal."""
    return [Put(HISTORY_STORE, history, jsonstream.dumps(entry)), *discard_ops(run_id)]


def discard_ops(run_id: str) -> list[Op]:
    """Return the writes that forget a run: its staging, its quarantine and the journal."""
    return [
        DeletePrefix(STAGING_STORE, run_id + "/"),
        DeletePrefix(QUARANTINE_STORE, run_id + "/"),
        drop_journal_op(),
    ]


async def read_journal(storage: Any) -> str | None:
    """Return the migration journal's text, or None when no run is unfinished."""
    return (await storage.own_get(JOURNAL_STORE, [JOURNAL_KEY])).get(JOURNAL_KEY)


async def read_any_journal(storage: Any) -> dict[str, Any] | None:
    """Return the running or interrupted migration/restore journal (with its ``journalKey``), or None."""
    stored = await storage.own_get(JOURNAL_STORE, JOURNAL_KEYS)
    for key in JOURNAL_KEYS:
        text = stored.get(key)
        if text is not None:
            return parse_any(key, text)
    return None


async def read_staged(storage: Any, key: str) -> str | None:
    return (await storage.own_get(STAGING_STORE, [key])).get(key)


async def scan_staged(storage: Any, prefix: str) -> list[tuple[str, str]]:
    return list(await storage.own_scan(STAGING_STORE, prefix))


async def staged_run_ids(storage: Any) -> tuple[list[str], list[str]]:
    """Return the run ids with staging, and those of them whose switch began (their report is staged)."""
    staged = await storage.own_keys(STAGING_STORE)
    run_ids = sorted({run_of(key) for key in staged})
    return run_ids, [r for r in run_ids if report_key(r) in staged]


async def read_history(storage: Any) -> list[dict[str, Any]]:
    """Return every history entry, newest first."""
    entries = []
    for key, text in reversed(await storage.own_scan(HISTORY_STORE)):
        try:
            entry = json.loads(text)
        except ValueError:
            _log.warning("history entry %s is not JSON; skipped", key)
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


async def read_quarantine(storage: Any, run_id: str | None = None) -> list[dict[str, Any]]:
    """Return the quarantined records (of ``run_id``, or of every run), each with its store key and run."""
    prefix = "" if run_id is None else run_id + "/"
    found = []
    for key, text in await storage.own_scan(QUARANTINE_STORE, prefix):
        try:
            entry = json.loads(text)
        except ValueError:
            entry = {"raw": text}
        found.append({**entry, "key": key, "runId": run_of(key)})
    return found


# ---------------------------------------------------------------------- settings: dual read


def load_setting(text: str | None) -> dict[str, Any] | None:
    """Return a stored dual-read setting, None when missing or unreadable."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        _log.warning("unreadable dual-read setting %r ignored", text[:80])
        return None
    return value if isinstance(value, dict) else None


def active(setting: dict[str, Any] | None, now_ms: float, *, enabled: bool | None = None) -> bool:
    """Return whether a dual-read setting is on at ``now_ms``: enabled, with an ``until`` still ahead.

    A setting without an end time would never expire: it counts as expired.
    """
    if setting is None:
        return False
    wanted = setting.get("enabled") is True if enabled is None else enabled
    until = setting.get("until")
    if not isinstance(until, (int, float)) or isinstance(until, bool):
        return False
    return wanted and now_ms < until


async def read_dual_read(storage: Any) -> tuple[str | None, str | None]:
    """Return the stored texts of the run's dual-read period and of the user's dual-read mode."""
    stored = await storage.own_get(SETTINGS_STORE, [DUAL_READ_KEY, DUAL_READ_MODE_KEY])
    return stored.get(DUAL_READ_KEY), stored.get(DUAL_READ_MODE_KEY)


def dual_read_mode_op(setting: dict[str, Any]) -> Put:
    return Put(SETTINGS_STORE, DUAL_READ_MODE_KEY, jsonstream.dumps(setting))


def drop_dual_read_op() -> Delete:
    return Delete(SETTINGS_STORE, DUAL_READ_KEY)


# ---------------------------------------------------------------------- localStorage: the loader's flag


async def set_pending(storage: Any, run_id: str, best_effort: Any) -> bool:
    """Tell the loader a run is unfinished; return whether the flag was written (``best_effort`` runs the write)."""
    ok, _ = await best_effort(storage.local_write, {PENDING_FLAG: run_id})
    return bool(ok)


async def clear_pending(storage: Any, best_effort: Any) -> None:
    """Remove the loader's flag when it is there (a leftover is removed by the next recover())."""
    ok, present = await best_effort(storage.local_get, [PENDING_FLAG])
    if ok and present.get(PENDING_FLAG) is not None:
        removed, _ = await best_effort(storage.local_write, {}, [PENDING_FLAG])
        if not removed:
            _log.warning("could not remove %s; the next load removes it", PENDING_FLAG)
