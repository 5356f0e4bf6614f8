"""The start-up warm-up runs every hot path of the engine on generated 1.0.0 data."""

from app.core import keys, versions
from app.core.transform import CollectionTransformer, Context
from app.core.validator import References, Validator
from app.core.warmup import NOW, sample_records, warm_up


def test_warm_up_migrates_every_generated_record():
    result = warm_up(records_per_kind=20, schema_samples=2)
    assert result["records"] == 20 * len(keys.COLLECTIONS)
    assert result["ms"] >= 0


def test_sample_records_are_1_0_0_and_upgrade_without_quarantine():
    for kind in keys.COLLECTIONS:
        records = sample_records(kind, 12)
        assert all(versions.detect_record_version(kind, r) == "1.0.0" for r in records)
        transformer = CollectionTransformer(Context(kind, "k", "1.0.0", NOW), Validator(), References())
        result = transformer.run(records, 0)
        assert not result.quarantined
        assert len(result.records) == 12
        assert all(r["metadata"]["schemaVersion"] == "3.0.0" for r in result.records)
