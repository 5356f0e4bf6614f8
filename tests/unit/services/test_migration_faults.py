"""The migration under faults: a page killed at every write, storage errors at every write, rollbacks, recovery."""

from __future__ import annotations

import json

import pytest

from app.core import keys
from app.core.errors import (
    MigrateError,
    MigrationError,
    QuotaExceeded,
    RolledBack,
    StorageUnavailable,
    TransactionAborted,
    VerificationFailed,
)
from app.storage.base import as_text
from app.storage.memory import MemoryStorage
from tests.unit.services.test_migration import Env, app_record, live


class PageKilled(BaseException):
    """The tab was closed or reloaded: nothing after this point runs."""


def flag_write(detail) -> bool:
    """Return whether a local_write only sets or removes the loader's pending flag."""
    return set(detail["set"]) | set(detail["remove"]) == {keys.PENDING_FLAG}


BATCH = 2


def legacy_store() -> MemoryStorage:
    """Legacy keys, a 1.0.0 collection over several batches with a bad record, AirPromptsDB data, other app keys."""
    local = {
        "templates": json.dumps(
            [{"id": i, "name": f"T{i}", "content": f"c {i} 🎉", "created_at": "2024-01-01T00:00:00Z"} for i in range(5)]
        ),
        "theme": "dark",
        "airprompts_snippets": json.dumps(
            [
                {"id": "s1", "name": "S1", "content": "x", "folder_id": "f1"},
                "broken",
                {"id": "s1", "name": "dup", "content": "y"},
                {"name": "no id", "content": "z"},
            ]
        ),
        "airprompts_folders": json.dumps([{"id": "f1", "name": "F", "parent_id": None}]),
        "airprompts_user_settings": "{}",
        "airprompts_todos": '[{"id":1,"text":"keep me"}]',
        "airprompts_root_folder": '{"id":"root","name":"Root"}',
        "section-height-x": "120",
    }
    storage = MemoryStorage(local=local)
    storage.app = {
        "workflows": app_record("workflows", [{"id": "w1", "name": "W", "steps": ["0", {"template_id": 3}]}]),
        "tags": app_record("tags", ["a"]),
    }
    return storage


def moving_store() -> MemoryStorage:
    """A 2.0.0 collection that outgrows localStorage at 3.0.0 and moves to AirPromptsDB."""
    templates = [{"id": f"t{i}", "name": "n", "content": "x" * 100, "folderId": None} for i in range(9)]
    local = {
        "airprompts_templates": json.dumps(templates),
        "airprompts_schema_version": '"2.0.0"',
        "airprompts_todos": "[]",
    }
    return MemoryStorage(local=local, local_quota=4000)


SCENARIOS = {"legacy": (legacy_store, {}), "moving": (moving_store, {"local_limit": 3500})}


async def reference_run(scenario: str) -> tuple[tuple[dict, dict], list[tuple[str, object]], int]:
    """Return the live data after a clean run, the write operations it made, and its quarantine size."""
    build, kwargs = SCENARIOS[scenario]
    storage = build()
    operations: list[tuple[str, object]] = []
    storage.fault = lambda operation, detail: operations.append((operation, detail))
    env = Env(storage, **kwargs)
    result = await env.migration.run_pending_migrations(batch_size=BATCH)
    assert result["success"]
    return live(storage), operations, len(storage.own["quarantine"])


