"""Field names: which are snake_case, and which records carry one (the 1.0.0 shape's sign).

A leaf of app/core: the steps, the revisions and version detection all use it, and it
imports none of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


_snake_cache: dict[str, bool] = {}
# Field name -> its camelCase name when it is snake_case, else None (filled by app.core.steps.names).
RENAMES: dict[str, str | None] = {}
UNSEEN: Any = object()
CACHE_LIMIT = 4096  # field names are few, but the data is untrusted


def is_snake(name: str) -> bool:
    """Return whether ``name`` is a snake_case field name the 1.0.0 -> 2.0.0 step renames."""
    if "_" not in name:
        return False
    # Field names repeat across records: remember the answer (bounded).
    known = _snake_cache.get(name)
    if known is None:
        known = _SNAKE.fullmatch(name) is not None
        if len(_snake_cache) < CACHE_LIMIT:
            _snake_cache[name] = known
    return known


# Folder fields the live app itself writes in snake_case: no sign of 1.0.0 (data.md section 3).
_FOLDER_SNAKE = frozenset({"parent_id", "sort_order"})


def has_snake(record: Mapping[str, Any], kind: str) -> bool:
    """Return whether ``record`` has a snake_case field (a folder's parent_id and sort_order aside)."""
    renames = RENAMES
    for name in record:
        if kind == "folders" and name in _FOLDER_SNAKE:
            continue
        # One dict lookup for a name seen before; is_snake only for a new one.
        camel = renames.get(name, UNSEEN)
        if camel is UNSEEN:
            if is_snake(name):
                return True
        elif camel is not None:
            return True
    if kind == "workflows":
        steps = record.get("steps")
        if isinstance(steps, list):
            for step in steps:
                if isinstance(step, dict) and any(is_snake(name) for name in step):
                    return True
    return False
