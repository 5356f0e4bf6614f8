"""Incremental JSON arrays: parse and write a large array batch by batch.

``json.loads`` of a 2 MB value is one ~100 ms main-thread task in Pyodide;
parsing element by element with ``raw_decode`` lets the caller yield between
batches. The writer mirrors it: one compact piece per record, joined once.

Output matches JavaScript's ``JSON.stringify`` (compact, non-ASCII kept) for
strings, integers and objects. Known differences, all of which parse back to
equal values: Python writes floats as ``1e+16``/``1.0``/``-0.0`` where
JavaScript writes ``10000000000000000``/``1``/``0``; NaN and Infinity cannot
come from valid JSON input (``json.loads`` accepts them as Python does, and
JavaScript would write ``null``). Lone surrogates, which JavaScript strings may
hold, are written as ``\\udXXX`` escapes as ``JSON.stringify`` does, so the text
survives the conversion to a JavaScript string.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from array import array
from collections.abc import Iterator
from itertools import accumulate
from typing import Any, Protocol

import msgspec

from app.core.errors import InvalidInput

_log = logging.getLogger(__name__)

# JSON whitespace only (RFC 8259), exactly what json.loads skips.
_WS = re.compile(r"[ \t\n\r]*")
_SURROGATE = re.compile("[\ud800-\udfff]")


class RawNumber:
    """A JSON number no double can hold (``1e400``, a 5 000-digit integer), kept as its original text.

    ``json.loads`` reads ``1e400`` as ``inf``, which ``json.dumps`` writes as
    ``Infinity``: text that the browser's ``JSON.parse`` refuses, so the app would
    replace the whole collection with an empty default. Kept as text, the number is
    written back exactly as the user's data held it.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("RawNumber", self.text))

    def __repr__(self) -> str:
        return f"RawNumber({self.text!r})"


def _parse_float(text: str) -> float | RawNumber:
    value = float(text)
    if value - value != 0.0:  # inf or nan: JSON text has no way to say them
        return RawNumber(text)
    return value


def _parse_int(text: str) -> int | RawNumber:
    try:
        return int(text)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        return RawNumber(text)


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: the browser's JSON.parse refuses them too.
    raise ValueError(f"{name} is not JSON")


# Floats are rare in the app's data, so their hook costs little; integers keep the C
# path (the integer hook runs only when a value overflows int(), see loads()).
_decoder = json.JSONDecoder(parse_float=_parse_float, parse_constant=_refuse_constant)
_big_decoder = json.JSONDecoder(parse_float=_parse_float, parse_int=_parse_int, parse_constant=_refuse_constant)


def _decode(decode: Any, text: str, *args: Any) -> Any:
    """Run ``decode`` of the fast decoder, then of the one for huge integers; every failure is a JSONDecodeError."""
    try:
        try:
            return getattr(_decoder, decode)(text, *args)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer of more digits than int() converts, or NaN/Infinity
            return getattr(_big_decoder, decode)(text, *args)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), text, args[0] if args else 0) from exc
    except RecursionError as exc:
        # JSON.parse reads deeper nesting than Python's parser can: report it, never guess.
        raise json.JSONDecodeError("nested too deeply to read here", text, args[0] if args else 0) from exc


# Deeper nesting than this is refused before Python parses it. Python's parser recurses:
# under CPython it raises RecursionError near 1 000 levels, but inside Pyodide objects
# nested about 3 000 deep overflow the browser's own stack first, a fatal error that
# stops the interpreter and leaves the page without an answer. One limit below both
# makes the two runtimes agree. static/js/storage.js (countArray) holds the same number.
MAX_DEPTH = 500
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes


def nesting_depth(text: str) -> int:
    """Return how deep the arrays and objects of JSON ``text`` nest (brackets inside strings aside)."""
    data = text.encode("utf-8", "surrogatepass")
    if b"\\" in data:
        # Escaped backslashes first, then escaped quotes: what is left of '"' delimits strings.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(data.split(b'"')[::2]).translate(None, _NOT_BRACKET)
    if not brackets:
        return 0
    return max(0, max(accumulate(array("b", brackets.translate(_STEP)))))


def _too_deep(text: str) -> bool:
    # Counting brackets is a fast C scan; only texts with enough of them are measured.
    return text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text) > MAX_DEPTH


def loads(text: str, *, nesting_checked: bool = False) -> Any:
    """Return the value of JSON ``text`` as the browser reads it, with out-of-range numbers kept as RawNumber.

    Raises json.JSONDecodeError (a ValueError) where ``JSON.parse`` would throw,
    NaN and Infinity included, and for nesting deeper than MAX_DEPTH. ``nesting_checked``:
    a count of the same text (an ArrayCounter's answer) already proved it nests no deeper.
    """
    if not nesting_checked and _too_deep(text):
        raise json.JSONDecodeError(f"nested too deeply (deeper than {MAX_DEPTH} levels)", text, 0)
    return _decode("decode", text)


def _raw_decode(text: str, index: int) -> tuple[Any, int]:
    return _decode("raw_decode", text, index)


