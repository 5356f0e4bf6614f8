"""An adversarial corpus: stores of arbitrary JSON text, migrated on the in-memory storage.

Whatever the stored text holds (non-finite and huge numbers, deep nesting, lone
surrogates, NUL characters, ``__proto__`` keys, empty, non-JSON and non-array
collection values, colliding ids such as ``5`` and ``"5"``), every input record
ends up migrated or quarantined and never dropped, every written value parses as
JSON.parse reads it, no other key changes, and a rejected run leaves storage
byte-identical.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import jsonstream, keys
from app.core.errors import MigrateError
from app.storage.memory import MemoryStorage
from tests.unit.services.test_migration import Env


class Raw:
    """A token written into the text as it is (numbers JSON allows but no double holds)."""

    def __init__(self, text: str) -> None:
        self.text = text


def emit(value, ascii_only: bool) -> str:
    """Return JSON text for ``value``, Raw tokens written as they are."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, list):
        return "[" + ",".join(emit(v, ascii_only) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=ascii_only)}:{emit(v, ascii_only)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=ascii_only)


texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["“curly” — em", "مرحبا", "日本語のテキスト", "Привет", "😀👩‍👩‍👧", "a\u0000b", "\r\n", "\ud800", "x\udfff", "{text}"]
    ),
)
raw_numbers = st.sampled_from(["1e400", "-1e400", "1E+999", "9" * 5000, "-0", "0.1e-400", "123456789012345678901234567890"])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False, allow_infinity=False), texts,
    raw_numbers.map(Raw),
)  # fmt: skip
names = st.one_of(
    st.sampled_from(["__proto__", "constructor", "folder_id", "parent_id", "sort_order", "metadata", "legacyFields"]),
    st.sampled_from(["steps", "tags", "folderIds", "created_at", "updatedAt", "Ω名", "\u0000", ""]),
    st.from_regex(r"\A[a-z]{1,4}(_[a-z]{1,4})?\Z"),
)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(names, c, max_size=3), max_leaves=8)
colliding_ids = st.sampled_from([5, "5", 5.0, "", None, True, [5], "rec-1", 1700000000000, "1700000000000"])


@st.composite
def records(draw):
    record = draw(st.dictionaries(names, values, max_size=6))
    if draw(st.booleans()):
        record["id"] = draw(colliding_ids)
    if draw(st.booleans()):
        record["name"] = draw(texts)
    if draw(st.booleans()):
        record["content"] = draw(texts)
    if draw(st.integers(0, 9)) == 0:
        nested: object = draw(scalars)
        for _ in range(draw(st.integers(50, 400))):
            nested = [nested] if draw(st.booleans()) else {"d": nested}
        record["deep"] = nested
    return record


elements = st.one_of(records(), scalars, st.lists(scalars, max_size=2))
collection_texts = st.one_of(
    st.lists(elements, max_size=6).flatmap(lambda items: st.booleans().map(lambda a: emit(items, a))),
    st.sampled_from(["", " ", "not json", "{}", '{"a":1}', "[1,", "[NaN]", "[Infinity]", '"text"', "null", "[]", "42"]),
)


@st.composite
def stores(draw):
    local = {}
    for kind in keys.COLLECTIONS:
        if draw(st.booleans()):
            local[keys.collection_key(kind)] = draw(collection_texts)
    if draw(st.booleans()):
        local["templates"] = draw(collection_texts)  # a legacy key beside (or instead of) the new one
    if draw(st.booleans()):
        local["airprompts_user_settings"] = draw(st.one_of(st.just('{"display_name":"Zoë"}'), collection_texts))
    local[keys.SCHEMA_VERSION_KEY] = draw(st.sampled_from(['"1.0.0"', '"2.0.0"', "1.0.0"]))
    if "templates" in local:
        del local[keys.SCHEMA_VERSION_KEY]  # legacy: nothing recorded
    local["airprompts_todos"] = '[{"t":"never touched \ud83d\ude00"}]'
    local["other-app-key"] = "not ours \u0000"
    return local


