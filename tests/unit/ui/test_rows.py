"""The console's pure builders: rows, tables and lists made from API answers, with no page and no API."""

from app.ui import rows


def test_a_backup_row_shows_its_verification_and_its_actions():
    meta = {"id": "b1", "description": "avant « tout »", "type": "incremental", "kind": "safety", "sizeBytes": 2048}
    row = rows.backup_row(meta, None)
    assert row.attrs["data-backup-id"] == "b1"
    assert "not checked" in row.text() and "avant « tout »" in row.text() and "safety" in row.text()
    export = next(node for node in _walk(row) if node.attrs.get("id") == "backup-export-b1")
    assert "disabled" in export.attrs  # an incremental backup needs its base: only a full one is exported
    full = rows.backup_row({**meta, "type": "full"}, {"ok": True})
    assert "✓ ok" in full.text()
    assert "disabled" not in next(node for node in _walk(full) if node.attrs.get("id") == "backup-export-b1").attrs
    failed = rows.backup_row(meta, {"ok": False, "errors": ["chunk 2: hash mismatch"]})
    assert any(node.attrs.get("title") == "chunk 2: hash mismatch" for node in _walk(failed))


def test_a_history_row_says_what_failed_and_what_was_kept_aside():
    row = rows.history_row({
        "success": False, "error": {"name": "DataChanged"}, "fromVersion": "1.0.0", "toVersion": "3.0.0",
        "quarantined": [{}, {}], "displaced": [{"area": "local", "key": "airprompts_templates"}],
    })
    text = row.text()
    assert "✗ failed: DataChanged" in text and "1.0.0 → 3.0.0" in text
    assert "Kept aside" in text and "local:airprompts_templates" in text
    assert "2" in [cell.text() for cell in row.children]


def test_lists_stop_at_the_limit_and_say_how_many_more():
    keys = [f"k{i}" for i in range(rows.LIST_LIMIT + 5)]
    listed = rows.key_list("Keys", keys, "None.")
    assert listed.text().endswith("… and 5 more")
    assert "None." in rows.key_list("Keys", [], "None.").text()


def test_collections_come_in_their_usual_order_then_the_others():
    assert [name for name, _ in rows.ordered({"tags": 1, "folders": 2, "templates": 3})] == ["templates", "folders", "tags"]


def test_counts_and_form_numbers():
    assert rows.count([1, 2, 3]) == 3 and rows.count(4.0) == 4 and rows.count(True) == 0 and rows.count(None) == 0
    assert rows.int_or_none(" 25 ") == 25 and rows.int_or_none("2.5") == 2
    assert rows.int_or_none("") is None and rows.int_or_none("many") is None


def test_the_next_steps_advise_on_the_errors_a_run_ends_with():
    assert set(rows.NEXT_STEPS) >= {"RolledBack", "QuotaExceeded", "DataChanged", "MigrationInProgress"}
    assert all(text.endswith(".") for text in [*rows.NEXT_STEPS.values(), rows.DEFAULT_NEXT_STEP])


def _walk(node):
    yield node
    for child in node.children:
        if not isinstance(child, str):
            yield from _walk(child)
