"""legacy: data under the legacy keys (data.md section 1), snake_case fields, no version recorded.

The legacy -> 1.0.0 step works on keys, not records: app.core.legacy plans which
legacy key moves where. Records keep all their fields, so a legacy record is
recognised only through the store (``fallback``), never by its own shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.revisions.base import Revision

VERSION = "legacy"


def recognise(kind: str, record: Mapping[str, Any], snake: bool, fallback: str | None) -> bool:
    return fallback == VERSION


REVISION = Revision(VERSION, None, recognise, summary="legacy keys, snake_case fields")
