"""The migration plan: from which version, through which steps, over which keys."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from app.core import keys, revisions
from app.core.errors import PlanError
from app.core.versions import detect_store_version, recorded_version, version_tuple

_log = logging.getLogger(__name__)


@dataclass
class Plan:
    """What a migration run will do, as plain data, computed before any write."""

    from_version: str
    to_version: str
    steps: list[str] = field(default_factory=list)
    # {kind, source_key, location: "local" | "app", authoritative}; AirPromptsDB wins when both hold a kind.
    collections: list[dict[str, Any]] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    legacy_keys: list[str] = field(default_factory=list)
    recorded_version: str | None = None
    needed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return this plan as JSON-compatible data."""
        return asdict(self)


def _check_version(version: str) -> None:
    target = revisions.target()
    if version in revisions.versions():
        return
    numbers = version_tuple(version)
    newest = version_tuple(target)
    if numbers is not None and newest is not None and numbers > newest:
        raise PlanError(
            f"the store is at {version}, newer than {target}: refusing to downgrade",
            version=version,
            target=target,
        )
    raise PlanError(f"no migration path from version {version!r} to {target}", version=version, target=target)


def make_plan(local: Mapping[str, str | None], app_keys: Iterable[str]) -> Plan:
    """Return the plan for the localStorage snapshot ``local`` and the AirPromptsDB/storage keys ``app_keys``.

    Raise PlanError when the store's version is unknown or newer than the target.
    """
    app_names = set(app_keys)
    from_version = detect_store_version(local, app_names)
    _check_version(from_version)
    recorded = recorded_version(local)
    legacy_keys = sorted(key for key, value in local.items() if value is not None and keys.legacy_target(key))
    moved_to = {keys.legacy_target(key) for key in legacy_keys}

    def in_local(key: str) -> bool:
        return local.get(key) is not None or key in moved_to

    collections: list[dict[str, Any]] = []
    for kind in keys.COLLECTIONS:
        key = keys.collection_key(kind)
        in_app = kind in app_names
        if in_local(key):
            collections.append({"kind": kind, "source_key": key, "location": "local", "authoritative": not in_app})
        if in_app:
            collections.append(
                {"kind": kind, "source_key": keys.app_source(kind), "location": "app", "authoritative": True}
            )
    values = [keys.PREFIX + name for name in keys.VALUES if in_local(keys.PREFIX + name)]
    values += [keys.app_source(name) for name in keys.VALUES if name in app_names]
    target = revisions.target()
    steps = revisions.step_names(from_version)
    # A store holding data without recording the target version still needs the run that records it.
    has_data = bool(collections or values or legacy_keys)
    needed = bool(steps) or (recorded != target and has_data)
    plan = Plan(
        from_version=from_version,
        to_version=target,
        steps=steps,
        collections=collections,
        values=values,
        legacy_keys=legacy_keys,
        recorded_version=recorded,
        needed=needed,
    )
    _log.info("plan %s -> %s, steps %s, needed %s", from_version, target, steps, needed)
    return plan