class MalformedJSON(InvalidInput):
    """Text that should hold a JSON array does not."""

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(f"{message} at character {position}", position=position)
        self.position = position


def iter_array_batches(
    text: str,
    batch_size: int,
    *,
    start: int = 0,
    ends: list[int] | None = None,
    at: int = 0,
    closed: list[int] | None = None,
) -> Iterator[list[Any]]:
    """Yield the elements of the JSON array ``text`` in lists of at most ``batch_size``.

    The elements equal those of ``json.loads(text)``; malformed text raises
    MalformedJSON, possibly after earlier batches were yielded. ``ends``, when
    given, gets the character position just after each yielded batch; passing
    one of those as ``start`` goes on from there without parsing what lies before.

    An array inside a larger text (an AirPromptsDB record's ``value``): ``at`` is
    where it begins, and ``closed``, when given, gets the position just after its
    ``]``, where the rest of the text goes on (nothing is required to end there).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    decode = _raw_decode
    skip = _WS.match
    end = len(text)
    batch: list[Any] = []
    if start:
        # Just after an element: a ',' and the next one, or the closing ']'.
        index = skip(text, start).end()
        if index < end and text[index] == "]":
            index += 1
            elements = False
        elif index < end and text[index] == ",":
            index = skip(text, index + 1).end()
            elements = True
        else:
            raise MalformedJSON("expected ',' or ']'", position=index)
    else:
        index = skip(text, at).end()
        if index >= end or text[index] != "[":
            raise MalformedJSON("expected a JSON array", position=index)
        index = skip(text, index + 1).end()
        elements = not (index < end and text[index] == "]")
        if not elements:
            index += 1
    if elements:
        while True:
            try:
                value, index = decode(text, index)
            except json.JSONDecodeError as exc:
                raise MalformedJSON(f"invalid array element: {exc.msg}", position=exc.pos) from exc
            batch.append(value)
            if len(batch) >= batch_size:
                if ends is not None:
                    ends.append(index)
                yield batch
                batch = []
            index = skip(text, index).end()
            if index >= end:
                raise MalformedJSON("unterminated array", position=index)
            char = text[index]
            if char == "]":
                closing = index
                index += 1
                break
            if char != ",":
                raise MalformedJSON("expected ',' or ']'", position=index)
            index = skip(text, index + 1).end()
    if closed is not None:
        closed.append(index)
    elif skip(text, index).end() != end:
        raise MalformedJSON("extra data after the array", position=index)
    if batch:
        if ends is not None:
            ends.append(closing)
        yield batch


def member_at(text: str, member: str) -> tuple[dict[str, Any], int]:
    """Return the members of the JSON object ``text`` before ``member``, and where its value begins.

    The object's other members stay unread from there on (``members_after`` reads
    them): a 10 MB AirPromptsDB record gives its array to ``iter_array_batches``
    (``at``) without being parsed whole. Raises MalformedJSON when ``text`` is not a
    JSON object, or has no ``member``.
    """
    skip = _WS.match
    index = skip(text, 0).end()
    if not text.startswith("{", index):
        raise MalformedJSON("expected a JSON object", position=index)
    before: dict[str, Any] = {}
    index = skip(text, index + 1).end()
    while not text.startswith("}", index):
        name, index = _member_name(text, index)
        if name == member:
            return before, index
        before[name], index = _member_value(text, index)
        index = skip(text, index).end()
        if text.startswith(",", index):
            index = skip(text, index + 1).end()
        elif not text.startswith("}", index):
            raise MalformedJSON("expected ',' or '}'", position=index)
    raise MalformedJSON(f"expected a JSON object with a {member!r} member", position=index)


def members_after(text: str, index: int, member: str) -> dict[str, Any]:
    """Return the members of the JSON object ``text`` after the value that ends at ``index`` (``member``'s).

    Checks that the object closes and the text ends there; a second ``member``
    (which ``json.loads`` would take instead of the first) raises MalformedJSON, as
    anything malformed does.
    """
    skip = _WS.match
    after: dict[str, Any] = {}
    index = skip(text, index).end()
    while text.startswith(",", index):
        name, index = _member_name(text, skip(text, index + 1).end())
        if name == member:
            raise MalformedJSON(f"a second {member!r} member", position=index)
        after[name], index = _member_value(text, index)
        index = skip(text, index).end()
    if not text.startswith("}", index):
        raise MalformedJSON("expected ',' or '}'", position=index)
    if skip(text, index + 1).end() != len(text):
        raise MalformedJSON("extra data after the object", position=index + 1)
    return after


def _member_name(text: str, index: int) -> tuple[str, int]:
    """Return a member's name at ``index`` and where its value begins (after the ':')."""
    if not text.startswith('"', index):
        raise MalformedJSON("expected a member name", position=index)
    name, index = _member_value(text, index)
    index = _WS.match(text, index).end()
    if not text.startswith(":", index):
        raise MalformedJSON("expected ':'", position=index)
    return name, _WS.match(text, index + 1).end()


def _member_value(text: str, index: int) -> tuple[Any, int]:
    """Return the JSON value at ``index`` of an object's text and where it ends; MalformedJSON where it is not one."""
    try:
        return _raw_decode(text, index)
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"invalid JSON: {exc.msg}", position=exc.pos) from exc


