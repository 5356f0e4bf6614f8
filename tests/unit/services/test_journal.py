"""The journal module alone writes and parses the journal, and names the migration's own keys."""

from __future__ import annotations

import json

import pytest

from app.services import journal
from app.services.journal import JournalRecord, UnusableJournal
from app.storage.base import Put
from app.storage.memory import MemoryStorage


def a_record(**changes) -> JournalRecord:
    record = JournalRecord(
        run_id="mig-0001700000000000-1a2b3c4d",
        phase="switch",
        started_at="2023-11-14T22:13:20.000Z",
        started_ms=1_700_000_000_000,
        plan={"from_version": "1.0.0", "to_version": "3.0.0", "steps": ["1.0.0->2.0.0", "2.0.0->3.0.0"]},
        options={"batchSize": 100, "batchDelayMs": 0},
        fingerprint="blake2b:" + "ab" * 32,
        backup_id="bk-1",
        cursor={"airprompts_templates": 3, "values": 1},
        sources=[{"id": "airprompts_templates", "kind": "templates", "records": 250}],
        processed=250,
        total=250,
        targets=[{"area": "local", "key": "airprompts_templates", "staging": "mig-1/airprompts_templates/", "join": True}],
        remove=["airprompts_snippets"],
        displaced=[("local", "airprompts_templates", '[{"name":"Grüße “aus” Köln 👋"}]\r\n')],
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def test_a_journal_reads_back_as_it_was_written():
    record = a_record()
    text = record.text()
    data = json.loads(text)
    assert data["format"] == journal.JOURNAL_FORMAT and data["fromVersion"] == "1.0.0"
    assert data["stats"] == {"processed": 250, "total": 250}
    assert JournalRecord.parse(text) == record


def test_targets_are_journaled_from_the_switch_on_and_the_clean_up_marker_only_when_complete():
    early = json.loads(a_record(phase="transform").text())
    assert "targets" not in early and "remove" not in early and "historyKey" not in early
    done = a_record(phase="complete", targets=[], remove=[], history_key="000001700000000500-mig-1",
                    entry={"success": True}, dual={"until": 1})  # fmt: skip
    back = JournalRecord.parse(done.text())
    assert back.history_key == "000001700000000500-mig-1" and back.entry == {"success": True} and back.dual == {"until": 1}


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", json.dumps({"format": 2, "runId": "mig-x"}), json.dumps({"format": 1, "runId": "mig-x"})],
)
def test_a_journal_that_cannot_drive_a_resume_is_refused(text):
    with pytest.raises(UnusableJournal):
        JournalRecord.parse(text)


def test_staged_batches_sort_in_write_order_and_stay_apart_from_their_summaries():
    run_id, source = "mig-1", "AirPromptsDB:templates"
    batch_keys = [journal.batch_key(run_id, source, n) for n in (10, 2, 0)]
    assert sorted(batch_keys) == [journal.batch_key(run_id, source, n) for n in (0, 2, 10)]
    assert all(key.startswith(journal.staging_prefix(run_id, source)) for key in batch_keys)
    assert not journal.summary_key(run_id, source, 0).startswith(journal.staging_prefix(run_id, source))
    assert journal.value_target(journal.value_key(run_id, "app", "user_settings")) == ("app", "user_settings")
    assert journal.run_of(journal.quarantine_key(run_id, source, 7)) == run_id


async def test_the_migration_and_the_restore_journal_are_both_found_and_an_unreadable_one_still_counts():
    storage = MemoryStorage()
    assert await journal.read_any_journal(storage) is None
    await storage.own_write([Put(journal.JOURNAL_STORE, journal.RESTORE_KEY, "{half")])
    assert await journal.read_any_journal(storage) == {"journalKey": journal.RESTORE_KEY}
    await storage.own_write([journal.journal_op(a_record())])
    found = await journal.read_any_journal(storage)
    assert found["journalKey"] == journal.JOURNAL_KEY and found["phase"] == "switch"
    assert await journal.read_journal(storage) == a_record().text()


def test_a_dual_read_setting_is_active_only_before_its_end():
    assert journal.active({"enabled": True, "until": 2000}, 1999)
    assert not journal.active({"enabled": True, "until": 2000}, 2000)
    assert not journal.active({"enabled": False, "until": 2000}, 1000)
    assert not journal.active({"enabled": True, "until": None}, 0)  # without an end it would never expire
    assert not journal.active({"enabled": True, "until": True}, 0)
    assert journal.active({"until": 2000}, 1000, enabled=True)
    assert journal.load_setting("{oops") is None and journal.load_setting('["x"]') is None
