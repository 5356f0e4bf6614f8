"""A run resumed after a reload goes on from the journal's cursor: staged batches are taken back, not redone."""

from __future__ import annotations

import asyncio
import json

import pytest

from app.core.errors import QuotaExceeded
from app.services.migration import sinks, transform
from app.services.migration.plan import parse_whole
from app.storage.memory import MemoryStorage
from tests.unit.services.test_migration import Env, live

BATCH = 3


class PageKilled(BaseException):
    """The tab was reloaded: nothing after this point runs."""


def store() -> MemoryStorage:
    """A 1.0.0 store over many batches: repairs, a duplicate id across batches, dangling references, non-ASCII."""
    templates = []
    for i in range(20):
        record = {
            "id": i,
            "name": f"Modèle {i} “quoted” 模板 {i}",
            "content": f"مرحبا {{name}}\r\nLine 2 🚀 #{i}",
            "folder_id": "f1" if i % 4 else "gone",  # "gone" dangles
        }
        if i % 3:
            record["created_at"] = "2024-03-01T10:00:00.000Z"  # the others get a repaired timestamp
        templates.append(record)
    templates.append({"id": 2, "name": "Duplicate of 2", "content": "dup"})  # quarantined: id 2 is in batch 0
    templates.append("not a record")
    local = {
        "airprompts_templates": json.dumps(templates, ensure_ascii=False),
        "airprompts_folders": json.dumps([{"id": "f1", "name": "Écrits", "parent_id": None}], ensure_ascii=False),
        "airprompts_workflows": json.dumps([{"id": "w", "name": "W", "steps": [{"template_id": 99}]}]),
        "airprompts_schema_version": '"1.0.0"',
        "airprompts_todos": '[{"id":1,"text":"garder ✨"}]',
    }
    return MemoryStorage(local=local)


def kill_at_staging_write(n: int, error=None, source: str = "airprompts_templates"):
    """Kill the page at the ``n``-th staging transaction of the templates (or raise ``error`` there)."""
    seen = 0

    def fault(operation, detail):
        nonlocal seen
        if operation == "own_write" and any(f"/{source}/" in str(op) for op in detail):
            seen += 1
            if seen == n:
                raise error if error is not None else PageKilled(f"reloaded at staging write {n}")

    return fault


@pytest.fixture
def small_transactions(monkeypatch):
    # Two batches (each a fragment and its summary) per staging transaction, so a run stages in several.
    monkeypatch.setattr(sinks, "STAGE_OPS", 2)


async def test_a_resumed_run_takes_back_the_staged_batches_and_goes_on_from_the_cursor(small_transactions):
    reference_storage = store()
    reference_env = Env(reference_storage)
    reference = await reference_env.migration.run_pending_migrations(batch_size=BATCH)
    total_batches = reference_env.monitor.get_metrics()["batches"]["count"]

    storage = store()
    storage.fault = kill_at_staging_write(3)
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations(batch_size=BATCH)
    storage.fault = None
    journal = json.loads(storage.own["journal"]["current"])
    staged = journal["cursor"]["airprompts_templates"]
    assert staged == 4  # two transactions of two batches each made it

    reloaded = Env(storage)
    outcome = await reloaded.migration.recover()
    assert outcome["outcome"] == "completed"
    progress = reloaded.named("progress")
    # The bar goes on from what was staged: the first progress already counts the staged records.
    assert progress[0]["processed"] >= staged * BATCH
    assert [p["processed"] for p in progress] == sorted(p["processed"] for p in progress)
    # Only the batches after the cursor were transformed on the reloaded page.
    assert reloaded.monitor.get_metrics()["batches"]["count"] == total_batches - staged
    # The same data and the same report as a run that was never interrupted.
    assert live(storage) == live(reference_storage)
    history = await reloaded.migration.get_history()
    report, want = history[0]["report"], reference["report"]
    for field in ("counts", "sources", "repairs", "warnings", "migrated", "quarantinedCount", "values"):
        assert report[field] == want[field], field
    strip = [{k: v for k, v in q.items() if k != "quarantineKey"} for q in report["quarantined"]]
    assert strip == [{k: v for k, v in q.items() if k != "quarantineKey"} for q in want["quarantined"]]
    assert any(q["code"] == "duplicate-id" for q in report["quarantined"])  # id 2 was kept in a restored batch
    assert any(w["code"] == "dangling-folder" and w["index"] == 0 for w in report["warnings"])  # from batch 0
    assert storage.own["staging"] == {} and storage.own["journal"] == {}
    assert len(storage.own["quarantine"]) == len(reference_storage.own["quarantine"])


async def test_a_reload_while_resuming_loses_nothing_and_repeats_nothing(small_transactions):
    reference_storage = store()
    await Env(reference_storage).migration.run_pending_migrations(batch_size=BATCH)

    storage = store()
    storage.fault = kill_at_staging_write(2)
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations(batch_size=BATCH)
    # The resumed run is reloaded too, at its second staging transaction.
    storage.fault = kill_at_staging_write(2)
    with pytest.raises(PageKilled):
        await Env(storage).migration.recover()
    storage.fault = None
    journal = json.loads(storage.own["journal"]["current"])
    assert journal["cursor"]["airprompts_templates"] == 4
    outcome = await Env(storage).migration.recover()
    assert outcome["outcome"] == "completed"
    assert live(storage) == live(reference_storage)
    templates = json.loads(storage.local["airprompts_templates"])
    assert len({t["id"] for t in templates}) == len(templates) == 20
    assert len(storage.own["quarantine"]) == len(reference_storage.own["quarantine"]) == 2


