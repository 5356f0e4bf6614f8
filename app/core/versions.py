"""Version texts and the shape marks of records; the versions themselves are app.core.revisions' registry.

``TARGET`` and ``VERSIONS`` read the registry each time they are looked up as
attributes of this module (``versions.TARGET``); code that must follow a newly
registered version calls ``app.core.revisions.target()``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.core import keys, revisions

_log = logging.getLogger(__name__)


_NUMERIC_VERSION = re.compile(r"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?")


def _registry() -> Any:
    return revisions


def __getattr__(name: str) -> Any:
    if name == "TARGET":
        return _registry().target()
    if name == "VERSIONS":
        return _registry().versions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def rank(version: str) -> int:
    """Return the position of a registered ``version``, oldest first (KeyError for another)."""
    try:
        return _registry().rank(version)
    except ValueError:
        raise KeyError(version) from None


def parse_version_text(text: str | None) -> str | None:
    """Return the version stored as ``text`` (JSON-quoted or not), normalized to ``X.Y.Z``."""
    if text is None:
        return None
    value: Any = text.strip()
    if not value:
        return None
    try:
        value = json.loads(value)
    except ValueError:
        pass  # readers accept the version unquoted, as in 3.0.0
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = repr(value)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if value.lower() == "legacy":
        return "legacy"
    match = _NUMERIC_VERSION.fullmatch(value)
    if match is None:
        return value  # unknown text: the planner refuses it rather than guess
    # The live app writes airprompts_data_version = "2.0", which means 2.0.0.
    return ".".join(part or "0" for part in match.groups())


def version_tuple(version: str) -> tuple[int, ...] | None:
    """Return ``X.Y.Z`` as a tuple of ints, or None when it is not numeric."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return None


def detect_record_version(kind: str, record: Mapping[str, Any], fallback: str | None = None) -> str:
    """Return the version of one record from its shape (app.core.revisions.detect)."""
    return _registry().detect(kind, record, fallback)


def recorded_version(local: Mapping[str, str | None]) -> str | None:
    """Return the version the store records, airprompts_schema_version first."""
    for key in (keys.SCHEMA_VERSION_KEY, keys.DATA_VERSION_KEY):
        version = parse_version_text(local.get(key))
        if version is not None:
            return version
    return None


def _records(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def detect_store_version(local: Mapping[str, str | None], app_keys: Iterable[str]) -> str:
    """Return the version of the whole store.

    Rule: a recorded version wins (it may be unknown: the planner refuses it).
    With none recorded, legacy keys holding data mean "legacy". Otherwise the
    oldest shape among the localStorage collection records decides; managed data
    that cannot be inspected here (only values, or only AirPromptsDB records)
    counts as 1.0.0, which is safe because every step is idempotent and each
    record is upgraded from its own shape. A store without any app data is at
    the target already.
    """
    recorded = recorded_version(local)
    if recorded is not None:
        return recorded
    if any(keys.legacy_target(key) is not None and value is not None for key, value in local.items()):
        return "legacy"
    oldest: str | None = None
    for kind in keys.COLLECTIONS:
        text = local.get(keys.collection_key(kind))
        if text is None:
            continue
        for record in _records(text):
            if isinstance(record, dict):
                version = detect_record_version(kind, record, fallback="1.0.0")
                if oldest is None or rank(version) < rank(oldest):
                    oldest = version
    if oldest is not None:
        return oldest
    managed_local = any(key in keys.MANAGED_KEYS and value is not None for key, value in local.items())
    managed_app = any(name in keys.APP_DB_NAMES for name in app_keys)
    if managed_local or managed_app:
        return "1.0.0"
    return _registry().target()


def version_text(version: str | None = None) -> str:
    """Return the JSON text the app stores under airprompts_schema_version (the target's), quotes included."""
    return json.dumps(_registry().target() if version is None else version)
