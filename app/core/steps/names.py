"""Field names: the camelCase spelling of a snake_case name, and an object with its fields renamed.

data.md section 3, 1.0.0 -> 2.0.0: where both spellings exist and differ, the
camelCase value wins and the snake_case one is kept under legacyFields.
"""

from __future__ import annotations

from typing import Any

from app.core.fields import CACHE_LIMIT, RENAMES, UNSEEN, is_snake
from app.core.steps.base import keep_legacy, same_value

_SPECIAL_NAMES = {"is_favorite": "favorite"}


def camel_name(name: str) -> str:
    """Return the camelCase spelling of snake_case ``name`` (``is_favorite`` is ``favorite``)."""
    camel = _SPECIAL_NAMES.get(name)
    if camel is None:
        head, *rest = name.split("_")
        camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
    return camel


def _rename_of(name: str) -> str | None:
    """Return the camelCase name of snake_case ``name``, None for any other name; remembered."""
    camel = camel_name(name) if is_snake(name) else None
    if len(RENAMES) < CACHE_LIMIT:
        RENAMES[name] = camel
    return camel


# Field names of a record, in order -> the names after renaming, or None when a snake_case
# field meets its camelCase twin (the slow path then decides field by field). Records of a
# collection share a few shapes, so renaming is one dict lookup and one C-level dict(zip()).
_PLANS: dict[tuple[str, ...], tuple[str, ...] | None] = {}
PLAN_LIMIT = 1024  # shapes, bounded: the data is untrusted


_FOLDER_PLANS: dict[tuple[str, ...], tuple[str, ...] | None] = {}


def _rename_plan(names: tuple[str, ...], keep: frozenset[str]) -> tuple[str, ...] | None:
    taken = set(names)
    out: list[str] = []
    for name in names:
        if name in keep:
            out.append(name)
            continue
        camel = RENAMES.get(name, UNSEEN)
        if camel is UNSEEN:
            camel = _rename_of(name)
        if camel is None:
            out.append(name)
            continue
        if camel in taken:
            return None
        taken.add(camel)
        out.append(camel)
    return tuple(out)


def renamed(obj: dict[str, Any], keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Return a copy of ``obj`` with snake_case fields camelCased; camelCase wins on conflict.

    Names in ``keep`` stay as they are (the folder fields the live app reads in snake_case).
    """
    names = tuple(obj)
    plans = _FOLDER_PLANS if keep else _PLANS
    plan = plans.get(names, UNSEEN)
    if plan is UNSEEN:
        plan = _rename_plan(names, keep)
        if len(plans) < PLAN_LIMIT:
            plans[names] = plan
    if plan is not None:
        return dict(zip(plan, obj.values(), strict=True))
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    renames = RENAMES
    for name, value in obj.items():
        if name in keep:
            out[name] = value
            continue
        camel = renames.get(name, UNSEEN)
        if camel is UNSEEN:
            camel = _rename_of(name)
        if camel is None:
            out[name] = value
            continue
        if camel in obj or camel in out:
            other = obj[camel] if camel in obj else out[camel]
            if not same_value(other, value):
                extra[name] = value
            continue
        out[camel] = value
    keep_legacy(out, extra)
    return out


def has_snake_field(obj: dict[str, Any]) -> bool:
    """Return whether ``obj`` has a field the 1.0.0 -> 2.0.0 rename changes."""
    for name in obj:  # a plain loop: this runs for every workflow step, twice
        if "_" in name and is_snake(name):
            return True
    return False
