"""Pydantic models of the records, per schema version and kind.

The 3.0.0 models only check: they run in strict mode, so nothing is coerced,
and the record dict that passed is what gets stored (never a re-serialized
model). Unknown fields are allowed and kept. ``static/schemas/*.schema.json``
say the same in JSON Schema; tests keep both in agreement.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from app.core.timestamps import ISO_PATTERN

_log = logging.getLogger(__name__)

_ISO = re.compile(ISO_PATTERN)


def _check_iso(value: str) -> str:
    # Same pattern and same search as the JSON Schema "pattern" keyword.
    if _ISO.search(value) is None:
        raise ValueError("not an ISO 8601 timestamp")
    return value


Id = Annotated[str, StringConstraints(min_length=1)]
Timestamp = Annotated[str, AfterValidator(_check_iso)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Metadata(_Strict):
    """The 3.0.0 metadata every record carries."""

    schemaVersion: Literal["3.0.0"]
    migratedFrom: str = ""
    sourceKey: str = ""


class _Record(_Strict):
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
    """A 3.0.0 workflow: steps are template ids or step objects."""

    steps: list[str | dict[str, Any]]


class Folder(_Record):
    """A 3.0.0 folder."""

    parentId: str | None


# Earlier versions, documented as models; they are lenient (not strict) because
# the migration reads them by shape, not by validation.
class _Lenient(BaseModel):
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


class TemplateV2(_Lenient):
    """A 2.0.0 template: camelCase fields with folders and tags."""

    id: str | int
    name: str
    content: str
    folderId: str | None = None
    folderIds: list[str] = []
    tags: list[str] = []
    favorite: bool = False
    createdAt: str | None = None
    updatedAt: str | None = None


MODELS: dict[str, type[_Record]] = {
    "templates": Template,
    "workflows": Workflow,
    "snippets": Snippet,
    "folders": Folder,
}
