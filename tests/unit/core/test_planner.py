"""The migration plan."""

from __future__ import annotations

import json

import pytest

from app.core import keys
from app.core.errors import PlanError
from app.core.planner import make_plan


def test_legacy_store_plans_every_step():
    plan = make_plan({"templates": "[]", "theme": "dark", "airprompts_todos": "[]"}, [])
    assert plan.from_version == "legacy" and plan.to_version == "3.0.0"
    assert plan.steps == ["legacy->1.0.0", "1.0.0->2.0.0", "2.0.0->3.0.0"]
    assert plan.legacy_keys == ["templates", "theme"]
    assert plan.collections == [
        {"kind": "templates", "source_key": "airprompts_templates", "location": "local", "authoritative": True}
    ]
    assert plan.values == ["airprompts_theme_preference"]
    assert plan.needed
    json.dumps(plan.to_dict())


def test_both_locations_are_listed_and_indexeddb_is_authoritative():
    local = {keys.SCHEMA_VERSION_KEY: '"2.0.0"', "airprompts_templates": "[]", "airprompts_user_settings": "{}"}
    plan = make_plan(local, ["templates", "folders", "ui_preferences", "unrelated"])
    assert plan.steps == ["2.0.0->3.0.0"]
    assert plan.collections == [
        {"kind": "templates", "source_key": "airprompts_templates", "location": "local", "authoritative": False},
        {"kind": "templates", "source_key": "AirPromptsDB:templates", "location": "app", "authoritative": True},
        {"kind": "folders", "source_key": "AirPromptsDB:folders", "location": "app", "authoritative": True},
    ]
    assert plan.values == ["airprompts_user_settings", "AirPromptsDB:ui_preferences"]


def test_current_store_needs_nothing():
    plan = make_plan({keys.SCHEMA_VERSION_KEY: '"3.0.0"', "airprompts_templates": "[]"}, [])
    assert plan.steps == [] and not plan.needed and plan.recorded_version == "3.0.0"
    assert not make_plan({}, []).needed


def test_unrecorded_current_shapes_still_need_the_run_that_records_the_version():
    record = {"id": "a", "metadata": {"schemaVersion": "3.0.0"}}
    plan = make_plan({"airprompts_snippets": json.dumps([record])}, [])
    assert plan.from_version == "3.0.0" and plan.steps == [] and plan.needed


def test_data_version_2_0_means_2_0_0():
    plan = make_plan({keys.DATA_VERSION_KEY: "2.0", "airprompts_folders": "[]"}, [])
    assert plan.from_version == "2.0.0" and plan.steps == ["2.0.0->3.0.0"]


@pytest.mark.parametrize(("recorded", "words"), [('"4.0.0"', "downgrade"), ('"0.9"', "no migration path"), ("x", "no")])
def test_unknown_or_newer_versions_are_refused(recorded, words):
    with pytest.raises(PlanError, match=words) as info:
        make_plan({keys.SCHEMA_VERSION_KEY: recorded}, [])
    assert info.value.details["target"] == "3.0.0"
