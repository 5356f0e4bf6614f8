"""The pydantic models and the JSON Schema documents accept and reject the same records."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from app.core import revisions, schemas
from app.core.revisions import v1_0_0, v2_0_0, v3_0_0
from app.core.validator import Validator

TS = "2024-03-01T10:00:00.000Z"
META = {"schemaVersion": "3.0.0", "migratedFrom": "1.0.0", "sourceKey": "airprompts_templates"}
FILED = {"folderId": None, "folderIds": [], "tags": []}
GOOD = {
    "templates": {"id": "t", "name": "n", "content": "c", "context": "", "contextEnabled": False, **FILED},
    "snippets": {"id": "s", "name": "n", "content": "c", **FILED},
    "workflows": {
        "id": "w",
        "name": "n",
        "steps": [{"id": "w:0", "type": "template", "templateId": "t", "selectedTemplateId": "t"}, {"type": "info"}],
        **FILED,
    },
    "folders": {"id": "f", "name": "n", "parentId": None, "parent_id": None},
}
for _record in GOOD.values():
    _record.update(createdAt=TS, updatedAt=TS, metadata=dict(META))

# (field, value) pairs; None as value means "remove the field".
BAD = [
    ("id", ""), ("id", 17), ("id", None), ("name", 5), ("name", None), ("favorite", 1), ("favorite", None),
    ("createdAt", "yesterday"), ("createdAt", 1709287200000), ("updatedAt", "2024-13-01T00:00:00Z"),
    ("updatedAt", TS + "\n"), ("metadata", {"schemaVersion": "2.0.0"}), ("metadata", {}), ("metadata", "x"),
    ("metadata", {"schemaVersion": "3.0.0", "migratedFrom": 1}),
]  # fmt: skip
BAD_BY_KIND = {
    "templates": [("content", 1), ("context", None), ("contextEnabled", "no"), ("tags", "x"), ("folderIds", [1])],
    "snippets": [("content", None), ("folderId", 3), ("tags", [None])],
    "workflows": [("steps", "a"), ("steps", [1]), ("steps", [None]), ("steps", [["t"]]), ("steps", ["t"])],
    "folders": [("parentId", 1), ("parentId", []), ("parent_id", 1), ("parent_id", {})],
}
GOOD_VARIANTS = [
    ("createdAt", "2024-03-01"), ("createdAt", "2024-03-01T10:00Z"), ("updatedAt", "2024-03-01T10:00:00+02:00"),
    ("updatedAt", "2024-03-01 10:00:00,5"), ("favorite", True), ("__proto__", {"a": 1}), ("constructor", None),
    ("metadata", {"schemaVersion": "3.0.0"}), ("metadata", {**META, "extra": [1]}),
]  # fmt: skip


def agree(kind, record):
    errors_pydantic = Validator.pydantic_errors(kind, record)
    errors_schema = Validator.jsonschema_errors(kind, record)
    assert bool(errors_pydantic) == bool(errors_schema), (record, errors_pydantic, errors_schema)
    return not errors_pydantic


def variant(kind, name, value, *, remove=False):
    record = dict(GOOD[kind])
    if remove:
        record.pop(name, None)
    else:
        record[name] = value
    return record


@pytest.mark.parametrize("name", schemas.NAMES)
def test_schema_documents_are_valid_draft_2020_12(name):
    schema = schemas.load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schemas.schema_validator(name).schema == schemas.load_schema(name + ".schema.json")
    assert schemas.schema_validator(name) is schemas.schema_validator(name)


@pytest.mark.parametrize("kind", GOOD)
def test_good_records_pass_both(kind):
    assert agree(kind, GOOD[kind])
    for name, value in GOOD_VARIANTS:
        assert agree(kind, variant(kind, name, value)), name


@pytest.mark.parametrize("kind", GOOD)
def test_bad_records_fail_both(kind):
    for name, value in BAD + BAD_BY_KIND[kind]:
        assert not agree(kind, variant(kind, name, value)), (name, value)
    required = schemas.load_schema(schemas.KIND_SCHEMAS[kind])["required"]
    assert "id" in required and "metadata" in required
    for name in required:
        assert not agree(kind, variant(kind, name, None, remove=True)), name
    assert not agree(kind, ["not", "an", "object"])


def _errors(validate, record):
    try:
        validate(record)
    except ValidationError as exc:
        # A nested model is a nested TypedDict in the checker: "model_type" there is "dict_type".
        return sorted((error["loc"], error["type"].replace("model_type", "dict_type")) for error in exc.errors())
    return []


@pytest.mark.parametrize("kind", GOOD)
def test_the_checker_the_migration_runs_agrees_with_the_model(kind):
    """revisions.checkers() (a TypedDict per model, twice as fast) finds the very errors the model finds."""
    model, checker = v3_0_0.MODELS[kind], revisions.checkers()[kind]
    records = [GOOD[kind]] + [variant(kind, n, v) for n, v in GOOD_VARIANTS + BAD + BAD_BY_KIND[kind]]
    records += [variant(kind, name, None, remove=True) for name in GOOD[kind]]
    records += [variant(kind, "metadata", {"migratedFrom": 1}), variant(kind, "extra_field", object())]
    for record in records:
        assert _errors(checker.validate_python, record) == _errors(model.model_validate, record), record
    assert _errors(checker.validate_python, "not a record") and _errors(model.model_validate, "not a record")


def test_models_do_not_coerce_or_rewrite():
    record = dict(GOOD["templates"], createdAt="2024-03-01 10:00:00,5", extra={"b": 1, "a": [1.0]})
    model = v3_0_0.Template.model_validate(record)
    assert model.createdAt == "2024-03-01 10:00:00,5"
    assert model.model_extra == {"extra": {"b": 1, "a": [1.0]}}
    assert Validator().validate("templates", dict(record, favorite="true"))


def test_validator_with_jsonschema_reports_both():
    record = dict(GOOD["snippets"], name=5)
    assert Validator().validate("snippets", GOOD["snippets"]) == []
    assert Validator(use_jsonschema=True).validate("snippets", GOOD["snippets"]) == []
    both = Validator(use_jsonschema=True).validate("snippets", record)
    assert len(both) > len(Validator().validate("snippets", record)) >= 1
    assert all(error.startswith("invalid-type: ") for error in both)


def test_backup_envelope_schema():
    validator = schemas.schema_validator("backup-envelope")
    chunk = {"index": 0, "sha256": hashlib.sha256(b"x").hexdigest(), "data": "eA=="}
    good = {"format": "airprompts-migrate-backup", "version": 1, "meta": {"anything": [1]}, "chunks": [chunk]}
    assert validator.is_valid(good)
    assert validator.is_valid({**good, "chunks": [{**chunk, "iv": "abc"}], "extra": 1})
    for broken in [
        {k: v for k, v in good.items() if k != "meta"},
        {**good, "format": "other"},
        {**good, "version": 2},
        {**good, "chunks": [{**chunk, "sha256": "XYZ"}]},
        {**good, "chunks": [{"index": -1, "sha256": chunk["sha256"], "data": ""}]},
        {**good, "chunks": [{"index": 0, "sha256": chunk["sha256"]}]},
    ]:
        assert not validator.is_valid(broken)


# -- generated records ------------------------------------------------------------

text = st.text(max_size=8)
timestamps = st.one_of(
    st.just(TS),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"),
    text,
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), text)
any_value = st.one_of(json_scalars, st.lists(json_scalars, max_size=3), st.dictionaries(text, json_scalars, max_size=3))
FIELD_VALUES = {
    "id": st.one_of(text, st.integers(0, 10**13)),
    "name": st.one_of(text, json_scalars),
    "content": st.one_of(text, json_scalars),
    "context": st.one_of(text, st.booleans()),
    "contextEnabled": st.one_of(st.booleans(), st.integers(0, 1)),
    "favorite": st.one_of(st.booleans(), st.integers(0, 1), st.none()),
    "folderId": st.one_of(st.none(), text, st.integers()),
    "folderIds": st.one_of(st.lists(text, max_size=3), st.lists(json_scalars, max_size=2), text),
    "tags": st.one_of(st.lists(text, max_size=3), text, st.none()),
    "parentId": st.one_of(st.none(), text, st.integers()),
    "steps": st.one_of(
        st.lists(st.one_of(text, st.dictionaries(text, json_scalars, max_size=2)), max_size=3), any_value
    ),
    "createdAt": timestamps,
    "updatedAt": timestamps,
    "metadata": st.one_of(
        st.just(META),
        st.fixed_dictionaries(
            {"schemaVersion": st.sampled_from(["3.0.0", "2.0.0"])}, optional={"migratedFrom": json_scalars}
        ),
        any_value,
    ),
}


@st.composite
def generated_records(draw, kind):
    base = dict(GOOD[kind])
    for name, strategy in FIELD_VALUES.items():
        choice = draw(st.sampled_from(["keep", "keep", "change", "remove"]))
        if choice == "change":
            base[name] = draw(strategy)
        elif choice == "remove":
            base.pop(name, None)
    base.update(
        draw(st.dictionaries(st.sampled_from(["__proto__", "constructor", "x_y", "Ω", "model_config"]), any_value))
    )
    return base


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(sorted(GOOD)))
def test_generated_records_get_the_same_verdict(data, kind):
    agree(kind, data.draw(generated_records(kind)))


def test_earlier_version_models_describe_the_earlier_shapes():
    v1 = {"id": 17, "name": "Summary", "content": "c", "folder_id": "w", "is_favorite": True, "created_at": TS}
    assert v1_0_0.TemplateV1.model_validate(v1).is_favorite is True
    v2 = v2_0_0.TemplateV2.model_validate({"id": "a", "name": "n", "content": "c", "folderId": "f", "tags": ["t"]})
    assert v2.folderIds == [] and v2.tags == ["t"]


def test_envelope_checksum_must_be_exactly_64_hex_digits():
    validator = schemas.schema_validator("backup-envelope")
    chunk = {"index": 0, "sha256": "a" * 64 + "\n", "data": ""}
    assert not validator.is_valid({"format": "airprompts-migrate-backup", "version": 1, "meta": {}, "chunks": [chunk]})


def test_record_schema_files_are_generated_from_the_models_and_not_stale():
    # Edit the models in app/core/revisions/, then run `python -m app.core.schemas` (make schemas) to write them.
    assert schemas.stale() == []
    for name in schemas.KIND_SCHEMAS.values():
        assert schemas.load_schema(name) == schemas.generate(name)
        assert schemas.load_schema(name)["$id"].endswith(f":{name}")


TIMESTAMPISH = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,6})?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?)?\n?\Z"),
    st.sampled_from(["2024-01-01\n", "2024-02-30T23:59:60Z", "\n2024-01-01", "2024-01-01T10:00\n\n", "２０２４-01-01"]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(TIMESTAMPISH)
def test_the_timestamp_pattern_pydantic_checks_is_python_s_pattern(text):
    # pydantic-core checks timestamps with the Rust regex; the JSON Schema documents and Python's
    # re hold the pattern with "(?!\n)$". Both must accept exactly the same texts.
    from pydantic import TypeAdapter

    from app.core.models import Timestamp
    from app.core.timestamps import is_iso

    try:
        TypeAdapter(Timestamp).validate_python(text, strict=True)
        accepted = True
    except ValidationError as exc:
        assert [e["type"] for e in exc.errors()] == ["string_pattern_mismatch"]
        accepted = False
    assert accepted == is_iso(text)