def assert_clean_own(storage: MemoryStorage, quarantined: int) -> None:
    assert storage.own["journal"] == {}
    assert storage.own["staging"] == {}
    runs = {key.split("/", 1)[0] for key in storage.own["quarantine"]}
    assert len(runs) <= 1 and len(storage.own["quarantine"]) == quarantined  # no duplicates


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_reference_run_writes_and_moves(scenario):
    (local, app), operations, quarantined = await reference_run(scenario)
    assert local["airprompts_schema_version"] == '"3.0.0"'
    kinds = [op for op, _ in operations]
    assert "local_write" in kinds and "own_write" in kinds
    if scenario == "moving":
        assert "airprompts_templates" not in local and len(json.loads(app["templates"])["value"]) == 9
    else:
        assert quarantined == 2 and local["templates"] == legacy_store().local["templates"]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_page_killed_at_every_write_then_recovered_ends_exactly_migrated(scenario):
    expected, operations, quarantined = await reference_run(scenario)
    build, kwargs = SCENARIOS[scenario]
    outcomes = set()
    for n in range(1, len(operations) + 1):
        storage = build()
        calls = 0

        def kill(operation, detail, n=n):
            nonlocal calls
            calls += 1
            if calls >= n:  # a closed page writes nothing more
                raise PageKilled(f"killed at write {n} ({operation})")

        storage.fault = kill
        with pytest.raises(PageKilled):
            await Env(storage, **kwargs).migration.run_pending_migrations(batch_size=BATCH)
        storage.fault = None

        reloaded = Env(storage, **kwargs)  # fresh lock registry: the killed page's lock died with it
        await reloaded.backups.recover()
        outcome = await reloaded.migration.recover()
        outcomes.add(None if outcome is None else outcome["outcome"])
        if (await reloaded.migration.check_migration_status())["needed"]:
            await reloaded.migration.run_pending_migrations(batch_size=BATCH)

        assert live(storage) == expected, f"write {n}: {operations[n - 1][0]}"
        assert_clean_own(storage, quarantined)
        assert storage.own["journal"] == {}
        assert not await reloaded.migration.recover()
    assert "completed" in outcomes and None in outcomes


@pytest.mark.parametrize("error", [QuotaExceeded, StorageUnavailable])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_non_retryable_error_at_any_write_leaves_the_data_byte_identical(scenario, error):
    expected, operations, _ = await reference_run(scenario)
    build, kwargs = SCENARIOS[scenario]
    failed = rolled_back = 0
    for n in range(1, len(operations) + 1):
        storage = build()
        original = live(storage)
        calls = 0

        def fail_once(operation, detail, n=n):
            nonlocal calls
            calls += 1
            if calls == n:
                raise error(f"injected at write {n} ({operation})")

        storage.fault = fail_once
        env = Env(storage, **kwargs)
        try:
            result = await env.migration.run_pending_migrations(batch_size=BATCH)
        except MigrateError as exc:
            assert live(storage) == original, f"write {n}: {operations[n - 1][0]}"
            assert storage.own["journal"] == {} and storage.own["staging"] == {}
            history = await env.migration.get_history()
            assert history[0]["success"] is False
            if isinstance(exc, RolledBack):
                rolled_back += 1
                assert isinstance(exc.__cause__, error) and "restored" in exc.message
                assert history[0]["rolledBack"] is True and exc.details["rolled_back"] is True
                # A full storage is named for what the user must do (free space), even when rolled back.
                assert exc.name == ("QuotaExceeded" if error is QuotaExceeded else "RolledBack")
                assert isinstance(exc, QuotaExceeded) is (error is QuotaExceeded)
            else:
                failed += 1
                assert isinstance(exc, error)
            assert env.named("failed")
        else:
            # Only the audit log flush or backup retention failed: neither is part of the data.
            assert result["success"] and live(storage) == expected
        assert env.registry == set()
    assert failed and rolled_back


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_transaction_aborted_once_at_any_write_is_retried(scenario):
    expected, operations, quarantined = await reference_run(scenario)
    build, kwargs = SCENARIOS[scenario]
    for n in range(1, len(operations) + 1):
        storage = build()
        calls = 0

        def abort_once(operation, detail, n=n):
            nonlocal calls
            calls += 1
            if calls == n:
                raise TransactionAborted("injected abort")

        storage.fault = abort_once
        env = Env(storage, **kwargs)
        result = await env.migration.run_pending_migrations(batch_size=BATCH)
        assert result["success"] and live(storage) == expected, f"write {n}: {operations[n - 1][0]}"
        assert_clean_own(storage, quarantined)


