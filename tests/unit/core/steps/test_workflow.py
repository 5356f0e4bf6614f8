"""Workflow steps become step objects the live app runs."""

from __future__ import annotations

from app.core import steps
from tests.unit.core.steps.support import (
    up,
)


def test_workflow_steps_keep_their_type_and_selection():
    workflow = {
        "id": "w",
        "name": "w",
        "steps": [
            {"id": "s1", "type": "info", "content": "Lies dies zuerst – «wichtig»"},
            {"id": "s2", "type": "insert", "templateId": "t1"},
            {"id": "s3", "templateOptions": ["t1", 2], "selectedTemplateId": None, "templateId": "t1"},
            {"id": "s4", "type": "workflow", "workflowId": "w2"},
        ],
    }
    rec, _, _ = up("workflows", workflow, source_key="airprompts_workflows")
    assert rec["steps"] == [
        {"id": "s1", "type": "info", "content": "Lies dies zuerst – «wichtig»"},
        {"id": "s2", "type": "insert", "templateId": "t1", "selectedTemplateId": "t1"},
        {"id": "s3", "templateOptions": ["t1", "2"], "selectedTemplateId": "t1", "templateId": "t1", "type": "template"},
        {"id": "s4", "type": "workflow", "workflowId": "w2"},
    ]
    again, _, _ = up("workflows", rec, source_key="airprompts_workflows")
    assert again["steps"] == rec["steps"]


def test_workflow_step_conflict_keeps_snake_value_on_the_step():
    rec = steps.rename_fields("workflows", {"steps": [{"template_id": "a", "templateId": "b"}]})
    assert rec["steps"] == [
        {"templateId": "b", "legacyFields": {"template_id": "a"}, "type": "template", "selectedTemplateId": "b"}
    ]
