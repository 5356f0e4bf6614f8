"""The building blocks of the record models; each schema version's models live in its module.

The target version's models (app.core.revisions.v3_0_0 today) only check: they run in strict mode, so nothing is coerced,
and the record dict that passed is what gets stored (never a re-serialized
model). Unknown fields are allowed and kept. The record documents in
``static/schemas/`` are generated from these models (``python -m app.core.schemas``);
tests keep both in agreement and fail when a file is stale.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, WithJsonSchema, with_config
from typing_extensions import NotRequired, TypedDict

from app.core.timestamps import ISO_PATTERN

_log = logging.getLogger(__name__)

# The same pattern for pydantic-core's Rust regex, which has no lookahead: there "$" is the end
# of the text, what "(?!\n)$" says in Python's re. Checked in Rust, a timestamp costs no call
# back into Python (two per record, a third of a record's validation inside Pyodide).
RUST_ISO_PATTERN = ISO_PATTERN.replace(r"(?!\n)$", "$")
TIMESTAMP_MESSAGE = "Value error, not an ISO 8601 timestamp"


Id = Annotated[str, StringConstraints(min_length=1)]
Timestamp = Annotated[
    str,
    StringConstraints(pattern=RUST_ISO_PATTERN),
    WithJsonSchema({"description": "ISO 8601 date or date-time, kept as written", "type": "string", "pattern": ISO_PATTERN}),
]


class Strict(BaseModel):
    """The base of the target version's record models: nothing coerced, unknown fields kept."""

    model_config = ConfigDict(extra="allow", strict=True)


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


def checkers(models: dict[str, type[BaseModel]]) -> dict[str, TypeAdapter[Any]]:
    """Return kind -> the validator the migration runs on every record (see _checker_type)."""
    made: dict[type, Any] = {}
    return {kind: TypeAdapter(_checker_type(model, made)) for kind, model in models.items()}
