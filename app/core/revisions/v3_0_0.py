"""3.0.0 (current): templates carry context; user settings carry performance; every record carries metadata.

2.0.0 -> 3.0.0 (data.md section 3): templates get ``context: ""`` and
``contextEnabled: false`` where missing; createdAt and updatedAt become ISO texts
(filled from each other, then lastUsed, then the run's start, which is reported);
``user_settings.performance`` gets the defaults under the user's own values. The
metadata every record carries is stamped by the framework (app.core.revisions),
with the target version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from app.core import steps
from app.core.models import Id, Strict, Timestamp
from app.core.revisions.base import Note, RecordContext, Revision

VERSION = "3.0.0"
PERFORMANCE_DEFAULTS = {"enableVirtualization": True, "enableLazyLoading": True, "cacheSize": 100}


class Metadata(Strict):
    """The 3.0.0 metadata every record carries."""

    schemaVersion: Literal["3.0.0"]
    migratedFrom: str = ""
    sourceKey: str = ""


class _Record(Strict):
    id: Id
    name: str
    favorite: bool = False
    createdAt: Timestamp
    updatedAt: Timestamp
    metadata: Metadata


class _Filed(_Record):
    folderId: str | None
    folderIds: list[str]
    tags: list[str]


class Template(_Filed):
    """A 3.0.0 template."""

    content: str
    context: str
    contextEnabled: bool


class Snippet(_Filed):
    """A 3.0.0 snippet."""

    content: str


class Workflow(_Filed):
    """A 3.0.0 workflow: steps are step objects (a template step runs through type and selectedTemplateId)."""

    steps: list[dict[str, Any]]


class Folder(_Record):
    """A 3.0.0 folder: the live app builds its tree from parent_id, so it keeps both spellings."""

    parentId: str | None
    parent_id: str | None


MODELS = {"templates": Template, "workflows": Workflow, "snippets": Snippet, "folders": Folder}


def recognise(kind: str, record: Mapping[str, Any], snake: bool, fallback: str | None) -> bool:
    metadata = record.get("metadata")
    if snake or not isinstance(metadata, dict) or metadata.get("schemaVersion") != VERSION:
        return False
    if kind == "folders":
        return "parent_id" in record and "parentId" in record
    return kind != "templates" or ("context" in record and "contextEnabled" in record)


def upgrade(kind: str, record: dict[str, Any], ctx: RecordContext) -> dict[str, Any]:
    steps.add_context(kind, record)
    steps.fill_timestamps(record, ctx.now, ctx.notes)
    return record


def upgrade_value(name: str, value: Any, notes: list[Note]) -> Any:
    if name == "user_settings":
        return steps.merge_defaults(value, name, "performance", PERFORMANCE_DEFAULTS, notes)
    return value


REVISION = Revision(VERSION, "2.0.0", recognise, upgrade, upgrade_value, MODELS, summary="context, metadata")