def elements_of(text: str | None) -> int | None:
    """Return how many elements ``text`` holds as JSON.parse reads it, None when it is no array."""
    if text is None:
        return None
    try:
        value = jsonstream.loads(text)
    except (ValueError, RecursionError):
        return None
    return len(value) if isinstance(value, list) else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(local=stores())
async def test_every_record_is_migrated_or_quarantined_and_every_written_value_parses(local):
    storage = MemoryStorage(local=dict(local))
    env = Env(storage)
    try:
        result = await env.migration.run_pending_migrations()
    except MigrateError:
        assert storage.local == local and storage.app == {}  # rejected: byte for byte as before
        return
    assert result["success"]
    report = result["report"]
    for source, entry in report["sources"].items():
        assert entry["input"] == entry["migrated"] + entry["quarantined"], source
        if entry["status"] == "invalid-collection":
            continue
        written = storage.local.get(source) if entry["location"] == "local" else None
        if written is not None and entry["status"] != "moved-to-indexeddb":
            assert len(jsonstream.loads(written)) == entry["migrated"], source
    for key in ("airprompts_templates", "airprompts_workflows", "airprompts_snippets", "airprompts_folders"):
        count = elements_of(local.get(key))
        if count is not None and "templates" not in local:
            assert report["sources"][key]["input"] == count, key
    quarantined = [k for k in storage.own.get("quarantine", {}) if k.startswith(result["runId"])]
    assert len([k for k in quarantined if not k.endswith("/collection")]) == result["quarantined"] - sum(
        1 for e in report["sources"].values() if e["status"] == "invalid-collection"
    )
    assert await storage.local_unparsable(list(storage.local)) == [k for k in local if elements_of(local[k]) is None and storage.local.get(k) == local[k] and await_parse_fails(local[k])]
    for key in ("airprompts_todos", "other-app-key", "templates"):
        assert storage.local.get(key) == local.get(key), key  # never changed (legacy keys stay for dual-read)


def await_parse_fails(text: str) -> bool:
    try:
        jsonstream.loads(text)
    except (ValueError, RecursionError):
        return True
    return False


async def test_nesting_deeper_than_python_reads_is_reported_and_left_as_it_is():
    deep = '{"d":' * 5000 + "1" + "}" * 5000
    text = f'[{{"id":"t1","name":"tief","content":"x","deep":{deep}}}]'
    local = {"airprompts_templates": text, "airprompts_schema_version": '"1.0.0"'}
    storage = MemoryStorage(local=dict(local))
    env = Env(storage)
    result = await env.migration.run_pending_migrations()
    entry = result["report"]["sources"]["airprompts_templates"]
    assert entry["status"] == "invalid-collection"
    assert storage.local["airprompts_templates"] == text  # kept byte for byte, never dropped
    (quarantined,) = [v for k, v in storage.own["quarantine"].items() if k.startswith(result["runId"])]
    assert "nested too deeply" in quarantined


async def test_ids_5_and_string_5_collide_and_the_second_is_quarantined_whole():
    text = '[{"id":5,"name":"fünf","content":"a"},{"id":"5","name":"五","content":"b"}]'
    storage = MemoryStorage(local={"airprompts_templates": text, "airprompts_schema_version": '"1.0.0"'})
    env = Env(storage)
    result = await env.migration.run_pending_migrations()
    assert result["migrated"] == 1 and result["quarantined"] == 1
    (kept,) = json.loads(storage.local["airprompts_templates"])
    assert kept["id"] == "5" and kept["name"] == "fünf"
    (entry,) = [json.loads(v) for k, v in storage.own["quarantine"].items() if k.startswith(result["runId"])]
    assert entry["record"] == {"id": "5", "name": "五", "content": "b"}
