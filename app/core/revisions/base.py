"""What a schema version module provides: the Revision record and the context of one record's upgrade."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

Note = tuple[str, str]


@dataclass
class RecordContext:
    """What an upgrade of one record may need, and where it leaves its repair notes."""

    kind: str  # one of keys.COLLECTIONS
    now: str  # ISO 8601 start time of the run: the last resort of a missing timestamp
    snake: bool = True  # whether the stored record has snake_case fields (worked out once, for detection)
    notes: list[Note] = field(default_factory=list)


def _no_value_upgrade(name: str, value: Any, notes: list[Note]) -> Any:
    return value


@dataclass(frozen=True)
class Revision:
    """One schema version: its place in the chain, its shape, and the upgrade into it.

    ``recognise(kind, record, snake, fallback)`` says whether ``record`` has this
    version's shape (``snake``: whether it has snake_case fields; ``fallback``: the
    version detected for the whole store, for records with no marks of their own).
    ``upgrade(kind, record, ctx)`` turns a record of the previous version's shape
    (or already of this one: it must be idempotent) into this version's shape; it
    owns ``record`` (a fresh copy) and returns it or a new dict, raising
    steps.RecordError for a record it cannot repair. ``upgrade_value(name, value,
    notes)`` does the same for a non-collection value by short name.
    ``models`` maps each collection to the pydantic model of a record at this
    version; the target's models validate every record a run writes.
    """

    version: str
    previous: str | None
    recognise: Callable[[str, Mapping[str, Any], bool, str | None], bool]
    upgrade: Callable[[str, dict[str, Any], RecordContext], dict[str, Any]] | None = None
    upgrade_value: Callable[[str, Any, list[Note]], Any] = _no_value_upgrade
    models: Mapping[str, type[BaseModel]] = field(default_factory=dict)
    summary: str = ""