class ArrayCounter(Protocol):
    """``count_array`` or its stand-in: the browser's, which JSON.parse answers (app/storage/browser.py)."""

    def __call__(self, text: str, member: str | None = None) -> int: ...


def count_array(text: str, member: str | None = None) -> int:
    """Return how many elements the JSON array ``text`` holds; raise MalformedJSON when it is not one.

    With ``member``, ``text`` is a JSON object (an AirPromptsDB record) and the array is
    its ``member``. A run counts each collection before it parses it: nesting deeper than
    MAX_DEPTH stops it here, so what counts parses without measuring it again
    (iter_array_batches, ``loads(text, nesting_checked=True)``).
    """
    if _too_deep(text):
        raise MalformedJSON(f"nested too deeply (deeper than {MAX_DEPTH} levels)", position=0)
    if member is None:
        return sum(len(batch) for batch in iter_array_batches(text, 1000))
    try:
        value = loads(text, nesting_checked=True)
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"invalid JSON: {exc.msg}", position=exc.pos) from exc
    items = value.get(member) if isinstance(value, dict) else None
    if not isinstance(items, list):
        raise MalformedJSON(f"expected a JSON object whose {member!r} is an array", position=0)
    return len(items)


# A RawNumber is written as a quoted marker, then the quotes and marker go. The marker
# holds a random token, so no string of the user's can look like it.
_RAW_MARK = f"rawnumber-{secrets.token_hex(8)}:"
_RAW_QUOTED = re.compile('"' + re.escape(_RAW_MARK) + '([^"]*)"')


_raw_written = [0]  # RawNumbers written so far: dumps() looks for markers only after one


def _raw_default(value: Any) -> str:
    if isinstance(value, RawNumber):
        _raw_written[0] += 1
        return _RAW_MARK + value.text
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """Return ``value`` as compact JSON text as JSON.stringify writes it, RawNumber as its own text.

    Never writes NaN or Infinity (a float ``inf`` raises ValueError): every text
    this returns parses with the browser's ``JSON.parse``.
    """
    text = _compact(value, sort_keys)
    if text.isascii() or not _has_surrogate(text):
        return text
    return _escape_surrogates(text)


def _raw_hook(value: Any) -> Any:
    if isinstance(value, RawNumber):
        return msgspec.Raw(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON")


# msgspec's encoder writes UTF-8 directly, four to five times faster than json.dumps and
# its encode() inside Pyodide (5 500 multilingual templates: 18 against 84 ms).
_utf8_encoder = msgspec.json.Encoder(enc_hook=_raw_hook)


def dumps_utf8(value: Any) -> bytes:
    """Return the UTF-8 bytes of ``value`` as compact JSON text: a staged batch, a backup chunk's entry.

    For the records a transform made of parsed JSON: the text is ``dumps(value)``'s,
    strings, integers, RawNumber and key order alike, except that a float's exponent
    is written without padding or plus sign (``1e-7``, ``1e22``; ``dumps``: ``1e-07``,
    ``1e+22``: the same numbers), and a NaN or infinity as ``null``, as JSON.stringify
    writes them, where ``dumps`` raises.
    Neither can reach here: ``loads`` reads out-of-range numbers as RawNumber and no
    step computes a float. A string with a lone surrogate (which UTF-8 cannot hold) is
    written by ``dumps``, which escapes it.
    """
    try:
        return _utf8_encoder.encode(value)
    except UnicodeEncodeError:
        return dumps(value).encode("utf-8")


def _compact(value: Any, sort_keys: bool) -> str:
    written = _raw_written[0]
    text = json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_raw_default, sort_keys=sort_keys
    )
    if _raw_written[0] != written:
        text = _RAW_QUOTED.sub(r"\1", text)
    return text


def _escape_surrogates(text: str) -> str:
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def write(value: Any, **options: Any) -> str:
    """Return ``json.dumps(value, **options)`` with each RawNumber written as its own text (for files, not storage)."""
    written = _raw_written[0]
    text = json.dumps(value, default=_raw_default, **options)
    return _RAW_QUOTED.sub(r"\1", text) if _raw_written[0] != written else text


def _has_surrogate(text: str) -> bool:
    """Return whether ``text`` holds a lone UTF-16 surrogate (the UTF-8 encoder refuses only those)."""
    # About 10x faster than searching with the regex in Pyodide: isascii() is a flag
    # lookup and the encoder runs at memory speed; the regex scans char by char.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class ArrayWriter:
    """Build the text of a JSON array one batch at a time; join the pieces once."""

    def __init__(self) -> None:
        self._pieces: list[str] = []

    def __len__(self) -> int:
        return len(self._pieces)

    def add(self, record: Any) -> None:
        """Append one element."""
        self._pieces.append(dumps(record))

    def extend(self, records: list[Any]) -> None:
        """Append the elements of one batch."""
        pieces = self._pieces
        for record in records:
            pieces.append(dumps(record))

    def finish(self) -> str:
        """Return the whole array as compact JSON text."""
        return "[" + ",".join(self._pieces) + "]"