async def test_retries_give_up_after_the_configured_delays():
    storage = legacy_store()
    original = live(storage)

    def always_abort(operation, detail):
        if operation == "local_write":
            raise TransactionAborted("still aborting")

    storage.fault = always_abort
    env = Env(storage, retry_delays=(0.01, 0.02))
    with pytest.raises(RolledBack) as caught:
        await env.migration.run_pending_migrations()
    assert isinstance(caught.value.__cause__, TransactionAborted)
    assert [d for d in env.sleeps.delays if d][:2] == [0.01, 0.02]
    # The switch wrote AirPromptsDB before localStorage kept aborting; the restore put it back.
    assert live(storage) == original
    assert storage.own["journal"] == {} and storage.own["staging"] == {}


async def test_failed_restore_is_finished_by_recover_on_next_load():
    storage = legacy_store()
    original = live(storage)
    broken = {"on": True, "app_writes": 0}

    def live_writes_fail(operation, detail):
        # The switch's AirPromptsDB write succeeds; then every live write fails, the restore's too.
        if operation == "app_write":
            broken["app_writes"] += 1
        if broken["on"] and (operation == "local_write" or broken["app_writes"] > 1):
            raise StorageUnavailable("storage is gone")

    storage.fault = live_writes_fail
    env = Env(storage)
    with pytest.raises(MigrationError) as caught:
        await env.migration.run_pending_migrations()
    assert not isinstance(caught.value, RolledBack) and "Reload" in caught.value.message
    assert json.loads(storage.own["journal"]["current"])["phase"] == "rollback"
    broken["on"] = False

    reloaded = Env(storage)
    await reloaded.backups.recover()
    outcome = await reloaded.migration.recover()
    assert outcome["outcome"] == "rolled-back"
    assert live(storage) == original
    assert storage.own["journal"] == {} and storage.own["staging"] == {}
    assert (await reloaded.migration.get_history())[0]["rolledBack"] is True


class LossyStorage(MemoryStorage):
    """A storage that silently drops the last record of a collection it writes, once."""

    lose = True

    async def local_write(self, set_items, remove=(), expect=None):
        items = {key: as_text(value) for key, value in set_items.items()}  # a migrated collection comes as UTF-8
        if self.lose and "airprompts_snippets" in items:
            self.lose = False
            items["airprompts_snippets"] = "[" + items["airprompts_snippets"][1:].rsplit(",{", 1)[0] + "]"
        await super().local_write(items, remove, expect)


async def test_verification_mismatch_rolls_back():
    source = legacy_store()
    storage = LossyStorage(local=source.local)
    storage.app = dict(source.app)
    original = live(storage)
    env = Env(storage)
    with pytest.raises(RolledBack) as caught:
        await env.migration.run_pending_migrations()
    assert isinstance(caught.value.__cause__, VerificationFailed)
    assert live(storage) == original
    assert env.named("failed")[0]["restored"] is True
    # A later run on sound storage succeeds.
    result = await env.migration.run_pending_migrations()
    assert result["success"]


async def test_unreadable_journal_without_switch_is_cleaned_up():
    storage = legacy_store()
    original = live(storage)
    storage.own["journal"]["current"] = "{not json"
    storage.own["staging"]["mig-x/airprompts_snippets/000000"] = "{}"
    env = Env(storage)
    assert (await env.migration.check_migration_status())["pending"] is True
    outcome = await env.migration.recover()
    assert outcome["outcome"] == "discarded"
    assert live(storage) == original and storage.own["journal"] == {} and storage.own["staging"] == {}


