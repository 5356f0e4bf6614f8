"""The run's plan is plain data computed from one read, and a dry run's sink writes nothing."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from app.core import digest, jsonstream, keys
from app.core.errors import QuotaExceeded
from app.services.migration import plan as planning
from app.services.migration.report import Staged
from app.services.migration.sinks import DryRunSink
from app.services.migration.state import Run, Snapshot, fingerprint, read_fingerprint
from app.services.migration.transform import batches
from app.storage.memory import MemoryStorage
from tests.unit.services.test_migration import Env, app_record

STARTED_MS = 1_700_000_000_000

TEMPLATES_V1 = [
    {"id": 17, "name": "Résumé “draft” 📝", "content": "Sum up:\r\n  {text}", "folder_id": "writing", "created_at": "2024-03-01T10:00:00.000Z"},
    {"id": "t-2", "name": "日本語のテンプレート", "content": "x" * 3000, "is_favorite": True},
]  # fmt: skip
LEGACY_SNIPPETS = [{"id": "s1", "name": "Grüße", "content": "Hallo 👋"}]


def mixed_snapshot() -> Snapshot:
    """A 1.0.0 store with a legacy key, a collection in AirPromptsDB, a non-JSON collection and other app keys."""
    local = {
        "airprompts_templates": json.dumps(TEMPLATES_V1, ensure_ascii=False),
        "snippets": json.dumps(LEGACY_SNIPPETS, ensure_ascii=False),
        "airprompts_folders": "{not json",
        "airprompts_ui_preferences": json.dumps({"view_mode": "grid"}),
        "airprompts_schema_version": '"1.0.0"',
        "airprompts_todos": '["milk 🥛"]',
    }
    app = {"workflows": app_record("workflows", [{"id": "w1", "name": "Flow “one”", "steps": ["17"]}], 5)}
    return Snapshot(local, app)


def test_the_plan_names_sources_counts_and_values_from_plain_data():
    snapshot = mixed_snapshot()
    before = copy.deepcopy(snapshot)
    counted: list[tuple[str, str | None]] = []

    def count(text: str, member: str | None = None) -> int:
        counted.append((text[:20], member))
        return jsonstream.count_array(text, member)

    plan = planning.read_plan(snapshot, started_ms=STARTED_MS, count_array=count)

    assert snapshot == before  # the plan reads its input, never changes it
    assert plan.plan.needed and plan.plan.from_version == "1.0.0" and plan.plan.to_version == "3.0.0"
    by_id = {src.id: src for src in plan.sources}
    assert set(by_id) == {"airprompts_templates", "airprompts_snippets", "airprompts_folders", "AirPromptsDB:workflows"}
    assert by_id["airprompts_templates"].count == 2 and by_id["airprompts_templates"].error is None
    assert by_id["AirPromptsDB:workflows"].count == 1 and by_id["AirPromptsDB:workflows"].location == "app"
    assert by_id["airprompts_folders"].error is not None and by_id["airprompts_folders"].count == 0
    # The legacy key's records are read from it: its move is in the plan, its origin on the source.
    assert by_id["airprompts_snippets"].read_from == "snippets" and by_id["airprompts_snippets"].count == 1
    assert {"from": "snippets", "to": "airprompts_snippets"} in plan.legacy_report()["moves"]
    assert plan.total == 4
    # Every collection was counted by the given function (the browser's JSON.parse, or the count the
    # bridge took as it read the record): the AirPromptsDB record by its value array.
    assert len(counted) == 4 and [member for _, member in counted].count("value") == 1
    # Values: the ui preferences get their 2.0.0 members; written text is JSON.
    texts = {(area, key): text for area, key, text in plan.values.texts}
    prefs = json.loads(texts[("local", "airprompts_ui_preferences")])
    assert prefs["viewMode"] == "grid" and prefs["defaultFolderId"] is None and prefs["expandedFolders"] == []
    assert plan.values.statuses["airprompts_ui_preferences"] == "upgraded"


def test_a_current_store_plans_nothing_to_change():
    migrated = [{"id": "t1", "name": "Ünïcode ✓", "content": "a\r\nb", "folderId": None, "folderIds": [], "tags": [],
                 "favorite": False, "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z",
                 "context": "", "contextEnabled": False,
                 "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "1.0.0", "sourceKey": "airprompts_templates"}}]  # fmt: skip
    local = {"airprompts_templates": json.dumps(migrated, ensure_ascii=False), "airprompts_schema_version": '"3.0.0"'}
    plan = planning.read_plan(Snapshot(local, {}), started_ms=STARTED_MS)
    assert not plan.plan.needed
    assert plan.values.texts == [] and plan.values.statuses == {}
    assert [src.count for src in plan.sources] == [1]


def test_targets_move_the_largest_collection_to_indexeddb_when_localstorage_is_too_small():
    snapshot = mixed_snapshot()
    plan = planning.read_plan(snapshot, started_ms=STARTED_MS)
    staged = Staged()
    staged.add("airprompts_templates", ('{"id":"17","content":"' + "y" * 5000 + '"}').encode())
    staged.add("airprompts_snippets", '{"id":"s1","name":"Grüße 🙂"}'.encode())
    staged.add("AirPromptsDB:workflows", b'{"id":"w1"}')
    staged.values = list(plan.values.texts)
    migrated = {"airprompts_templates": 1, "airprompts_snippets": 1, "AirPromptsDB:workflows": 1}

    roomy = planning.build_targets("mig-1", STARTED_MS, plan.sources, staged, migrated, snapshot.local)
    assert roomy.moved == [] and roomy.remove == []
    where = {t.key: t.area for t in roomy.targets}
    assert where["airprompts_templates"] == "local" and where["workflows"] == "app"
    assert "airprompts_folders" not in where  # not a JSON array: left as it is
    snippets = next(t for t in roomy.targets if t.key == "airprompts_snippets")
    assert snippets.text == '[{"id":"s1","name":"Grüße 🙂"}]'.encode()  # the staged UTF-8, joined
    workflows = next(t for t in roomy.targets if t.key == "workflows")
    record = json.loads(workflows.text)
    assert record == {"key": "workflows", "value": [{"id": "w1"}], "timestamp": STARTED_MS}
    assert workflows.staging == "mig-1/AirPromptsDB:workflows/"

    small = planning.build_targets("mig-1", STARTED_MS, plan.sources, staged, migrated, snapshot.local, local_limit=4000)
    assert [t.key for t in small.moved] == ["airprompts_templates"]
    assert small.remove == ["airprompts_templates"]
    moved = next(t for t in small.targets if t.key == "templates")
    assert moved.area == "app" and json.loads(moved.text)["value"][0]["id"] == "17"
    assert moved.staging == "mig-1/airprompts_templates/"  # still rebuilt from the same staged batches

    with pytest.raises(QuotaExceeded):
        planning.build_targets("mig-1", STARTED_MS, plan.sources, staged, migrated, snapshot.local, local_limit=10)


async def test_a_run_reads_its_plan_once(monkeypatch):
    calls = []
    real = planning.plan_legacy

    def counting(local):
        calls.append(sorted(local))
        return real(local)

    monkeypatch.setattr(planning, "plan_legacy", counting)
    snapshot = mixed_snapshot()
    env = Env(MemoryStorage(local=dict(snapshot.local), app=dict(snapshot.app)))
    result = await env.migration.run_pending_migrations(batch_size=1)
    assert result["success"] and result["migrated"] == 4
    assert len(calls) == 1


def writes_of(storage: MemoryStorage) -> list[str]:
    seen: list[str] = []
    storage.fault = lambda operation, detail: seen.append(operation)
    return seen


async def test_a_dry_run_writes_nothing_and_reports_what_the_run_then_does():
    snapshot = mixed_snapshot()
    storage = MemoryStorage(local=dict(snapshot.local), app=dict(snapshot.app))
    env = Env(storage)
    own_before = copy.deepcopy(storage.own)
    writes = writes_of(storage)

    dry = await env.migration.dry_run(batch_size=1)

    assert writes == []
    assert storage.local == snapshot.local and storage.app == snapshot.app and storage.own == own_before
    assert dry["dryRun"] is True and dry["needed"] is True
    assert {(t["area"], t["key"]) for t in dry["targets"]} >= {("local", "airprompts_templates"), ("app", "workflows")}

    storage.fault = None
    result = await env.migration.run_pending_migrations(batch_size=1)
    report = result["report"]
    for name in ("migrated", "quarantinedCount", "counts", "values", "legacy"):
        assert report[name] == dry[name], name
    assert [w["code"] for w in report["warnings"]] == [w["code"] for w in dry["warnings"]]
    assert json.loads(storage.local[keys.collection_key("templates")])[0]["name"] == "Résumé “draft” 📝"


async def test_the_dry_run_sink_stages_nothing_and_only_yields():
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    sink = DryRunSink(sleep)
    snapshot = mixed_snapshot()
    plan = planning.read_plan(snapshot, started_ms=STARTED_MS)

    run = Run("dry-1", STARTED_MS, "2023-11-14T22:13:20.000Z", {"batchSize": 1, "batchDelayMs": 0}, plan.plan)
    src = plan.sources[0]
    assert await sink.staged_batches(run, src) == []
    assert sink.wants(run, src, 0) is False
    await sink.stage_values(run, plan.values.texts)
    await sink.finish_source(run, src)
    await sink.after_batch(run, 1, 0.001)
    assert run.cursor == {} and sleeps == [0]


def test_an_airpromptsdb_record_the_counter_answered_is_read_batch_by_batch_without_measuring_its_nesting(monkeypatch):
    # In the browser the bridge counted the record as it read it (nesting included): the plan
    # neither measures nor parses it; the transform reads its array batch by batch.
    items = [{"id": f"t{i}", "name": f"Mod\u00e8le \u201c{i}\u201d \U0001f4dd\r\n", "tags": [[i]]} for i in range(300)]
    whole = {"key": "templates", "value": items, "timestamp": 1, "note": "r\u00e9sum\u00e9 ]}"}
    record = json.dumps(whole, ensure_ascii=False)
    measured: list[int] = []
    monkeypatch.setattr(jsonstream, "nesting_depth", lambda text: measured.append(len(text)) or 0)
    monkeypatch.setattr(jsonstream, "loads", lambda *a, **k: pytest.fail("the record was parsed whole"))
    src = planning.Source("AirPromptsDB:templates", "templates", "templates", "app", raw=record)
    planning.inspect(src, lambda text, member=None: 300)
    assert measured == [] and src.error is None and src.count == 300 and src.items is None
    assert record[src.value_at] == "[" and src.record == {"key": "templates"}
    read = [batch for batch in batches(src, 128)]
    assert [len(batch) for batch in read] == [128, 128, 44] and sum(read, []) == items
    # The members after the array are read once the batches reach its end, in the record's order.
    assert src.record == {"key": "templates", "timestamp": 1, "note": "r\u00e9sum\u00e9 ]}"}
    assert list(src.record) == ["key", "timestamp", "note"]
    # A record the counter refuses is parsed in full, nesting measured, to say what is wrong.
    monkeypatch.undo()
    deep = '{"key":"templates","value":[' + "[" * 600 + "]" * 600 + "]}"
    src = planning.Source("AirPromptsDB:templates", "templates", "templates", "app", raw=deep)
    planning.inspect(src, jsonstream.count_array)
    assert src.error is not None and "nested too deeply" in src.error and src.items is None



def test_the_fingerprint_of_an_earlier_release_is_each_length_prefixed_part_hashed_whole(monkeypatch):
    # A journal of an earlier release names its fingerprint; a resumed run must compute the same.
    snapshot = Snapshot({"airprompts_templates": '[{"name":"Grüße 🙂\r\n"}]', "odd": "\ud83d"}, {"templates": "{}"})

    def expected(digest):
        for area, data in (("local", snapshot.local), ("app", snapshot.app)):
            for key in sorted(data):
                for part in (area, key, data[key]):
                    encoded = part.encode("utf-8", "surrogatepass")
                    digest.update(len(encoded).to_bytes(8, "big") + encoded)
        return digest.hexdigest()

    blake = "blake2b:" + expected(hashlib.blake2b(digest_size=32))
    assert fingerprint(snapshot, like="blake2b:" + "ab" * 32) == blake  # the release before this one
    assert fingerprint(snapshot, like="ab" * 32) == expected(hashlib.sha256())  # a bare SHA-256: earlier ones
    # A long text is encoded a slice at a time: the same hash, whatever the slices cut through.
    snapshot.local["airprompts_snippets"] = '[{"c":"naïve \u201cquote\u201d 👩‍💻\r\n\ud800 中文"}]' * 7
    snapshot.app["big"] = "plain ascii text " * 9
    whole = "blake2b:" + expected(hashlib.blake2b(digest_size=32))
    parts = fingerprint(snapshot)
    sliced: list[int] = []
    slices = digest.utf8_slices
    monkeypatch.setattr(digest, "utf8_slices", lambda text: sliced.append(len(text)) or slices(text))
    for size in (1, 2, 3, 5, 64):
        monkeypatch.setattr(digest, "UTF8_SLICE", size)
        sliced.clear()
        assert fingerprint(snapshot, like=blake) == whole, size
        assert fingerprint(snapshot) == parts, size
        assert len(snapshot.local["airprompts_snippets"]) in sliced and len(snapshot.app["big"]) in sliced


def test_the_fingerprint_hashes_each_values_sha256_which_the_store_may_give():
    snapshot = Snapshot(
        {"airprompts_templates": '[{"name":"Grüße 🙂 “q” — 中文 مرحبا\r\n"}]', "odd": "\ud83d", "theme": "dark"},
        {"templates": '{"key":"templates","value":[]}'},
    )
    hasher = hashlib.blake2b(digest_size=32)
    for area, data in (("local", snapshot.local), ("app", snapshot.app)):
        for key in sorted(data):
            for part in (area, key):
                hasher.update(len(part.encode()).to_bytes(8, "big") + part.encode())
            hasher.update(hashlib.sha256(data[key].encode("utf-8", "surrogatepass")).digest())
    expected = "parts:" + hasher.hexdigest()
    assert fingerprint(snapshot) == expected
    assert fingerprint(snapshot, like="parts:" + "0" * 64) == expected
    # The SHA-256 the browser's bridge took of a text it sent stands for hashing it here.
    given = {("local", "airprompts_templates"): hashlib.sha256(snapshot.local["airprompts_templates"].encode()).digest()}
    assert fingerprint(snapshot, digests=given) == expected
    # It is used, not hashed again: another digest makes another fingerprint.
    assert fingerprint(snapshot, digests={("local", "airprompts_templates"): b"\0" * 32}) != expected
    # Any change of a value, a key or an area changes it.
    assert fingerprint(Snapshot({**snapshot.local, "theme": "light"}, snapshot.app)) != expected
    assert fingerprint(Snapshot({**snapshot.local, "theme2": "dark"}, snapshot.app)) != expected
    assert fingerprint(Snapshot(snapshot.local, {**snapshot.app, "theme": "dark"})) != expected


async def test_read_fingerprint_asks_the_store_for_the_digests_it_took():
    snapshot = Snapshot({"airprompts_templates": "[]" * 40}, {"templates": '{"key":"templates"}'})

    class Hashed(MemoryStorage):
        asked: list = []

        async def text_digests(self, texts):
            self.asked.append(dict(texts))
            return {pair: hashlib.sha256(text.encode()).digest() for pair, text in texts.items() if pair[0] == "app"}

    storage = Hashed()
    assert await read_fingerprint(storage, snapshot) == fingerprint(snapshot)
    assert storage.asked == [{("local", "airprompts_templates"): "[]" * 40, ("app", "templates"): '{"key":"templates"}'}]
    # A journal of an earlier release is compared by its own algorithm, which hashes every text whole.
    blake = fingerprint(snapshot, like="blake2b:")
    assert await read_fingerprint(storage, snapshot, blake) == blake and len(storage.asked) == 1
