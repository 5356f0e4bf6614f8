"""The checks of the ``window.airprompts`` API's arguments, by name, before a service runs.

A wrong argument is ``InvalidInput`` naming it and what was expected
(``details.argument``, ``details.expected``); unknown option fields are refused.
``app.api`` declares each method's arguments with these.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable

from app.core.errors import InvalidInput

Handler = Callable[..., Any]


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _shown(value: Any) -> str:
    """Return ``value`` as JavaScript would print it, shortened: never a Python repr."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        text = _js_type(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{_js_type(value)} {text}" if isinstance(value, (list, dict)) else text


class _Bad(Exception):
    """One argument is wrong: what was expected of it (of its ``member``, for an options object)."""

    def __init__(self, expected: str, *, member: str | None = None, got: Any = None, unknown: list[str] | None = None) -> None:
        super().__init__(expected)
        self.expected = expected
        self.member = member
        self.got = got
        self.unknown = unknown


Check = Callable[[Any], Any]


def _simple(expected: str, ok: Callable[[Any], bool], convert: Callable[[Any], Any] | None = None) -> Check:
    """Return a check that accepts a value when ``ok`` says so (``convert``-ed), else says what was ``expected``."""

    def check(value: Any) -> Any:
        if not ok(value):
            raise _Bad(expected)
        return value if convert is None else convert(value)

    check.expected = expected  # type: ignore[attr-defined]
    return check


def text() -> Check:
    return _simple("a non-empty string", lambda value: isinstance(value, str) and bool(value))


def string() -> Check:
    return _simple("a string", lambda value: isinstance(value, str))


def boolean() -> Check:
    return _simple("true or false", lambda value: isinstance(value, bool))


def number(low: float, high: float | None = None, *, whole: bool = False, low_open: bool = False) -> Check:
    kind = "a whole number" if whole else "a number"
    bound = f"{'above' if low_open else 'from'} {low:g}" + (f" to {high:g}" if high is not None else "")
    if high is None and not low_open:
        bound = f">= {low:g}"
    expected = f"{kind} {bound}"

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _Bad(expected)
        if whole and value != int(value):
            raise _Bad(expected)
        if value < low or (low_open and value == low) or (high is not None and value > high):
            raise _Bad(expected)
        return int(value) if whole else value

    check.expected = expected  # type: ignore[attr-defined]
    return check


def one_of(*choices: str, fold: bool = True) -> Check:
    expected = "one of " + ", ".join(repr(c).replace("'", '"') for c in choices)

    def check(value: Any) -> str:
        if not isinstance(value, str) or (value.strip().upper() if fold else value) not in {
            c.upper() if fold else c for c in choices
        }:
            raise _Bad(expected)
        return value

    check.expected = expected  # type: ignore[attr-defined]
    return check


def anything() -> Check:
    return _simple("any JSON value", lambda value: True)


def array_of_text() -> Check:
    return _simple("an array of key names (strings)", _key_names, list)


def _key_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


def time_bound() -> Check:
    return _simple("epoch milliseconds or an ISO 8601 string", _time_bound)


def _time_bound(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, str))


@dataclass(frozen=True)
class Field:
    """One member of an options object: its JavaScript name, its Python keyword, its check."""

    name: str
    keyword: str
    check: Check


def options(*fields: Field) -> Check:
    """Check an options object (null or omitted: none): known members only, each checked."""
    known = {f.name: f for f in fields}
    names = ", ".join(known) or "none"
    expected = f"an object with the members {names}"

    def check(value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _Bad(expected)
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise _Bad(expected, unknown=unknown)
        out = {}
        for name, item in value.items():
            if item is None:
                continue
            try:
                out[known[name].keyword] = known[name].check(item)
            except _Bad as bad:
                raise _Bad(bad.expected, member=name, got=item) from None
        return out

    check.expected = expected  # type: ignore[attr-defined]
    check.fields = known  # type: ignore[attr-defined]
    return check


@dataclass(frozen=True)
class Param:
    """One positional argument: its JavaScript name, the service keyword it becomes, its check."""

    name: str
    keyword: str
    check: Check
    required: bool = True


def arg(name: str, keyword: str, check: Check, *, required: bool = True) -> Param:
    return Param(name, keyword, check, required)


@dataclass(frozen=True)
class Method:
    """A method of ``window.airprompts``: its arguments and the service call they feed."""

    params: tuple[Param, ...]
    run: Handler

    def bind(self, where: str, args: list[Any]) -> dict[str, Any]:
        """Return the service keywords for ``args``; raise InvalidInput naming the first wrong argument."""
        names = ", ".join(p.name if p.required else p.name + "?" for p in self.params)
        if len(args) > len(self.params):
            raise InvalidInput(
                f"{where}({names}) takes at most {len(self.params)} argument(s), got {len(args)}",
                argument=None,
                expected=f"at most {len(self.params)} argument(s)",
                got=len(args),
            )
        kwargs: dict[str, Any] = {}
        for index, param in enumerate(self.params):
            present = index < len(args) and args[index] is not None
            if not present:
                if param.required:
                    expected = getattr(param.check, "expected", "a value")
                    raise InvalidInput(
                        f"{where}({names}): {param.name} is required ({expected})",
                        argument=param.name,
                        expected=expected,
                    )
                continue
            value = args[index]
            try:
                kwargs[param.keyword] = param.check(value)
            except _Bad as bad:
                if bad.unknown:
                    known = ", ".join(getattr(param.check, "fields", {})) or "none"
                    raise InvalidInput(
                        f"{where}({names}): {param.name} has unknown member(s) {', '.join(bad.unknown)}; "
                        f"the known ones are {known}",
                        argument=param.name,
                        expected=bad.expected,
                        unknown=bad.unknown,
                    ) from None
                if bad.member is not None:
                    raise InvalidInput(
                        f"{where}({names}): {param.name}.{bad.member} must be {bad.expected}, got {_shown(bad.got)}",
                        argument=f"{param.name}.{bad.member}",
                        expected=bad.expected,
                    ) from None
                raise InvalidInput(
                    f"{where}({names}): {param.name} must be {bad.expected}, got {_shown(value)}",
                    argument=param.name,
                    expected=bad.expected,
                ) from None
        return kwargs


def options_any() -> Check:
    """Check a free-form object (a log entry's context): any members."""
    return _simple("an object", lambda value: isinstance(value, dict))
