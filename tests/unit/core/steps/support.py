"""What the step tests share: the run's time, a source key, and the steps and upgrades as the chain runs them."""

from __future__ import annotations

from app.core import revisions, steps
from app.core.revisions import RecordContext, v2_0_0, v3_0_0
from app.core.revisions import upgrade_record as upgrade

NOW = "2025-06-01T12:00:00.000Z"
KEY = "airprompts_templates"
TS = "2024-03-01T10:00:00.000Z"


# The operations change the dict they are given (the caller owns a copy): these give them one.
def fill_timestamps(record, now):
    return steps.fill_timestamps(dict(record), now)


def add_metadata(record, migrated_from, source_key):
    return steps.add_metadata(dict(record), migrated_from, source_key, "3.0.0")


def forwards_1_to_2(kind, record):
    """The registered 1.0.0 -> 2.0.0 upgrade, as the chain runs it."""
    return v2_0_0.REVISION.upgrade(kind, dict(record), RecordContext(kind, NOW))


def forwards_2_to_3(kind, record, *, migrated_from, source_key, now):
    """The registered 2.0.0 -> 3.0.0 upgrade, then the target's metadata stamp."""
    ctx = RecordContext(kind, now)
    rec = v3_0_0.REVISION.upgrade(kind, dict(record), ctx)
    return steps.add_metadata(rec, migrated_from, source_key, "3.0.0", ctx.notes)


def upgrade_value(name, value):
    return revisions.upgrade_value(name, value)


def up(kind, record, source_key=KEY, **kw):
    rec, notes, version = upgrade(kind, record, source_key=source_key, now=NOW, **kw)
    return rec, notes, version
