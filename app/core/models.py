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

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, TypeAdapter, with_config
from typing_extensions import NotRequired, TypedDict

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
    """A 3.0.0 workflow: steps are step objects (a template step runs through type and selectedTemplateId)."""

    steps: list[dict[str, Any]]


class Folder(_Record):
    """A 3.0.0 folder: the live app builds its tree from parent_id, so it keeps both spellings."""

    parentId: str | None
    parent_id: str | None


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


def _checker_type(model: type[BaseModel], made: dict[type, Any]) -> Any:
    """Return a TypedDict with ``model``'s fields and checks, which pydantic validates without building a model.

    The migration only needs the verdict: the record dict that passed is what gets
    stored. A strict TypedDict that ignores unknown fields checks the same fields in
    the same way as the model, about twice as fast (no instance, no copy of the
    unknown fields). Fields with a default may be absent; nested models map to their
    own TypedDict. ``tests/unit/core/test_models_schemas.py`` checks both agree.
    """
    if model in made:
        return made[model]
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = _checker_type(annotation, made)
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        fields[name] = annotation if info.is_required() else NotRequired[annotation]
    checker = TypedDict(f"{model.__name__}Check", fields)  # type: ignore[misc]
    checker.__module__ = __name__
    made[model] = with_config(ConfigDict(extra="ignore", strict=True))(checker)
    return made[model]


_made: dict[type, Any] = {}
# kind -> the validator the migration runs on every record (see _checker_type).
CHECKERS: dict[str, TypeAdapter[Any]] = {kind: TypeAdapter(_checker_type(m, _made)) for kind, m in MODELS.items()}
