"""The JSON Schema documents of static/schemas and their validators."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from app.core import revisions

_log = logging.getLogger(__name__)

# In the browser the files are fetched into Pyodide's filesystem with the same layout.
SCHEMA_DIR = Path(__file__).resolve().parent.parent.parent / "static" / "schemas"

# Collection kind -> schema document name.
KIND_SCHEMAS = {"templates": "template", "workflows": "workflow", "snippets": "snippet", "folders": "folder"}
NAMES = ("template", "workflow", "snippet", "folder", "backup-envelope")


def schema_path(name: str) -> Path:
    """Return the file of schema ``name`` ("template" or "template.schema.json")."""
    file_name = name if name.endswith(".json") else f"{name}.schema.json"
    return SCHEMA_DIR / file_name


def load_schema(name: str) -> dict[str, Any]:
    """Return schema document ``name`` as a dict."""
    with schema_path(name).open(encoding="utf-8") as handle:
        return json.load(handle)


def schema_validator(name: str) -> Draft202012Validator:
    """Return the cached draft 2020-12 validator of schema ``name``, for the current target version.

    The shipped documents are checked against the draft 2020-12 meta-schema by the
    unit tests, not here: that check costs about 9 ms a document in Pyodide, paid
    on the first migration of every page.
    """
    return _validator(name.removesuffix(".schema.json"), revisions.target())


@functools.cache
def _validator(name: str, target: str) -> Draft202012Validator:
    document = load_schema(name)
    if name in KIND_SCHEMAS.values() and document.get("$id") != _schema_id(name, target):
        # A version registered after the files were written (a test's toy version): the models say it.
        document = generate(name)
    return Draft202012Validator(document)


def _schema_id(name: str, target: str) -> str:
    return f"urn:airprompts:schema:{target}:{name}"


# -- the record documents, generated from the pydantic models ------------------

_TITLES = {"template": "template", "workflow": "workflow", "snippet": "snippet", "folder": "folder"}
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _strip_titles(node: Any) -> Any:
    """Drop pydantic's per-field titles ("Createdat"): noise for a reader of the file."""
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strip_titles(v) for k, v in node.items()}
    for field_schema in (out.get("properties") or {}).values():
        field_schema.pop("title", None)
    return out


def generate(name: str) -> dict[str, Any]:
    """Return record schema ``name`` ("template", ...) as the model of its kind describes it."""
    kind = next(kind for kind, doc in KIND_SCHEMAS.items() if doc == name)
    model = revisions.target_revision().models[kind]
    body = _strip_titles(model.model_json_schema())
    body.pop("title", None)
    description = " ".join((model.__doc__ or "").split())
    return {
        "$schema": _DIALECT,
        "$id": _schema_id(name, revisions.target()),
        "title": f"A {revisions.target()} AirPrompts {_TITLES[name]}",
        **body,
        "description": f"{description} Unknown fields are allowed and kept; nothing is coerced. "
        f"Generated from the models of app/core/revisions by `python -m app.core.schemas`.",
    }


def render(name: str) -> str:
    """Return the file text of generated schema ``name``."""
    return json.dumps(generate(name), indent=2, ensure_ascii=False) + "\n"


def stale() -> list[str]:
    """Return the generated schema files whose text differs from what the models give."""
    names = KIND_SCHEMAS.values()
    return [n for n in names if not schema_path(n).exists() or schema_path(n).read_text(encoding="utf-8") != render(n)]


def main(argv: list[str] | None = None) -> int:
    """Write the record schemas (``--check``: only say which are stale, exit 1 if any)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    names = stale()
    if "--check" in args:
        for name in names:
            print(f"stale: {schema_path(name)}")
        return 1 if names else 0
    for name in names:
        schema_path(name).write_text(render(name), encoding="utf-8")
        print(f"wrote {schema_path(name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
