"""Workflow steps: each becomes a step object the live app runs (data.md section 3, 1.0.0 -> 2.0.0)."""

from __future__ import annotations

from typing import Any

from app.core import ids
from app.core.steps.names import has_snake_field, renamed

# Workflow step fields that reference a template.
STEP_TEMPLATE_REFS = ("templateId", "selectedTemplateId")
TEMPLATE_STEP = "template"


def id_list(values: list[Any]) -> list[Any]:
    """Return ``values`` with numeric ids as decimal strings; the very same list when none is numeric."""
    if any(ids.is_number(value) for value in values):
        return [ids.id_text(value) for value in values]
    return values


def step_entry(step: Any, workflow_id: Any, index: int) -> Any:
    """Return one workflow step as a step object the live app runs.

    A bare template id becomes ``{id, type: "template", templateId, selectedTemplateId}``;
    a step object gets camelCase fields, string template ids, and the ``type`` and
    ``selectedTemplateId`` the app runs it through when it names a template.
    """
    if ids.is_number(step):
        step = ids.number_text(step)
    if isinstance(step, str):
        return {
            "id": f"{ids.id_text(workflow_id)}:{index}",
            "type": TEMPLATE_STEP,
            "templateId": step,
            "selectedTemplateId": step,
        }
    if not isinstance(step, dict):
        return step
    original = step
    if has_snake_field(step):
        step = renamed(step)
    for ref in STEP_TEMPLATE_REFS:
        if ids.is_number(step.get(ref)):
            if step is original:
                step = dict(step)
            step[ref] = ids.number_text(step[ref])
    options = step.get("templateOptions")
    if isinstance(options, list) and any(ids.is_number(option) for option in options):
        if step is original:
            step = dict(step)
        step["templateOptions"] = id_list(options)
    template_id = step.get("templateId")
    names_template = template_id is not None or step.get("selectedTemplateId") is not None
    if names_template and (step.get("type") is None or step.get("selectedTemplateId") is None):
        if step is original:
            step = dict(step)
        if step.get("type") is None:
            step["type"] = TEMPLATE_STEP
        if step.get("selectedTemplateId") is None:
            step["selectedTemplateId"] = template_id
    return step


def workflow_steps(steps: list[Any], workflow_id: Any) -> list[Any]:
    """Return a workflow's steps as step objects; the very same list when none changed."""
    new = [step_entry(step, workflow_id, index) for index, step in enumerate(steps)]
    # Keep the very same list when nothing changed: cheaper and shares nothing new.
    if all(a is b for a, b in zip(new, steps, strict=True)):
        return steps
    return new
