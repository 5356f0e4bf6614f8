"""The three forms of INPUT and OUTPUT: a file read into a Store as the browser would store it, and written back."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import jsonstream, keys
from app.services.backup import EXPORT_FORMAT
from app.storage.memory import MemoryStorage

APP_MEMBER = keys.APP_DB  # "AirPromptsDB"
FORMS = ("localStorage", "export", "backup")


class Unusable(Exception):
    """The input (or an option) cannot be used: the one-line reason."""


@dataclass
class Store:
    """What an input file holds, as the browser would store it."""

    form: str
    local: dict[str, str] = field(default_factory=dict)
    app: dict[str, Any] = field(default_factory=dict)  # AirPromptsDB key -> value
    has_app_member: bool = False
    envelope: str | None = None  # the backup file's text
    pretty: bool = False


def _number(text: str) -> float | int | jsonstream.RawNumber:
    """Parse a JSON fraction as JSON.parse + JSON.stringify keep it (1.0 is 1); a number no double holds stays text."""
    number = float(text)
    if not math.isfinite(number):
        return jsonstream.RawNumber(text)
    if number.is_integer() and abs(number) < 1e21:
        return int(number)
    return number


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_float=_number, parse_constant=_refuse_constant)
_big_decoder = json.JSONDecoder(
    parse_float=_number, parse_int=lambda t: jsonstream.RawNumber(t), parse_constant=_refuse_constant
)


def parse(text: str) -> Any:
    """Return the value of JSON ``text`` as the browser would store it; raise ValueError where JSON.parse throws."""
    try:
        return _decoder.decode(text)
    except json.JSONDecodeError:
        raise
    except RecursionError as exc:
        raise ValueError("nested too deeply to read here") from exc
    except ValueError:
        # An integer of more digits than int() converts: kept as its text, as the migration keeps it.
        return _big_decoder.decode(text)


def js_text(value: Any) -> str:
    """Return ``value`` as ``JSON.stringify`` writes it: the text the app stores for a parsed value."""
    return jsonstream.dumps(value)


def read_input(path: Path) -> Store:
    """Return the store ``path`` holds; raise Unusable with the reason when it holds none."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise Unusable(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unusable(f"{path} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = parse(text)
    except ValueError as exc:
        raise Unusable(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Unusable(f"{path} holds a JSON {type(data).__name__}, not an object of storage keys")
    pretty = "\n" in text.strip()
    if data.get("format") == EXPORT_FORMAT:
        return Store("backup", envelope=text, pretty=pretty)
    app: dict[str, Any] = {}
    has_app_member = APP_MEMBER in data
    if has_app_member:
        member = data.pop(APP_MEMBER)
        if not isinstance(member, dict):
            raise Unusable(f"{path}: the {APP_MEMBER} member must be an object of key to value")
        app = member
    if not data and not app:
        raise Unusable(f"{path} holds no storage keys")
    if all(isinstance(value, str) for value in data.values()):
        return Store("localStorage", local=dict(data), app=app, has_app_member=has_app_member, pretty=pretty)
    return Store(
        "export",
        local={key: js_text(value) for key, value in data.items()},
        app=app,
        has_app_member=has_app_member,
        pretty=pretty,
    )


def app_record(key: str, value: Any) -> str:
    return js_text({"key": key, "value": value, "timestamp": 0})


def dump_file(data: Any, pretty: bool) -> str:
    kwargs: dict[str, Any] = {"indent": 2} if pretty else {"separators": (",", ":")}
    # A number no double holds (a RawNumber) is written as its own digits.
    text = jsonstream.write(data, ensure_ascii=False, allow_nan=False, **kwargs)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone UTF-16 surrogate (JavaScript strings may hold one) has no UTF-8 form: escape everything.
        text = jsonstream.write(data, ensure_ascii=True, allow_nan=False, **kwargs)
    return text + ("\n" if pretty else "")


def output_text(store: Store, storage: MemoryStorage, backup_text: str | None) -> str:
    """Return OUTPUT's text: the migrated store in the input's form."""
    if store.form == "backup":
        assert backup_text is not None
        return backup_text
    app = {key: parse(text)["value"] for key, text in sorted(storage.app.items())}
    if store.form == "localStorage":
        data: dict[str, Any] = dict(storage.local)
    else:
        data = {key: _parsed_or_text(text) for key, text in storage.local.items()}
    if app or store.has_app_member:
        data[APP_MEMBER] = app
    return dump_file(data, store.pretty)


def _parsed_or_text(text: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        return text  # a raw legacy string, kept as the string it is
