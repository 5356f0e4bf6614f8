"""The schema versions of the app's data, oldest first: one module each, and the chain that runs them.

As in Alembic, where each revision file names its ``revision`` and
``down_revision`` and carries ``upgrade()``, each module here gives its
``version``, the ``previous`` one, how to recognise a record of its shape, its
pydantic models, and the upgrade of a record and of the non-collection values
from the previous shape. ``REGISTRY`` is the explicit, ordered list of them (no
discovery at import); its last entry is the target. Detection, planning, the
run, the dry run and the compatibility layer all go through the functions below,
so they run the same registered upgrades. Adding a version: README, "Adding a
schema version".
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import TypeAdapter

from app.core import ids, issues, models, steps
from app.core.fields import has_snake
from app.core.revisions import legacy, v1_0_0, v2_0_0, v3_0_0
from app.core.revisions.base import Note, RecordContext, Revision

_log = logging.getLogger(__name__)

__all__ = ["REGISTRY", "Note", "RecordContext", "Revision", "detect", "target", "upgrade_record", "upgrade_value"]

REGISTRY: list[Revision] = [legacy.REVISION, v1_0_0.REVISION, v2_0_0.REVISION, v3_0_0.REVISION]


def _check(registry: list[Revision]) -> None:
    """Refuse a registry whose chain is broken: each entry must name the one before it."""
    for before, after in zip(registry, registry[1:], strict=False):
        if after.previous != before.version or after.upgrade is None:
            raise ValueError(f"schema version {after.version} must follow {before.version} and have an upgrade")
    if not registry[-1].models:
        raise ValueError(f"the target version {registry[-1].version} has no record models")


def target() -> str:
    """Return the version every run migrates to: the last registered one."""
    return REGISTRY[-1].version


def target_revision() -> Revision:
    return REGISTRY[-1]


def versions() -> tuple[str, ...]:
    """Return the registered versions, oldest first."""
    return tuple(revision.version for revision in REGISTRY)


def rank(version: str) -> int:
    """Return the position of a registered ``version``; raise ValueError for another one."""
    return versions().index(version)


def step_names(from_version: str | None = None) -> list[str]:
    """Return the names of the steps ("1.0.0->2.0.0") from ``from_version`` (all of them: None) to the target."""
    start = 1 if from_version is None else rank(from_version) + 1
    return [f"{revision.previous}->{revision.version}" for revision in REGISTRY[start:]]


def detect(kind: str, record: Any, fallback: str | None = None) -> str:
    """Return the version of one record from its shape, asking the newest version first.

    ``fallback`` is the version detected for the whole store: a record with no
    marks of its own takes it when that is legacy or 1.0.0 (see each module).
    """
    return _detect(kind, record, has_snake(record, kind), fallback)


def _detect(kind: str, record: Any, snake: bool, fallback: str | None) -> str:
    for revision in reversed(REGISTRY):
        if revision.recognise(kind, record, snake, fallback):
            return revision.version
    return REGISTRY[1].version if snake else target()


def upgrade_record(
    kind: str,
    record: Any,
    *,
    source_key: str,
    now: str,
    version: str | None = None,
    fallback: str | None = None,
) -> tuple[dict[str, Any], list[Note], str]:
    """Return ``record`` upgraded to the target with its notes and its detected source version.

    Raises steps.RecordError for a record no step can repair. Every registered
    upgrade runs on every record: they are idempotent, so one with nothing to do
    costs a few lookups, and a 2.0.0-shaped record with a numeric id is still
    repaired. Last, the record is stamped with the target's metadata.
    """
    original = steps.require_object(record)
    snake = has_snake(original, kind)
    if version is None:
        version = _detect(kind, original, snake, fallback)
    ctx = RecordContext(kind, now, snake)
    rec = dict(original)
    if "id" not in rec or rec["id"] is None or rec["id"] == "":
        rec["id"] = ids.stable_id(original)
        ctx.notes.append((issues.MISSING_ID, f"record had no id, derived {rec['id']} from its content"))
    for revision in REGISTRY[1:]:
        assert revision.upgrade is not None
        rec = revision.upgrade(kind, rec, ctx)
    steps.add_metadata(rec, version, source_key, target(), ctx.notes)
    return rec, ctx.notes, version


def upgrade_value(name: str, value: Any) -> tuple[Any, list[Note]]:
    """Return non-collection value ``name`` (short name) upgraded to the target, with its notes."""
    notes: list[Note] = []
    for revision in REGISTRY[1:]:
        value = revision.upgrade_value(name, value, notes)
    return value, notes


_checkers: dict[int, dict[str, TypeAdapter[Any]]] = {}


def checkers() -> dict[str, TypeAdapter[Any]]:
    """Return kind -> the validator of a target record, built once per target revision."""
    revision = target_revision()
    found = _checkers.get(id(revision))
    if found is None:
        _check(REGISTRY)
        found = _checkers[id(revision)] = models.checkers(dict(revision.models))
    return found


_check(REGISTRY)
