"""Properties of the whole transform over generated records."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import keys
from app.core.fields import is_snake
from app.core.steps import camel_name, same_value
from app.core.transform import CollectionTransformer, Context
from app.core.validator import References, Validator

NOW = "2025-06-01T12:00:00.000Z"
NAMED = {
    "id", "name", "content", "folderId", "folderIds", "tags", "favorite", "createdAt", "updatedAt", "context",
    "contextEnabled", "metadata", "parentId", "steps", "legacyFields", "lastUsed",
}  # fmt: skip
KINDS = keys.COLLECTIONS

unicode_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["😀 emoji 👩‍👩‍👧", "مرحبا بالعالم", "\u202eRTL override", "שלום", "a\u0000b", "\r\n\t", "{text}"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    unicode_text,
)
values = st.recursive(
    scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(unicode_text, c, max_size=3), max_leaves=6
)
field_names = st.one_of(
    st.from_regex(r"\A[a-z]{1,5}(_[a-z]{1,5}){1,2}\Z"),
    st.from_regex(r"\A[a-z]{1,5}[A-Z][a-z]{0,4}\Z"),
    st.sampled_from(["__proto__", "constructor", "prototype", "Ω名", "\u200fkey", "model_config", "x"]),
).filter(lambda k: k not in NAMED and not (is_snake(k) and camel_name(k) in NAMED))
ids = st.one_of(st.integers(0, 2**53), st.text(min_size=1, max_size=10), st.sampled_from(["17", "0", "rec-1"]))
timestamps = st.one_of(st.sampled_from(["2024-03-01T10:00:00.000Z", "2023-12-31"]), st.integers(0, 4 * 10**12))


@st.composite
def records(draw, kind):
    record = dict(draw(st.dictionaries(field_names, values, max_size=5)))
    record["id"] = draw(ids)
    record["name"] = draw(unicode_text)
    if kind in ("templates", "snippets"):
        record["content"] = draw(unicode_text)
    if kind == "workflows":
        record["steps"] = draw(st.lists(st.one_of(ids, st.builds(lambda i: {"template_id": i}, ids)), max_size=3))
    snake = draw(st.booleans())
    for name in ("created_at", "updated_at") if snake else ("createdAt", "updatedAt"):
        if draw(st.booleans()):
            record[name] = draw(timestamps)
    if draw(st.booleans()):
        record["is_favorite" if snake else "favorite"] = draw(st.booleans())
    return record


def run(kind, batch, refs=None, store_version="1.0.0"):
    refs = refs if refs is not None else References()
    transformer = CollectionTransformer(Context(kind, keys.collection_key(kind), store_version, NOW), Validator(), refs)
    results = [transformer.run(batch[i : i + 7], i) for i in range(0, len(batch), 7)]
    kept = [r for result in results for r in result.records]
    quarantined = [q for result in results for q in result.quarantined]
    repairs = [i for result in results for i in result.repairs]
    return kept, quarantined, repairs


def check_preserved(original, migrated):
    for name, value in original.items():
        if name in NAMED or (is_snake(name) and camel_name(name) in NAMED):
            continue
        if is_snake(name):
            camel = camel_name(name)
            legacy = migrated.get("legacyFields", {})
            assert (
                (camel in migrated and same_value(migrated[camel], value))
                or (name in legacy and same_value(legacy[name], value))
                or (camel in original and same_value(original[camel], value))
            ), name
            assert name not in migrated
        else:
            assert same_value(migrated[name], value), name
    for name in ("name", "content"):
        if name in original:
            assert migrated[name] == original[name] and type(migrated[name]) is str


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), kind=st.sampled_from(KINDS))
def test_transform_preserves_records_and_is_idempotent(data, kind):
    batch = data.draw(st.lists(records(kind), max_size=12))
    before = copy.deepcopy(batch)
    kept, quarantined, _ = run(kind, batch)
    assert batch == before  # input never mutated
    assert len(kept) + len(quarantined) == len(batch)
    # Only duplicates are quarantined: the generator makes no wrong types.
    assert all(q.code == "duplicate-id" for q in quarantined)
    seen: list[str] = []
    for original in batch:
        text_id = str(original["id"]) if not isinstance(original["id"], str) else original["id"]
        if text_id not in seen:
            seen.append(text_id)
    assert [r["id"] for r in kept] == seen
    kept_originals = [o for o in batch if all(o is not q.record for q in quarantined)]
    for original, migrated in zip(kept_originals, kept, strict=True):
        check_preserved(original, migrated)
        assert Validator(use_jsonschema=True).validate(kind, migrated) == []
    again, quarantined2, repairs2 = run(kind, kept, store_version="3.0.0")
    assert again == kept and quarantined2 == [] and repairs2 == []


@settings(max_examples=60)
@given(
    folder_ids=st.lists(st.integers(0, 2**53), min_size=1, max_size=5, unique=True),
    template_ids=st.lists(st.integers(0, 2**53), min_size=1, max_size=5, unique=True),
    data=st.data(),
)
def test_numeric_ids_and_their_references_stay_linked(folder_ids, template_ids, data):
    pick_folder = st.sampled_from(folder_ids)
    folders = [{"id": i, "name": "f", "parent_id": data.draw(st.one_of(st.none(), pick_folder))} for i in folder_ids]
    templates = [
        {
            "id": i,
            "name": "t",
            "content": "c",
            "folder_id": data.draw(pick_folder),
            "folderIds": [data.draw(pick_folder)],
        }
        for i in template_ids
    ]
    pick_template = st.sampled_from(template_ids)
    workflows = [
        {
            "id": "w",
            "name": "w",
            "steps": [data.draw(pick_template), {"template_id": data.draw(pick_template)}],
            "folder_id": data.draw(pick_folder),
        }
    ]
    refs = References()
    out = {}
    for kind, batch in (("folders", folders), ("templates", templates), ("workflows", workflows)):
        kept, quarantined, _ = run(kind, batch, refs)
        assert quarantined == []
        out[kind] = kept
    assert refs.dangling() == []
    assert [f["id"] for f in out["folders"]] == [str(i) for i in folder_ids]
    for original, migrated in zip(templates, out["templates"], strict=True):
        assert migrated["folderId"] == str(original["folder_id"])
        assert migrated["folderId"] in migrated["folderIds"]
    step_refs = out["workflows"][0]["steps"]
    bare = str(workflows[0]["steps"][0])
    assert step_refs[0] == {"id": "w:0", "type": "template", "templateId": bare, "selectedTemplateId": bare}
    named = str(workflows[0]["steps"][1]["template_id"])
    assert step_refs[1] == {"templateId": named, "type": "template", "selectedTemplateId": named}
