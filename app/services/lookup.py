"""Where one name's data lives, and its stored value: the compatibility layer's lookup.

1. the ``AirPromptsDB``/``storage`` record ``<name>`` (authoritative when present);
2. else the localStorage key ``airprompts_<name>``;
3. else nothing; the legacy keys count while the migration is pending, merged as
   ``app.core.legacy`` merges them, and, after the migration, only while dual-read
   mode is on and the new key is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from app.core import jsonstream, keys, revisions
from app.core.legacy import plan_legacy
from app.core.upgrade import parse
from app.core.versions import detect_store_version, recorded_version
from app.services.logger import MigrationLogger
from app.storage.base import Storage


@dataclass
class Found:
    """Where a name's data was found, and its parsed value."""

    location: str | None  # "app" | "local" | "legacy" | None (missing)
    source_key: str | None
    value: Any = None
    sources: list[str] = field(default_factory=list)
    app_record: dict[str, Any] | None = None
    origins: str | list[str] | None = None  # legacy keys the records came from (LegacyPlan.origins)


@dataclass
class Snapshot:
    """One consistent read of what a name's answer depends on."""

    local: dict[str, str | None]
    app_names: set[str]
    store_version: str
    recorded: str | None


async def read_snapshot(storage: Storage) -> Snapshot:
    """Return the managed, version and legacy localStorage values and the AirPromptsDB record names."""
    local_keys = await storage.local_keys()
    wanted = [
        k for k in local_keys if k in keys.MANAGED_KEYS or k == keys.DATA_VERSION_KEY or keys.legacy_target(k) is not None
    ]
    local = await storage.local_get(wanted)
    app_names = set(await storage.app_keys())
    return Snapshot(local, app_names, detect_store_version(local, app_names), recorded_version(local))


async def find(
    storage: Storage,
    logger: MigrationLogger,
    name: str,
    snap: Snapshot,
    *,
    legacy: bool,
    dual_read_on: Callable[[], Awaitable[bool]],
) -> Found:
    """Return where ``name`` lives and its stored value (not yet upgraded)."""
    if name in snap.app_names:
        text = (await storage.app_get([name])).get(name)
        try:
            record = jsonstream.loads(text) if text is not None else None
        except ValueError:
            record = None
            logger.warn(f"AirPromptsDB record {name!r} is not JSON; read from localStorage instead", name=name)
        if record is not None:
            value = record.get("value") if isinstance(record, dict) else None
            if isinstance(value, str) and name != "theme_preference":
                # Some app versions store the value as JSON text inside the record.
                value = parse(value)
            return Found("app", keys.app_source(name), value, [keys.app_source(name)], record)
    key = keys.PREFIX + name
    pending = snap.recorded != revisions.target()
    if legacy and pending:
        sources = [k for k, v in snap.local.items() if v is not None and keys.legacy_target(k) == key]
        if sources:
            # The migration's own legacy step, for this target only: merged by id, newer updatedAt wins.
            subset = {k: snap.local.get(k) for k in (*sources, key)}
            legacy_plan = plan_legacy(subset)
            text = legacy_plan.values.get(key, snap.local.get(key))
            if text is not None:
                location = "legacy" if snap.local.get(key) is None else "local"
                return Found(location, key, parse(text), sources, origins=legacy_plan.origins.get(key))
    text = snap.local.get(key)
    if text is not None:
        return Found("local", key, parse(text), [key])
    if legacy and not pending and await dual_read_on():
        sources = [k for k, v in snap.local.items() if v is not None and keys.legacy_target(k) == key]
        if sources:
            subset = {k: snap.local[k] for k in sources}
            legacy_plan = plan_legacy(subset)
            text = legacy_plan.values.get(key)
            if text is not None:
                return Found("legacy", key, parse(text), sources, origins=legacy_plan.origins.get(key))
    return Found(None, None)