async def test_unreadable_journal_after_the_switch_began_restores_the_backup():
    expected, operations, _ = await reference_run("legacy")
    first_live = next(i for i, (op, _) in enumerate(operations) if op == "app_write") + 1
    storage = legacy_store()
    original = live(storage)
    calls = 0

    def kill(operation, detail):
        nonlocal calls
        calls += 1
        if calls > first_live + 1:  # app_write and its first op are done
            raise PageKilled()

    storage.fault = kill
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations(batch_size=BATCH)
    storage.fault = None
    assert live(storage) != original
    storage.own["journal"]["current"] = "garbage"
    reloaded = Env(storage)
    await reloaded.backups.recover()
    outcome = await reloaded.migration.recover()
    assert outcome["outcome"] == "rolled-back"
    assert live(storage) == original
    await reloaded.migration.run_pending_migrations(batch_size=BATCH)
    assert live(storage) == expected


async def test_data_changed_since_the_interrupted_run_starts_over():
    storage = legacy_store()
    calls = 0

    def kill(operation, detail):
        nonlocal calls
        calls += 1
        if calls > 8:
            raise PageKilled()

    storage.fault = kill
    with pytest.raises(PageKilled):
        await Env(storage).migration.run_pending_migrations(batch_size=BATCH)
    storage.fault = None
    assert json.loads(storage.own["journal"]["current"])["phase"] in ("backup", "transform")
    storage.local["airprompts_folders"] = json.dumps([{"id": "f1", "name": "F"}, {"id": "f2", "name": "G"}])
    reloaded = Env(storage)
    await reloaded.backups.recover()
    outcome = await reloaded.migration.recover()
    assert outcome["outcome"] == "discarded"
    result = await reloaded.migration.run_pending_migrations(batch_size=BATCH)
    assert result["report"]["counts"]["folders"]["migrated"] == 2
    assert storage.own["staging"] == {} and storage.own["journal"] == {}


async def test_recover_leaves_a_run_of_another_tab_alone():
    storage = legacy_store()
    storage.own["journal"]["current"] = "{}"
    registry = {"airprompts-migration"}
    env = Env(storage, registry=registry)
    assert await env.migration.recover() == {"resumed": None, "outcome": "locked"}
    assert storage.own["journal"]["current"] == "{}"


async def test_a_value_another_writer_stored_during_a_failed_switch_is_kept_in_the_history():
    storage = legacy_store()
    original = live(storage)
    edit = app_record("workflows", [{"id": "w1", "name": "Edited in another tab", "steps": []}], 99)
    state = {"fired": False}

    def other_tab_then_failure(operation, detail):
        # The switch has written AirPromptsDB; another tab saves a workflow; then localStorage fails.
        if operation == "local_write" and not state["fired"] and not flag_write(detail):
            state["fired"] = True
            storage.app["workflows"] = edit
            raise StorageUnavailable("storage is gone")

    storage.fault = other_tab_then_failure
    env = Env(storage)
    with pytest.raises(RolledBack) as caught:
        await env.migration.run_pending_migrations()
    assert caught.value.details["displaced"] == ["app:workflows"]
    assert "app:workflows" in caught.value.message
    assert live(storage) == original  # the restore is whole, as before
    entry = (await env.migration.get_history())[0]
    assert entry["rolledBack"] is True
    assert entry["displaced"] == [{"area": "app", "key": "workflows", "value": edit}]
    assert storage.own["journal"] == {} and storage.own["staging"] == {}


async def test_a_failed_switch_without_other_writers_displaces_nothing():
    storage = legacy_store()
    original = live(storage)

    def failure(operation, detail):
        if operation == "local_write":
            raise StorageUnavailable("storage is gone")

    storage.fault = failure
    env = Env(storage)
    with pytest.raises(RolledBack) as caught:
        await env.migration.run_pending_migrations()
    storage.fault = None
    assert caught.value.details["displaced"] == []
    assert live(storage) == original
    assert "displaced" not in (await env.migration.get_history())[0]
