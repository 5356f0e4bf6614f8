"""Upgrade collections batch by batch, and single records and values, to 3.0.0."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from app.core import issues, keys, revisions, steps
from app.core.issues import Issue, Quarantined
from app.core.validator import References, Validator

_log = logging.getLogger(__name__)


@dataclass
class Context:
    """What the transformer of one collection needs to know about it."""

    kind: str  # one of keys.COLLECTIONS
    source_key: str  # e.g. "airprompts_templates" or "AirPromptsDB:templates"
    store_version: str  # version detected for the whole store (fallback for ambiguous records)
    now: str  # ISO 8601 start time of the migration run
    # Where the records were read from when that is not source_key: a legacy key for all of
    # them, or one key per record of a merged collection (see LegacyPlan.origins).
    origins: str | list[str] | None = None

    def origin(self, index: int) -> tuple[str, str | None]:
        """Return record ``index``'s sourceKey, and "legacy" when it was read from a legacy key."""
        origins = self.origins
        if origins is None:
            return self.source_key, None
        source = origins if isinstance(origins, str) else origins[index] if index < len(origins) else self.source_key
        return source, "legacy" if keys.legacy_target(source) is not None else None


@dataclass
class BatchResult:
    """The outcome of one batch.

    ``repairs`` lists every issue of the batch: repairs and warnings about kept
    records, and one issue per quarantined record (code duplicate-id,
    not-an-object or invalid-type) so a report can list them all in one place.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    repairs: list[Issue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class CollectionTransformer:
    """Upgrade one collection to 3.0.0, batch after batch, tracking ids across batches."""

    def __init__(self, ctx: Context, validator: Validator, references: References) -> None:
        if ctx.kind not in keys.COLLECTIONS:
            raise ValueError(f"unknown collection {ctx.kind!r}")
        self.ctx = ctx
        self.validator = validator
        self.references = references
        self.seen: set[str] = set()

    def run(self, batch: list[Any], start_index: int) -> BatchResult:
        """Return the upgraded, validated records of ``batch``; bad records are quarantined, never raised."""
        ctx = self.ctx
        result = BatchResult()
        counts = result.counts
        for offset, original in enumerate(batch):
            index = start_index + offset
            source_key, version = ctx.origin(index)
            try:
                record, notes, version = revisions.upgrade_record(
                    ctx.kind, original, source_key=source_key, now=ctx.now, version=version, fallback=ctx.store_version
                )
            except steps.RecordError as exc:
                self._quarantine(result, index, original, None, [f"{exc.code}: {exc.message}"])
                continue
            counts[version] = counts.get(version, 0) + 1
            record_id = record["id"] if isinstance(record["id"], str) else None
            errors = self.validator.validate(ctx.kind, record)
            if errors:
                self._quarantine(result, index, original, record_id, errors)
                continue
            if record_id in self.seen:
                error = f"{issues.DUPLICATE_ID}: id {record_id!r} already belongs to an earlier record"
                self._quarantine(result, index, original, record_id, [error])
                continue
            self.seen.add(record_id)
            self.references.add(ctx.kind, record, index)
            result.records.append(record)
            for code, message in notes:
                result.repairs.append(Issue(ctx.kind, index, record_id, code, message))
        return result

    def _quarantine(
        self, result: BatchResult, index: int, original: Any, record_id: str | None, errors: list[str]
    ) -> None:
        entry = Quarantined(self.ctx.kind, index, self.ctx.origin(index)[0], original, errors)
        result.quarantined.append(entry)
        result.repairs.append(Issue(self.ctx.kind, index, record_id, entry.code, "; ".join(errors)))
        _log.info("quarantined %s[%d]: %s", self.ctx.source_key, index, errors[0])


def upgrade_record(kind: str, record: dict[str, Any], source_key: str, now: str) -> tuple[dict[str, Any], list[Issue]]:
    """Return one record upgraded to the target with its repairs; raise steps.RecordError when it cannot be."""
    upgraded, notes, _version = revisions.upgrade_record(kind, record, source_key=source_key, now=now)
    record_id = upgraded["id"] if isinstance(upgraded["id"], str) else None
    return upgraded, [Issue(kind, -1, record_id, code, message) for code, message in notes]


def upgrade_value(name: str, value: Any, store_version: str) -> tuple[Any, list[Issue]]:
    """Return a non-collection managed value upgraded to the target with its issues.

    ``name`` is the short name or the key (``ui_preferences`` or
    ``airprompts_ui_preferences``). Unknown shapes are kept as they are, with a
    warning. Every upgrade is idempotent, so ``store_version`` only labels.
    """
    short = keys.short_name(name)
    if short in keys.VALUES:
        new, notes = revisions.upgrade_value(short, value)
    else:
        new, notes = value, [(issues.UNKNOWN_SHAPE, f"{name} is not a managed value, kept as it is")]
    _log.debug("upgraded %s from %s", name, store_version)
    return new, [Issue(short, -1, None, code, message) for code, message in notes]
