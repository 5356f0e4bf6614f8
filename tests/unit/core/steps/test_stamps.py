"""createdAt and updatedAt, and the metadata stamp."""

from __future__ import annotations

import pytest

from app.core.steps import RecordError
from tests.unit.core.steps.support import (
    KEY,
    NOW,
    add_metadata,
    fill_timestamps,
)


@pytest.mark.parametrize(
    ("record", "created", "updated"),
    [
        ({"createdAt": "2024-01-01T00:00:00Z"}, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ({"updatedAt": "2024-01-02T00:00:00Z"}, "2024-01-02T00:00:00Z", "2024-01-02T00:00:00Z"),
        ({"lastUsed": "2024-01-03T00:00:00.000Z"}, "2024-01-03T00:00:00.000Z", "2024-01-03T00:00:00.000Z"),
        ({"createdAt": "2024-01-01", "updatedAt": "2024-02-01"}, "2024-01-01", "2024-02-01"),
    ],
)
def test_timestamps_fill_from_each_other_then_last_used(record, created, updated):
    rec, notes = fill_timestamps(record, NOW)
    assert (rec["createdAt"], rec["updatedAt"]) == (created, updated)
    assert notes == []


def test_timestamps_fall_back_to_the_migration_start_and_report_it():
    rec, notes = fill_timestamps({"createdAt": None, "lastUsed": "never"}, NOW)
    assert rec["createdAt"] == NOW and rec["updatedAt"] == NOW
    assert [code for code, _ in notes] == ["timestamp-repaired"]
    assert rec["lastUsed"] == "never"


def test_epoch_millisecond_timestamps_become_iso_and_are_reported():
    rec, notes = fill_timestamps({"createdAt": 1709287200000, "updatedAt": "1709287200123"}, NOW)
    assert rec["createdAt"] == "2024-03-01T10:00:00.000Z"
    assert rec["updatedAt"] == "2024-03-01T10:00:00.123Z"
    assert [code for code, _ in notes] == ["timestamp-converted", "timestamp-converted"]
    again, notes2 = fill_timestamps(rec, NOW)
    assert again == rec and notes2 == []


def test_numeric_last_used_fills_without_changing_last_used():
    rec, _ = fill_timestamps({"lastUsed": 0}, NOW)
    assert rec == {"lastUsed": 0, "createdAt": "1970-01-01T00:00:00.000Z", "updatedAt": "1970-01-01T00:00:00.000Z"}


def test_unusable_epoch_is_unrepairable():
    with pytest.raises(RecordError):
        fill_timestamps({"createdAt": 10**20}, NOW)


def test_metadata_is_merged_into_existing_metadata():
    rec, notes = add_metadata({"metadata": {"author": "me", "schemaVersion": "2.0.0"}}, "2.0.0", KEY)
    assert rec["metadata"] == {"author": "me", "schemaVersion": "3.0.0", "migratedFrom": "2.0.0", "sourceKey": KEY}
    assert rec["legacyFields"] == {"metadata.schemaVersion": "2.0.0"}
    assert notes == []


def test_metadata_of_a_3_0_0_record_is_never_changed():
    metadata = {"schemaVersion": "3.0.0", "migratedFrom": "1.0.0", "sourceKey": "AirPromptsDB:templates"}
    rec, _ = add_metadata({"metadata": metadata}, "3.0.0", "airprompts_templates")
    assert rec["metadata"] is metadata


def test_metadata_that_is_not_an_object_is_kept_in_legacy_fields():
    rec, notes = add_metadata({"metadata": "v1"}, "1.0.0", KEY)
    assert rec["metadata"]["schemaVersion"] == "3.0.0"
    assert rec["legacyFields"] == {"metadata": "v1"}
    assert notes[0][0] == "metadata-replaced"
