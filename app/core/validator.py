"""Validation of 3.0.0 records (data.md section 4): schema checks and referential integrity."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from app.core import issues, revisions
from app.core.ids import stable_id
from app.core.issues import Issue, Quarantined
from app.core.models import RUST_ISO_PATTERN, TIMESTAMP_MESSAGE
from app.core.schemas import KIND_SCHEMAS, schema_validator
from app.core.steps import STEP_TEMPLATE_REFS

_log = logging.getLogger(__name__)

__all__ = ["Issue", "Quarantined", "References", "Validator", "stable_id"]


def _where(path: Iterable[Any]) -> str:
    return ".".join(str(part) for part in path) or "record"


def _message(error: Mapping[str, Any]) -> str:
    # A timestamp's pattern is checked by pydantic-core: say what it means, not the pattern.
    if error.get("type") == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == RUST_ISO_PATTERN:
        return TIMESTAMP_MESSAGE
    return str(error["msg"])


class Validator:
    """Check records against the 3.0.0 pydantic models, and optionally the JSON Schemas."""

    def __init__(self, *, use_jsonschema: bool = False) -> None:
        # jsonschema costs about 7x pydantic per record in Pyodide: off for bulk data.
        self.use_jsonschema = use_jsonschema

    def validate(self, kind: str, record: dict[str, Any]) -> list[str]:
        """Return the errors of ``record`` as a 3.0.0 ``kind`` record; empty when valid."""
        errors = self.pydantic_errors(kind, record)
        if self.use_jsonschema:
            errors.extend(error for error in self.jsonschema_errors(kind, record) if error not in errors)
        return errors

    @staticmethod
    def pydantic_errors(kind: str, record: Any) -> list[str]:
        """Return the errors of ``record`` against the 3.0.0 pydantic model (through its checker type)."""
        try:
            revisions.checkers()[kind].validate_python(record)
        except ValidationError as exc:
            return [f"{issues.INVALID_TYPE}: {_where(error['loc'])}: {_message(error)}" for error in exc.errors()]
        return []

    @staticmethod
    def jsonschema_errors(kind: str, record: Any) -> list[str]:
        """Return the JSON Schema document's errors for ``record``."""
        validator = schema_validator(KIND_SCHEMAS[kind])
        return [
            f"{issues.INVALID_TYPE}: {_where(error.absolute_path)}: {error.message}"
            for error in validator.iter_errors(record)
        ]


# (kind, index, id, field, target kind, target id)
_Ref = tuple[str, int, str, str, str, str]

_DANGLING_CODES = {"folders": issues.DANGLING_FOLDER, "templates": issues.DANGLING_TEMPLATE}


class References:
    """Accumulate ids and references batch by batch, then report the dangling ones."""

    def __init__(self) -> None:
        self.ids: dict[str, set[str]] = {}
        self._refs: list[_Ref] = []

    def add(self, kind: str, record: dict[str, Any], index: int = -1) -> None:
        """Record the id of a kept ``record`` and the references it makes."""
        record_id = record.get("id")
        if isinstance(record_id, str):
            self.ids.setdefault(kind, set()).add(record_id)
        else:
            record_id = ""
        refs = self._refs
        if kind == "folders":
            parent = record.get("parentId")
            if isinstance(parent, str) and parent:
                refs.append((kind, index, record_id, "parentId", "folders", parent))
            return
        folder_id = record.get("folderId")
        if isinstance(folder_id, str) and folder_id:
            refs.append((kind, index, record_id, "folderId", "folders", folder_id))
        folder_ids = record.get("folderIds")
        if isinstance(folder_ids, list):
            for target in folder_ids:
                if isinstance(target, str) and target and target != folder_id:
                    refs.append((kind, index, record_id, "folderIds", "folders", target))
        if kind == "workflows" and isinstance(record.get("steps"), list):
            for position, step in enumerate(record["steps"]):
                if isinstance(step, str):
                    refs.append((kind, index, record_id, f"steps.{position}", "templates", step))
                elif isinstance(step, dict):
                    named: set[str] = set()  # selectedTemplateId is usually templateId: one warning
                    for name in STEP_TEMPLATE_REFS:
                        target = step.get(name)
                        if isinstance(target, str) and target and target not in named:
                            named.add(target)
                            refs.append((kind, index, record_id, f"steps.{position}.{name}", "templates", target))

    def mark(self) -> int:
        """Return a position in the references made so far (for ``since``)."""
        return len(self._refs)

    def since(self, mark: int) -> list[list[Any]]:
        """Return the references made after ``mark`` as JSON-compatible lists."""
        return [list(ref) for ref in self._refs[mark:]]

    def restore(self, kind: str, ids: Iterable[str], refs: Iterable[list[Any]]) -> None:
        """Take back the kept ids and references of records handled by an earlier page (a resumed run)."""
        self.ids.setdefault(kind, set()).update(ids)
        self._refs.extend(
            (str(k), int(i), str(r), str(f), str(tk), str(t)) for k, i, r, f, tk, t in refs
        )

    def dangling(self) -> list[Issue]:
        """Return a warning for each reference to an id no kept record has."""
        found: list[Issue] = []
        for kind, index, record_id, field, target_kind, target in self._refs:
            if target in self.ids.get(target_kind, ()):
                continue
            code = issues.DANGLING_PARENT if field == "parentId" else _DANGLING_CODES[target_kind]
            message = f"{field} refers to {target_kind[:-1]} {target!r}, which does not exist"
            found.append(Issue(kind, index, record_id or None, code, message))
        return found
