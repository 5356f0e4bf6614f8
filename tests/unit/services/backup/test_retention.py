"""Which backups retention deletes, pure."""

from __future__ import annotations

from app.services.backup.retention import doomed

DAY_MS = 86_400_000
NOW_MS = 30 * DAY_MS


def _meta(backup_id: str, age_days: float, base: str | None = None) -> dict:
    return {"id": backup_id, "createdAtMs": NOW_MS - age_days * DAY_MS, "baseId": base}


def test_count_keeps_the_newest_and_what_is_kept_by_name():
    backups = [_meta(f"bk-{n}", n) for n in range(6)]
    assert doomed(backups, {"bk-5"}, now_ms=NOW_MS, max_backups=3, max_age_days=30) == ["bk-3", "bk-4"]


def test_age_never_deletes_the_newest():
    backups = [_meta("bk-old", 20), _meta("bk-older", 21)]
    assert doomed(backups, set(), now_ms=NOW_MS, max_backups=5, max_age_days=7) == ["bk-older"]


def test_a_kept_incremental_keeps_its_whole_base_chain():
    backups = [_meta("bk-inc2", 0, "bk-inc1"), _meta("bk-inc1", 10, "bk-full"), _meta("bk-full", 11), _meta("bk-x", 12)]
    assert doomed(backups, set(), now_ms=NOW_MS, max_backups=1, max_age_days=7) == ["bk-x"]


def test_nothing_to_delete_without_backups():
    assert doomed([], {"bk-1"}, now_ms=NOW_MS, max_backups=0, max_age_days=0) == []
