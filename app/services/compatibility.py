"""The compatibility layer: the app's data in the 3.0.0 shape, whatever version is stored.

Reading (``get``) transforms on read with the core's own steps
(``CollectionTransformer``, ``upgrade_value``, through ``app.core.upgrade``), exactly
as the migration would, and never writes. Where a name lives (``app.services.lookup``):

1. the ``AirPromptsDB``/``storage`` record ``<name>`` (authoritative when present);
2. else the localStorage key ``airprompts_<name>``;
3. else nothing; the legacy keys (``data.md`` section 1) count while the
   migration is pending, merged as ``app.core.legacy`` merges them, and, after
   the migration, only while dual-read mode is on and the new key is missing.
   Once the store records 3.0.0, legacy keys are read-only leftovers; reading
   them then would bring back data the user deleted.

Missing arrays (``templates`` ... ``folders``, ``tags``, ``favorites``,
``recent_items``) read as ``[]``; missing ``ui_preferences``, ``user_settings``
and ``theme_preference`` read as ``None``. A record that cannot be upgraded is
left out of the answer and logged at WARN; nothing is quarantined or written.

Writing (``save``) upgrades and validates the whole value first, then writes
the 3.0.0 shape where the name lives (``AirPromptsDB`` when it holds that record,
else localStorage) in one all-or-nothing write:

* While a migration (own store ``journal`` key ``"current"``) or a restore
  (key ``"restore"``) is running or interrupted, or another caller holds the
  migration lock, the save waits (polling) and raises ``MigrationInProgress``
  after ``wait_timeout_s``. It writes while holding the migration lock itself,
  so a migration cannot start between the check and the write and overwrite
  the save at its switch. Use a lock object of its own (same lock name), not
  the migration service's instance.
* Before the migration (stored version below 3.0.0) the 3.0.0 records go to the
  live key all the same: every step is idempotent and detects each record's
  shape, so the later migration keeps them as they are.
* Dual-read mode needs nothing extra on write: tabs still running the 2.0.0 app
  read the same ``airprompts_*`` keys, and a 3.0.0 record carries every 2.0.0
  field (camelCase, ``folderId``, ``folderIds``, ``tags``); legacy keys are never
  touched, so a pre-1.0.0 reader still finds what it had.

Persisted settings (own store ``settings``): ``"dualReadMode"`` =
``{"enabled", "until", "setAt"}`` (epoch ms) written by ``set_dual_read_mode``;
``"dualRead"`` = ``{"until", "backupId", "runId"}`` written by the migration
service after a successful run. An explicit ``dualReadMode`` wins; either one
expires by itself at ``until``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any, Callable, Iterator

from app.core import jsonstream, keys, revisions, timestamps
from app.core.errors import InvalidInput, MigrationInProgress
from app.core.planner import make_plan
from app.core.transform import upgrade_value
from app.core.upgrade import ARRAY_NAMES, is_current, parse, prepare, upgrade_collection
from app.core.validator import Validator
from app.services import journal as recorder
from app.services.locking import Lock, take_lock
from app.services.logger import MigrationLogger
from app.services.lookup import Found, Snapshot, find, read_snapshot
from app.storage.base import Storage

_log = logging.getLogger(__name__)

NAMES = keys.APP_DB_NAMES
DEFAULT_DUAL_READ_MS = 7 * 24 * 3600 * 1000  # data.md: the dual-read period defaults to 7 days


class CompatibilityLayer:
    """Read and write the app's data in the 3.0.0 shape, before, during and after the migration."""

    def __init__(
        self,
        storage: Storage,
        lock: Lock,
        logger: MigrationLogger,
        *,
        clock: Callable[[], float] = time.time,
        wait_poll_s: float = 0.25,
        wait_timeout_s: float = 300,
    ) -> None:
        self.storage = storage
        self.lock = lock
        self.logger = logger
        self.clock = clock
        self.wait_poll_s = wait_poll_s
        self.wait_timeout_s = wait_timeout_s
        self.validator = Validator()
        self.reads = 0
        self.saves = 0
        self.transformed_on_read = 0
        self.skipped_on_read = 0

    def __repr__(self) -> str:
        return f"<CompatibilityLayer reads={self.reads} saves={self.saves}>"

    # ------------------------------------------------------------------ helpers
    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _now_iso(self) -> str:
        return timestamps.from_epoch_ms(self._now_ms())

    @staticmethod
    def _name(name: Any) -> str:
        if not isinstance(name, str):
            raise InvalidInput(f"name must be a string, got {type(name).__name__}", name=name)
        short = keys.short_name(name.strip())
        if short not in NAMES:
            raise InvalidInput(f"unknown data name {name!r}; use one of {', '.join(NAMES)}", name=name)
        return short

    async def _journal(self) -> dict[str, Any] | None:
        """Return the running or interrupted migration/restore journal, None when there is none."""
        # An unreadable journal still means a run that has not finished: it reads as {}.
        return await recorder.read_any_journal(self.storage)

    @staticmethod
    def _unsafe_to_read(journal: dict[str, Any] | None) -> bool:
        if journal is None:
            return False
        return journal["journalKey"] == recorder.RESTORE_KEY or journal.get("phase") == "switch"

    @staticmethod
    def _phase(journal: dict[str, Any] | None) -> str | None:
        if journal is None:
            return None
        return "restore" if journal["journalKey"] == recorder.RESTORE_KEY else str(journal.get("phase"))

    def _timeout(self, action: str, journal: dict[str, Any] | None, waited: float) -> MigrationInProgress:
        phase = self._phase(journal)
        where = f" (phase {phase})" if phase else " (another tab holds the migration lock)"
        return MigrationInProgress(
            f"Cannot {action} while a migration or restore is running{where}; waited {waited:.0f} s. "
            "Try again when it has finished; an interrupted run must be recovered first.",
            phase=phase,
            waited_s=waited,
        )

    async def _snapshot(self, name: str) -> Snapshot:
        return await read_snapshot(self.storage)

    async def _dual_read_on(self) -> bool:
        return bool((await self.get_dual_read_mode())["enabled"])

    async def _find(self, name: str, snap: Snapshot, *, legacy: bool) -> Found:
        """Return where ``name`` lives and its stored value (not yet upgraded)."""
        return await find(self.storage, self.logger, name, snap, legacy=legacy, dual_read_on=self._dual_read_on)

    # ------------------------------------------------------------------ reading
    async def get(self, name: str) -> Any:
        """Return the 3.0.0 value of ``name``, transformed on read, without writing anything."""
        short = self._name(name)
        found, snap = await self._consistent_read(short, "read")
        self.reads += 1
        if found.location is None:
            return [] if short in ARRAY_NAMES else None
        if short in keys.COLLECTIONS:
            if not isinstance(found.value, list):
                self.logger.warn(
                    f"{found.source_key} is not an array; read as empty",
                    name=short,
                    source=found.source_key,
                    type=type(found.value).__name__,
                )
                return []
            records, quarantined, _, changed = upgrade_collection(
                short,
                found.value,
                found.source_key or keys.collection_key(short),
                snap.store_version,
                self._now_iso(),
                self.validator,
                found.origins,
            )
            self.transformed_on_read += changed
            if quarantined:
                self.skipped_on_read += len(quarantined)
                self.logger.warn(
                    f"{len(quarantined)} record(s) of {short} cannot be upgraded and were left out of the answer",
                    name=short,
                    source=found.source_key,
                    records=[{"index": q.index, "errors": q.errors} for q in quarantined],
                )
            return records
        value, _issues = upgrade_value(short, found.value, snap.store_version)
        if value != found.value:
            self.transformed_on_read += 1
        return value

    async def get_stored(self, name: str) -> dict[str, Any]:
        """Return ``name`` as it is stored, not upgraded, and where it was read from; writes nothing."""
        short = self._name(name)
        found, _snap = await self._consistent_read(short, "read")
        self.reads += 1
        return {
            "name": short,
            "location": found.location,
            "sourceKey": found.source_key,
            "sources": list(found.sources),
            "value": found.value,
        }

    async def get_stored_keys(self) -> dict[str, list[str]]:
        """Return the app's keys stored now: its localStorage keys and its AirPromptsDB record names."""
        local = sorted(k for k in await self.storage.local_keys() if keys.is_app_key(k))
        return {"local": local, "app": sorted(await self.storage.app_keys())}

    async def _consistent_read(self, name: str, action: str) -> tuple[Found, Snapshot]:
        """Read ``name`` outside any switch or restore: the journal's phase is the same before and after."""
        deadline = time.monotonic() + self.wait_timeout_s
        start = time.monotonic()
        while True:
            before = await self._journal()
            if not self._unsafe_to_read(before):
                snap = await self._snapshot(name)
                found = await self._find(name, snap, legacy=True)
                after = await self._journal()
                if not self._unsafe_to_read(after) and self._phase(before) == self._phase(after):
                    return found, snap
                before = after
            if time.monotonic() >= deadline:
                raise self._timeout(action, before, time.monotonic() - start)
            await asyncio.sleep(self.wait_poll_s)

    async def is_migrated(self, name: str) -> bool:
        """Return whether ``name`` is stored in the 3.0.0 shape under a recorded 3.0.0 store."""
        short = self._name(name)
        found, snap = await self._consistent_read(short, "read")
        if make_plan(snap.local, snap.app_names).needed:
            return False
        return self._shape_is_current(short, found, snap)

    @staticmethod
    def _shape_is_current(name: str, found: Found, snap: Snapshot) -> bool:
        return is_current(name, found.location, found.value, snap.store_version)

    async def get_migration_stats(self) -> dict[str, Any]:
        """Return the stored and target versions, where each name lives and whether it is migrated, and counters."""
        journal = await self._journal()
        snap = await self._snapshot("templates")
        try:
            needed: bool | None = make_plan(snap.local, snap.app_names).needed
        except Exception as exc:  # an unknown or newer version: report it, do not fail the stats
            needed = None
            _log.info("no plan for stats: %s", exc)
        collections: dict[str, Any] = {}
        for name in NAMES:
            found = await self._find(name, snap, legacy=True)
            if isinstance(found.value, list):
                count = len(found.value)
            else:
                count = 0 if found.location is None else 1
            collections[name] = {
                "count": count,
                "migrated": needed is False and self._shape_is_current(name, found, snap),
                "location": found.location,
                "sourceKey": found.source_key,
            }
        return {
            "storedVersion": snap.store_version,
            "recordedVersion": snap.recorded,
            "targetVersion": revisions.target(),
            "migrationNeeded": needed,
            "migrationRunning": journal is not None or await self.lock.held_elsewhere(),
            "migrationPhase": self._phase(journal),
            "collections": collections,
            "dualRead": await self.get_dual_read_mode(),
            "transformedOnRead": self.transformed_on_read,
            "skippedOnRead": self.skipped_on_read,
            "reads": self.reads,
            "saves": self.saves,
        }

    # ------------------------------------------------------------------ writing
    def _prepare(self, name: str, value: Any, source_key: str) -> tuple[Any, int]:
        """Return the 3.0.0 value to store and its record count; raise before any write when it is not valid."""
        return prepare(name, value, source_key, self._now_iso(), self.validator)

    async def save(self, name: str, value: Any) -> dict[str, Any]:
        """Validate ``value`` and write its 3.0.0 shape where ``name`` lives; wait out a running migration first."""
        short = self._name(name)
        # Validate against where it would go now: bad input fails at once, not after a wait.
        probe_key = keys.app_source(short) if short in set(await self.storage.app_keys()) else keys.PREFIX + short
        self._prepare(short, value, probe_key)
        await self._acquire("save")
        try:
            app_names = set(await self.storage.app_keys())
            in_app = short in app_names
            source_key = keys.app_source(short) if in_app else keys.PREFIX + short
            prepared, count = self._prepare(short, value, source_key)
            if in_app:
                text = (await self.storage.app_get([short])).get(short)
                record = parse(text) if text is not None else None
                record = dict(record) if isinstance(record, dict) else {}
                record.update({"key": short, "value": prepared, "timestamp": self._now_ms()})
                await self.storage.app_write({short: jsonstream.dumps(record)})
                location = "app"
            else:
                await self.storage.local_write({keys.PREFIX + short: jsonstream.dumps(prepared)})
                location = "local"
        finally:
            self.lock.release()
        self.saves += 1
        self.logger.info(f"saved {count} {short} to {source_key}", name=short, location=location, count=count)
        return {"saved": count, "location": location, "key": source_key}

    async def _acquire(self, action: str) -> None:
        """Hold the migration lock with no migration or restore journal present; wait, then raise MigrationInProgress."""
        start = time.monotonic()
        deadline = start + self.wait_timeout_s
        seen: dict[str, Any] = {"journal": None}

        async def free() -> bool:
            seen["journal"] = await self._journal()
            return seen["journal"] is None

        def polls() -> Iterator[float]:
            logged = False
            while True:
                if not logged:
                    logged = True
                    self.logger.info(f"{action} waits for the running migration to finish", phase=self._phase(seen["journal"]))
                if time.monotonic() >= deadline:
                    return
                yield self.wait_poll_s

        if not await take_lock(self.lock, asyncio.sleep, polls(), free=free):
            raise self._timeout(action, seen["journal"], time.monotonic() - start)

    # ------------------------------------------------------------------ dual read
    async def set_dual_read_mode(self, enabled: bool, duration_ms: float | None = None) -> dict[str, Any]:
        """Turn dual-read mode on for ``duration_ms`` (default 7 days) or off; return the new mode."""
        if not isinstance(enabled, bool):
            raise InvalidInput(f"enabled must be true or false, got {enabled!r}", enabled=enabled)
        now = self._now_ms()
        until: int | None = None
        if enabled:
            if duration_ms is None:
                duration_ms = DEFAULT_DUAL_READ_MS
            if (
                isinstance(duration_ms, bool)
                or not isinstance(duration_ms, (int, float))
                or not math.isfinite(duration_ms)
                or duration_ms <= 0
            ):
                raise InvalidInput(
                    f"durationMs must be a positive number of milliseconds, got {duration_ms!r}",
                    duration_ms=duration_ms,
                )
            until = now + int(duration_ms)
        setting = {"enabled": enabled, "until": until, "setAt": now}
        await self.storage.own_write([recorder.dual_read_mode_op(setting)])
        self.logger.info(f"dual-read mode {'on until ' + str(until) if enabled else 'off'}", until=until)
        return await self.get_dual_read_mode()

    async def get_dual_read_mode(self) -> dict[str, Any]:
        """Return ``{enabled, until, remainingMs, source}``; a mode past its ``until`` reads as disabled."""
        after_text, mode_text = await recorder.read_dual_read(self.storage)
        now = self._now_ms()
        explicit = recorder.load_setting(mode_text)
        after_run = recorder.load_setting(after_text)
        extra: dict[str, Any] = {}
        if explicit is not None:
            source, setting, wanted = "user", explicit, explicit.get("enabled") is True
        elif after_run is not None:
            source, setting, wanted = "migration", after_run, True
            extra = {"backupId": after_run.get("backupId"), "runId": after_run.get("runId")}
        else:
            return {"enabled": False, "until": None, "remainingMs": 0, "source": None, "expired": False}
        until = setting.get("until")
        if not isinstance(until, (int, float)) or isinstance(until, bool):
            until = None
        enabled = recorder.active(setting, now, enabled=wanted)
        return {
            "enabled": enabled,
            "until": until,
            "remainingMs": max(0, int(until - now)) if enabled and until is not None else 0,
            "source": source,
            "expired": wanted and not enabled,
            **extra,
        }

