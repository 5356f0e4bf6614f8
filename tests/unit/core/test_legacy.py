"""The legacy -> 1.0.0 step at key level."""

from __future__ import annotations

import json

from app.core.legacy import Move, plan_legacy


def test_single_sources_move_byte_for_byte():
    templates = '[ {"id": 1, "name": "é", "created_at": 5} ]'
    local = {"templates": templates, "theme": "dark", "ui-prefs": '{"sidebar_width": 3}', "templates_backup": "[]"}
    plan = plan_legacy(local)
    assert plan.values == {
        "airprompts_templates": templates,
        "airprompts_theme_preference": '"dark"',
        "airprompts_ui_preferences": '{"sidebar_width": 3}',
    }
    assert json.loads(plan.values["airprompts_theme_preference"]) == "dark"
    assert sorted(plan.legacy_keys) == ["templates", "theme", "ui-prefs"]
    assert Move("templates", "airprompts_templates") in plan.moves
    assert plan.conflicts == []
    json.dumps(plan.to_dict())


def test_quoted_theme_stays_as_it_is_and_null_keys_are_ignored():
    plan = plan_legacy({"theme": '"light"', "snippets": None})
    assert plan.values == {"airprompts_theme_preference": '"light"'}
    assert plan.legacy_keys == ["theme"]


def test_collection_in_both_places_is_merged_by_id_newer_wins_loser_reported():
    old = [
        {"id": 1, "name": "legacy newer", "updated_at": "2024-05-01T00:00:00Z"},
        {"id": 2, "name": "legacy older", "updated_at": "2024-01-01T00:00:00Z"},
        {"id": 3, "name": "only legacy"},
        {"name": "no id"},
    ]
    new = [
        {"id": "1", "name": "new older", "updatedAt": "2024-04-01T00:00:00Z"},
        {"id": "2", "name": "new newer", "updatedAt": "2024-02-01T00:00:00Z"},
        {"id": "4", "name": "only new"},
    ]
    plan = plan_legacy({"templates": json.dumps(old), "airprompts_templates": json.dumps(new)})
    merged = json.loads(plan.values["airprompts_templates"])
    assert [r["name"] for r in merged] == ["legacy newer", "new newer", "only new", "only legacy", "no id"]
    losers = {c["record"]["name"]: c for c in plan.conflicts}
    assert set(losers) == {"new older", "legacy older"}
    assert losers["new older"]["dropped_from"] == "airprompts_templates"
    assert losers["new older"]["kept_from"] == "templates"
    assert losers["legacy older"]["dropped_from"] == "templates"
    # Every record of either side is somewhere: in the merged value or in the conflicts.
    everywhere = [r["name"] for r in merged] + [c["record"]["name"] for c in plan.conflicts]
    assert sorted(everywhere) == sorted(r["name"] for r in old + new)


def test_equal_times_keep_the_new_key_copy():
    old = [{"id": "a", "v": "legacy", "updatedAt": "2024-01-01T00:00:00Z"}]
    new = [{"id": "a", "v": "new", "updatedAt": "2024-01-01T00:00:00.000Z"}]
    plan = plan_legacy({"ap_templates": json.dumps(old), "airprompts_templates": json.dumps(new)})
    assert "airprompts_templates" not in plan.values  # nothing to write: the new key already holds the result
    assert [c["record"]["v"] for c in plan.conflicts] == ["legacy"]


def test_three_legacy_spellings_merge_into_one_target():
    local = {
        "templates": json.dumps([{"id": 1, "updated_at": 1}]),
        "ap_templates": json.dumps([{"id": 1, "updated_at": 3}, {"id": 2}]),
        "airprompts-templates": json.dumps([{"id": 1, "updatedAt": 2}]),
    }
    plan = plan_legacy(local)
    merged = json.loads(plan.values["airprompts_templates"])
    assert merged == [{"id": 1, "updated_at": 3}, {"id": 2}]
    assert len(plan.conflicts) == 2
    assert len(plan.moves) == 3


def test_non_collection_target_already_set_wins_and_legacy_value_is_reported():
    plan = plan_legacy({"ui-prefs": '{"a": 1}', "airprompts_ui_preferences": '{"b": 2}'})
    assert plan.values == {}
    assert plan.conflicts[0]["record"] == {"a": 1} and plan.conflicts[0]["kept_from"] == "airprompts_ui_preferences"


def test_plain_arrays_are_united():
    plan = plan_legacy({"tags": '["a", "b"]', "airprompts_tags": '["b", "c"]'})
    assert json.loads(plan.values["airprompts_tags"]) == ["b", "c", "a"]


def test_raw_string_collection_target_is_not_overwritten():
    plan = plan_legacy({"templates": "[]", "airprompts_templates": "oops"})
    assert plan.values == {} and plan.conflicts[0]["record"] == []


def test_a_record_whose_id_is_an_array_or_object_is_kept_unmatched_not_a_crash():
    # Found by the adversarial property test: an unhashable id in the new key's copy stopped the plan.
    target = [{"id": [5], "name": "liste"}, {"id": {"n": 1}, "name": "objet"}, {"id": "t1", "name": "Résumé “a”", "updatedAt": "2024-06-01T00:00:00.000Z"}]
    legacy = [{"id": "t1", "name": "ancien", "updatedAt": "2020-01-01T00:00:00.000Z"}, {"id": [5], "name": "autre"}]
    plan = plan_legacy({"airprompts_templates": json.dumps(target, ensure_ascii=False), "templates": json.dumps(legacy)})
    merged = json.loads(plan.values["airprompts_templates"])
    names = sorted(r["name"] for r in merged)
    assert names == sorted(["liste", "objet", "Résumé “a”", "autre"])  # nothing dropped; the t1 copies merged
