"""The JSON Schema documents of static/schemas and their validators."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

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


@functools.cache
def schema_validator(name: str) -> Draft202012Validator:
    """Return the cached draft 2020-12 validator of schema ``name``.

    The shipped documents are checked against the draft 2020-12 meta-schema by the
    unit tests, not here: that check costs about 9 ms a document in Pyodide, paid
    on the first migration of every page.
    """
    return Draft202012Validator(load_schema(name))
