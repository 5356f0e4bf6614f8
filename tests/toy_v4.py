"""A toy schema version 4.0.0, in one file: what a developer adds for the next shape of the data.

Templates gain one field, ``tone`` ("neutral" where missing). Everything else is
the 3.0.0 shape with the 4.0.0 metadata. Register it by appending ``REVISION`` to
``app.core.revisions.REGISTRY`` (the tests do that for the length of a test).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from app.core.models import Strict
from app.core.revisions import v3_0_0
from app.core.revisions.base import RecordContext, Revision

VERSION = "4.0.0"


class Metadata(Strict):
    schemaVersion: Literal["4.0.0"]
    migratedFrom: str = ""
    sourceKey: str = ""


class Template(v3_0_0.Template):
    """A 4.0.0 template: a 3.0.0 template with its tone."""

    metadata: Metadata
    tone: str


class Workflow(v3_0_0.Workflow):
    """A 4.0.0 workflow."""

    metadata: Metadata


class Snippet(v3_0_0.Snippet):
    """A 4.0.0 snippet."""

    metadata: Metadata


class Folder(v3_0_0.Folder):
    """A 4.0.0 folder."""

    metadata: Metadata


def recognise(kind: str, record: Mapping[str, Any], snake: bool, fallback: str | None) -> bool:
    metadata = record.get("metadata")
    if snake or not isinstance(metadata, dict) or metadata.get("schemaVersion") != VERSION:
        return False
    return kind != "templates" or "tone" in record


def upgrade(kind: str, record: dict[str, Any], ctx: RecordContext) -> dict[str, Any]:
    if kind == "templates" and "tone" not in record:
        record["tone"] = "neutral"
    return record


REVISION = Revision(
    VERSION,
    "3.0.0",
    recognise,
    upgrade,
    models={"templates": Template, "workflows": Workflow, "snippets": Snippet, "folders": Folder},
    summary="templates carry a tone",
)
