"""A backup's metadata: what its checksum covers and what it says of the data, pure."""

from __future__ import annotations

import json

import pytest

from app.core import jsonstream
from app.services.backup import metadata
from app.services.crypto import PythonCrypto
from app.storage.memory import MemoryLock, MemoryStorage
from app.wiring import build


def _state(local: dict[str, str], app: dict[str, str] | None = None) -> dict:
    return {"local": local, "app": app or {}}


@pytest.mark.parametrize(
    ("stored", "version"), [('"3.0.0"', "3.0.0"), ("2.0", "2.0.0"), ('"legacy"', "legacy"), (None, None)]
)
def test_schema_version_is_the_recorded_version(stored, version):
    local = {} if stored is None else {"airprompts_schema_version": stored}
    assert metadata.schema_version(_state(local)) == version


def test_item_count_takes_the_app_record_then_the_key_then_a_legacy_key():
    state = _state(
        {
            "airprompts_templates": '[{"id":"t1","name":"Résumé"},{"id":"t2"}]',
            "ap_snippets": '[{"id":"s1","content":"“quoted” 🎉"}]',
            "airprompts-snippets": '[{"id":"s2"},{"id":"s3"}]',
            "airprompts_folders": "not json",
        },
        {"workflows": json.dumps({"key": "workflows", "value": [{"id": "w1"}] * 3})},
    )
    # templates 2, workflows 3 (the record), snippets 1 (ap_ before the dashed spelling), folders unreadable.
    assert metadata.item_count(state) == 2 + 3 + 1


def test_item_count_asks_the_given_counter_for_localstorage_texts_instead_of_parsing_them():
    texts = {"airprompts_templates": '[{"id":"t1","content":"Grüße\\r\\n"}]', "airprompts_workflows": '{"not": "a list"}'}
    asked: list[str] = []

    def count(text: str, member: str | None = None) -> int:
        asked.append(text)
        return jsonstream.count_array(text, member) + 10  # a counter that answers differently proves it was used

    assert metadata.item_count(_state(texts), count) == 11
    assert asked == [texts["airprompts_templates"], texts["airprompts_workflows"]]


def test_item_count_counts_an_airpromptsdb_record_by_its_value_with_the_given_counter():
    record = '{"key":"templates","value":[{"id":"t1","name":"模板"},{"id":"t2"}],"timestamp":1}'
    asked: list[tuple[str, str | None]] = []

    def count(text: str, member: str | None = None) -> int:
        asked.append((text, member))
        return jsonstream.count_array(text, member) + 10

    assert metadata.item_count(_state({}, {"templates": record}), count) == 12
    assert asked == [(record, "value")]
    # A record the counter refuses (its value no array) is not counted; its keys are, as before.
    assert metadata.item_count(_state({}, {"templates": '{"key":"templates","value":{}}'}), count) == 1


def test_the_backup_service_counts_with_the_migrations_counter():
    def count(text: str, member: str | None = None) -> int:
        return jsonstream.count_array(text, member)

    services = build(MemoryStorage(), PythonCrypto(), MemoryLock(), count_array=count)
    try:
        assert services.backups.writer.count_array is count
        assert services.migration.count_array is count
    finally:
        services.detach_logging()


def test_item_count_without_collections_counts_the_keys():
    assert metadata.item_count(_state({"theme-storage": "{}", "todoSidebarCollapsed": "true"})) == 2


def test_signed_covers_the_description_and_an_import_signs_the_original_id():
    meta = {"id": "bk-1", "kind": "manual", "description": "Avant “migration” 🔒", "persisted": True}
    imported = {**meta, "id": "bk-2", "kind": "imported", "originalId": "bk-1", "originalKind": "manual"}
    assert metadata.signed(meta) == metadata.signed(imported)
    assert metadata.signed(meta) != metadata.signed({**meta, "description": "changed"})
    assert metadata.signed(meta) == metadata.signed({**meta, "persisted": False})


def test_parse_object_reads_only_objects():
    assert metadata.parse_object('{"backupId":"bk-1"}') == {"backupId": "bk-1"}
    assert metadata.parse_object("[1]") == {} and metadata.parse_object("{broken") == {}