async def test_a_journal_without_batch_summaries_transforms_its_staged_batches_again(small_transactions):
    """A journal of an earlier release: its batches are redone, not staged twice, and the result is the same."""
    reference_storage = store()
    await Env(reference_storage).migration.run_pending_migrations(batch_size=BATCH)
    storage = store()
    storage.fault = kill_at_staging_write(3)
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations(batch_size=BATCH)
    storage.fault = None
    for key in [k for k in storage.own["staging"] if "/~batch/" in k]:
        del storage.own["staging"][key]
    reloaded = Env(storage)
    assert (await reloaded.migration.recover())["outcome"] == "completed"
    assert reloaded.named("progress")[0]["processed"] == BATCH
    assert live(storage) == live(reference_storage)


class SlowStaging:
    """Wrap a MemoryStorage whose staging writes take several turns of the loop, noting what happens meanwhile."""

    def __init__(self, storage: MemoryStorage, order: list[str]) -> None:
        self.own_write = storage.own_write
        self.order = order

    async def __call__(self, ops) -> None:
        staging = any(getattr(op, "store", None) == "staging" for op in ops)
        if staging:
            self.order.append("write starts")
        for _ in range(5):
            await asyncio.sleep(0)
        await self.own_write(ops)
        if staging:
            self.order.append("write ends")


async def test_a_staging_write_commits_while_the_next_batches_are_transformed(small_transactions):
    reference_storage = store()
    await Env(reference_storage).migration.run_pending_migrations(batch_size=BATCH)
    storage, order = store(), []
    storage.own_write = SlowStaging(storage, order)
    env = Env(storage)
    env.events.subscribe("progress", lambda name, payload: order.append("batch"))
    result = await env.migration.run_pending_migrations(batch_size=BATCH)
    assert result["success"]
    assert any(a == "write starts" and b == "batch" for a, b in zip(order, order[1:], strict=False))
    depth = 0
    for step in order:  # one staging write in flight at most: they reach the store in order
        depth += (step == "write starts") - (step == "write ends")
        assert depth in (0, 1)
    assert live(storage) == live(reference_storage)
    assert storage.own["staging"] == {} and storage.own["journal"] == {}


@pytest.mark.parametrize("failing", [1, 2, 3])
async def test_a_staging_write_that_fails_in_flight_leaves_the_data_as_it_was(small_transactions, failing):
    storage = store()
    before = live(storage)
    storage.fault = kill_at_staging_write(failing, QuotaExceeded("The quota has been exceeded."))
    storage.own_write = SlowStaging(storage, [])
    env = Env(storage)
    with pytest.raises(QuotaExceeded):
        await env.migration.run_pending_migrations(batch_size=BATCH)
    assert live(storage) == before
    assert storage.own["staging"] == {} and storage.own["journal"] == {}
    history = await env.migration.get_history()
    assert history[0]["success"] is False and history[0]["error"]["name"] == "QuotaExceeded"
    assert env.named("failed")[0]["error"]["name"] == "QuotaExceeded"


def app_store() -> MemoryStorage:
    """The same store with its templates in an AirPromptsDB record, other members around the array."""
    storage = store()
    templates = json.loads(storage.local.pop("airprompts_templates"))
    record = {"key": "templates", "value": templates, "timestamp": 7, "note": "gardé ]} 📝"}
    storage.app = {"templates": json.dumps(record, ensure_ascii=False, indent=1)}
    return storage


@pytest.mark.parametrize("old_journal", [False, True], ids=["cursor", "summaries-without-end"])
async def test_a_resumed_run_reads_an_airpromptsdb_record_on_from_its_cursor(small_transactions, old_journal, monkeypatch):
    # The record's array is read batch by batch from its text; a resume goes on from the last
    # staged batch's position in it (an earlier release's summaries hold none: parsed whole).
    wholes: list[str] = []
    monkeypatch.setattr(transform, "parse_whole", lambda src, **kw: wholes.append(src.id) or parse_whole(src, **kw))
    reference_storage = app_store()
    reference_env = Env(reference_storage)
    await reference_env.migration.run_pending_migrations(batch_size=BATCH)
    total_batches = reference_env.monitor.get_metrics()["batches"]["count"]
    reference = json.loads(reference_storage.app["templates"])
    assert reference["note"] == "gardé ]} 📝" and len(reference["value"]) == 20

    storage = app_store()
    storage.fault = kill_at_staging_write(2, source="AirPromptsDB:templates")
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations(batch_size=BATCH)
    storage.fault = None
    staged = json.loads(storage.own["journal"]["current"])["cursor"]["AirPromptsDB:templates"]
    assert staged == 2
    summaries = [k for k in storage.own["staging"] if "/AirPromptsDB:templates/" in k and "/~batch/" in k]
    assert len(summaries) == staged
    for key in summaries:
        summary = json.loads(storage.own["staging"][key])
        assert isinstance(summary["end"], int) and summary["end"] > 0
        if old_journal:
            summary["end"] = None
            storage.own["staging"][key] = json.dumps(summary)

    reloaded = Env(storage)
    assert (await reloaded.migration.recover())["outcome"] == "completed"
    assert wholes == (["AirPromptsDB:templates"] if old_journal else [])
    assert reloaded.monitor.get_metrics()["batches"]["count"] == total_batches - staged
    migrated = json.loads(storage.app["templates"])
    assert migrated["value"] == reference["value"] and migrated["note"] == "gardé ]} 📝"
    assert list(migrated) == list(reference)
    assert dict(storage.local) == dict(reference_storage.local)
    assert storage.own["staging"] == {} and storage.own["journal"] == {}
