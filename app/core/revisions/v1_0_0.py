"""1.0.0: data under the airprompts_* keys, snake_case fields, no folder or tag support.

legacy -> 1.0.0 moves keys (app.core.legacy); the records themselves keep every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.core.revisions.base import Revision

VERSION = "1.0.0"


class _Lenient(BaseModel):
    # Earlier shapes are read by shape, not by validation: documentation, not a gate.
    model_config = ConfigDict(extra="allow")


class TemplateV1(_Lenient):
    """A 1.0.0 template: snake_case fields, no folders or tags."""

    id: str | int
    name: str
    content: str
    is_favorite: bool = False
    created_at: str | int | None = None
    updated_at: str | int | None = None
    last_used: str | int | None = None


def recognise(kind: str, record: Mapping[str, Any], snake: bool, fallback: str | None) -> bool:
    # Any snake_case field means 1.0.0 (legacy when the store is legacy); so does a
    # record with only one-word fields in a 1.0.0 store.
    if fallback == "legacy":
        return False
    return snake or fallback == VERSION


def upgrade(kind: str, record: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return record  # the step is at key level: records keep all their fields


REVISION = Revision(VERSION, "legacy", recognise, upgrade, models={"templates": TemplateV1}, summary="snake_case")
